/* Staging ring for uploads: see staging_ring.h for the scheme. */
#include <stdlib.h>
#include <string.h>

#include "vulkan/staging_ring.h"

#define VKQ_RING_DEFAULT_SLOTS      4u
#define VKQ_RING_DEFAULT_SLOT_BYTES (4ull << 20)
/* Chunks start at this alignment inside a slot: copies from aligned sources are the fast path
 * of DMA engines, and it costs at most 15 bytes per chunk. */
#define VKQ_RING_ALIGN 16u

static vkq_status vk_fail(VkResult r, const char *what)
{
    return vkq_fail(vkq_status_from_vk(r), "staging ring: %s failed (%d)", what, (int)r);
}

vkq_status vkq_ring_create(vkq_device dev, vkq_ring_mode mode, VkQueue queue, uint32_t family, uint32_t slots,
                           uint64_t slot_bytes)
{
    if (!slots) slots = VKQ_RING_DEFAULT_SLOTS;
    if (!slot_bytes) slot_bytes = VKQ_RING_DEFAULT_SLOT_BYTES;
    /* Two slots are the least that overlaps anything; the cap keeps a typo from pinning GiBs. */
    if (slots < 2 || slots > 64 || slot_bytes < VKQ_RING_ALIGN || slot_bytes > (1ull << 30) ||
        slots * slot_bytes > (1ull << 31))
        return vkq_fail(
            VKQ_ERROR_INVALID_ARGUMENT,
            "staging ring of %u slots x %llu bytes: need 2..64 slots of 16 B..1 GiB, 2 GiB in all", slots,
            (unsigned long long)slot_bytes);
    struct vkq_ring *ring = calloc(1, sizeof *ring);
    vkq_ring_slot *sl = calloc(slots, sizeof *sl);
    if (!ring || !sl) {
        free(ring);
        free(sl);
        return vkq_fail_status(VKQ_ERROR_OUT_OF_HOST_MEMORY);
    }
    ring->mode = mode;
    ring->queue = queue;
    ring->family = family;
    ring->n_slots = slots;
    ring->slot_bytes = slot_bytes;
    ring->slots = sl;
    ring->open = UINT32_MAX;
    dev->ring = ring;
    return VKQ_SUCCESS;
}

/* The ring's Vulkan objects, made at its first use: where every buffer is mapped (UMA, CPU
 * drivers) uploads are a memcpy and the ring would only hold on to memory. After a failure what
 * was made stays for vkq_ring_destroy, and the next use tries again. */
static vkq_status ensure_storage(vkq_device dev)
{
    struct vkq_ring *ring = dev->ring;
    if (ring->ready) return VKQ_SUCCESS;
    VkResult r;
    if (!ring->storage.buffer) {
        VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                                  .size = ring->n_slots * ring->slot_bytes,
                                  .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                                  .sharingMode =
                                      VK_SHARING_MODE_EXCLUSIVE}; /* only the ring's queue uses it */
        vkq_status st = vkq_host_buffer_create(dev, &bci, VKQ_MEM_UPLOAD, 1, "staging ring", &ring->storage);
        if (st != VKQ_SUCCESS) return st;
    }
    if (!ring->pool) {
        VkCommandPoolCreateInfo cpi = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                       .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                       .queueFamilyIndex = ring->family};
        r = dev->vk.vkCreateCommandPool(dev->device, &cpi, NULL, &ring->pool);
        if (r != VK_SUCCESS) return vk_fail(r, "vkCreateCommandPool");
    }
    for (uint32_t i = 0; i < ring->n_slots; ++i) {
        vkq_ring_slot *sl = &ring->slots[i];
        if (!sl->cmd) {
            VkCommandBufferAllocateInfo cai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                               .commandPool = ring->pool,
                                               .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                               .commandBufferCount = 1};
            r = dev->vk.vkAllocateCommandBuffers(dev->device, &cai, &sl->cmd);
            if (r != VK_SUCCESS) return vk_fail(r, "vkAllocateCommandBuffers");
        }
        if (!sl->fence) {
            VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
            r = dev->vk.vkCreateFence(dev->device, &fci, NULL, &sl->fence);
            if (r != VK_SUCCESS) return vk_fail(r, "vkCreateFence");
        }
    }
    ring->ready = 1;
    return VKQ_SUCCESS;
}

/* Waits for a submitted slot and makes it idle. A failed wait (device lost) still idles it:
 * nothing can be done with its copies any more, and the caller gets the status. */
static vkq_status retire(vkq_device dev, vkq_ring_slot *s)
{
    VkResult r = VK_SUCCESS;
    if (s->submitted) {
        r = dev->vk.vkWaitForFences(dev->device, 1, &s->fence, VK_TRUE, UINT64_MAX);
        if (r == VK_SUCCESS) r = dev->vk.vkResetFences(dev->device, 1, &s->fence);
    }
    s->seq = 0;
    s->used = 0;
    s->submitted = 0;
    s->n_written = 0;
    return r == VK_SUCCESS ? VKQ_SUCCESS : vk_fail(r, "waiting for a slot");
}

void vkq_ring_destroy(vkq_device dev)
{
    struct vkq_ring *ring = dev->ring;
    if (!ring) return;
    vkq_ring_flush(dev);
    for (uint32_t i = 0; i < ring->n_slots; ++i) {
        retire(dev, &ring->slots[i]);
        if (ring->slots[i].fence) dev->vk.vkDestroyFence(dev->device, ring->slots[i].fence, NULL);
    }
    if (ring->pool) dev->vk.vkDestroyCommandPool(dev->device, ring->pool, NULL);
    vkq_host_buffer_destroy(dev, &ring->storage);
    free(ring->slots);
    free(ring);
    dev->ring = NULL;
}

vkq_status vkq_ring_flush(vkq_device dev)
{
    struct vkq_ring *ring = dev->ring;
    if (ring->open == UINT32_MAX) return VKQ_SUCCESS;
    vkq_ring_slot *s = &ring->slots[ring->open];
    ring->open = UINT32_MAX;
    /* Orders this slot's copies before whatever later submissions on this queue do with the
     * buffers: the next slots' copies (a second upload over the same bytes) and, on the compute
     * queue, the kernels. Towards another queue a barrier cannot help: the host waits instead. */
    const int to_compute = ring->mode == VKQ_RING_SAME_QUEUE;
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                          .dstAccessMask = to_compute
                                               ? VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT
                                               : VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT};
    dev->vk.vkCmdPipelineBarrier(s->cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
                                 to_compute ? VK_PIPELINE_STAGE_ALL_COMMANDS_BIT
                                            : VK_PIPELINE_STAGE_TRANSFER_BIT,
                                 0, 1, &mb, 0, NULL, 0, NULL);
    VkResult r = dev->vk.vkEndCommandBuffer(s->cmd);
    if (r == VK_SUCCESS) {
        VkSubmitInfo si = {
            .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &s->cmd};
        r = dev->vk.vkQueueSubmit(ring->queue, 1, &si, s->fence);
    }
    if (r != VK_SUCCESS) {
        /* The copies are lost; the uploader gets the error. The slot is free again. */
        retire(dev, s);
        return vk_fail(r, "submitting a slot");
    }
    s->submitted = 1;
    ring->submits++;
    return VKQ_SUCCESS;
}

/* The open slot, opening the next one (after waiting for it if still in flight) if none is. */
static vkq_status open_slot(vkq_device dev, vkq_ring_slot **out)
{
    struct vkq_ring *ring = dev->ring;
    if (ring->open != UINT32_MAX) {
        *out = &ring->slots[ring->open];
        return VKQ_SUCCESS;
    }
    vkq_status st = ensure_storage(dev);
    if (st != VKQ_SUCCESS) return st;
    vkq_ring_slot *s = &ring->slots[ring->next];
    if (s->seq) {
        ring->reuse_waits++;
        st = retire(dev, s);
        if (st != VKQ_SUCCESS) return st;
    }
    VkResult r = dev->vk.vkResetCommandBuffer(s->cmd, 0);
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    if (r == VK_SUCCESS) r = dev->vk.vkBeginCommandBuffer(s->cmd, &bi);
    if (r != VK_SUCCESS) return vk_fail(r, "beginning a slot's command buffer");
    s->seq = ++ring->last_seq;
    s->used = 0;
    s->n_written = 0;
    ring->open = ring->next;
    ring->next = (ring->next + 1) % ring->n_slots;
    *out = s;
    return VKQ_SUCCESS;
}

/* Orders a copy to [begin, end) of `buffer` after the slot's earlier copies that overlap it. */
static void order_write(vkq_device dev, vkq_ring_slot *s, VkBuffer buffer, uint64_t begin, uint64_t end)
{
    int overlap = s->n_written == VKQ_RING_TRACKED;
    for (uint32_t i = 0; i < s->n_written && !overlap; ++i)
        overlap = s->written[i].buffer == buffer && begin < s->written[i].end && s->written[i].begin < end;
    if (overlap) {
        VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                              .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                              .dstAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT};
        dev->vk.vkCmdPipelineBarrier(s->cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
                                     0, 1, &mb, 0, NULL, 0, NULL);
        s->n_written = 0;
    }
    s->written[s->n_written++] = (vkq_ring_range){buffer, begin, end};
}

vkq_status vkq_ring_upload(vkq_device dev, VkBuffer dst, uint64_t offset, const uint8_t *src, uint64_t len,
                           uint64_t *ticket)
{
    struct vkq_ring *ring = dev->ring;
    while (len > 0) {
        vkq_ring_slot *s = NULL;
        vkq_status st = open_slot(dev, &s);
        if (st != VKQ_SUCCESS) return st;
        uint64_t start = (s->used + VKQ_RING_ALIGN - 1) & ~(uint64_t)(VKQ_RING_ALIGN - 1);
        if (start >= ring->slot_bytes) {
            if ((st = vkq_ring_flush(dev)) != VKQ_SUCCESS) return st;
            continue;
        }
        uint64_t c = ring->slot_bytes - start < len ? ring->slot_bytes - start : len;
        const uint64_t base = (uint64_t)(s - ring->slots) * ring->slot_bytes + start;
        memcpy((uint8_t *)ring->storage.map + base, src, (size_t)c);
        /* vkCmdCopyBuffer has no alignment rules for buffers, so odd offsets/sizes copy as they are. */
        VkBufferCopy region = {.srcOffset = base, .dstOffset = offset, .size = c};
        order_write(dev, s, dst, offset, offset + c);
        dev->vk.vkCmdCopyBuffer(s->cmd, ring->storage.buffer, dst, 1, &region);
        s->used = start + c;
        *ticket = s->seq;
        src += c;
        offset += c;
        len -= c;
        if (s->used == ring->slot_bytes && (st = vkq_ring_flush(dev)) != VKQ_SUCCESS) return st;
    }
    return VKQ_SUCCESS;
}

vkq_status vkq_ring_wait(vkq_device dev, uint64_t seq)
{
    struct vkq_ring *ring = dev->ring;
    if (!ring || seq == 0) return VKQ_SUCCESS;
    vkq_status st = VKQ_SUCCESS;
    if (ring->open != UINT32_MAX && ring->slots[ring->open].seq <= seq) st = vkq_ring_flush(dev);
    for (uint32_t i = 0; i < ring->n_slots; ++i) {
        vkq_ring_slot *s = &ring->slots[i];
        if (s->submitted && s->seq <= seq) {
            vkq_status st2 = retire(dev, s);
            if (st == VKQ_SUCCESS) st = st2;
        }
    }
    return st;
}

int vkq_ring_pending(vkq_device dev, uint64_t seq)
{
    struct vkq_ring *ring = dev->ring;
    if (!ring || seq == 0) return 0;
    for (uint32_t i = 0; i < ring->n_slots; ++i)
        if (ring->slots[i].seq && ring->slots[i].seq <= seq) return 1;
    return 0;
}

void vkq_ring_note_use(vkq_device dev, uint64_t upload_seq)
{
    struct vkq_ring *ring = dev->ring;
    if (ring && upload_seq > ring->need_seq) ring->need_seq = upload_seq;
}

vkq_status vkq_ring_before_submit(vkq_device dev)
{
    struct vkq_ring *ring = dev->ring;
    if (!ring || ring->need_seq == 0) return VKQ_SUCCESS;
    const uint64_t need = ring->need_seq;
    ring->need_seq = 0;
    if (ring->mode != VKQ_RING_SAME_QUEUE) return vkq_ring_wait(dev, need);
    /* Same queue: submitting the slot first is enough (its barrier orders the kernels after). */
    if (ring->open != UINT32_MAX && ring->slots[ring->open].seq <= need) return vkq_ring_flush(dev);
    return VKQ_SUCCESS;
}
