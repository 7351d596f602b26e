/* Staging ring for uploads (internal). Not part of the public API.
 *
 * K slots over one host-visible buffer, each with its own command buffer and fence. An upload
 * memcpy's a chunk into the open slot and records the copy into the slot's command buffer; a
 * full slot is submitted and the next one opened, so the CPU fills slot i+1 (reading the
 * mmap'd file: page faults, the slow part) while the GPU copies slot i. A slot's fence is only
 * waited when the ring comes back round to it.
 *
 * Every slot gets a ticket (a sequence number) when it is opened; a buffer remembers the ticket
 * of the last slot that wrote to it, and whoever reads or writes the buffer next waits for that
 * ticket (vkq_ring_wait) or, on the same queue, only needs it submitted. */
#ifndef VKQ_STAGING_RING_H
#define VKQ_STAGING_RING_H

#include "vulkan/device_core.h"

/* Destination ranges written since the slot's last barrier: copies inside one command buffer
 * are unordered, so a copy that overlaps one of them (a second upload over the same bytes)
 * gets a barrier first. */
#define VKQ_RING_TRACKED 16

typedef struct vkq_ring_range {
    VkBuffer buffer;
    uint64_t begin, end;
} vkq_ring_range;

typedef struct vkq_ring_slot {
    VkCommandBuffer cmd;
    VkFence fence;
    uint64_t seq;  /* ticket of the copies recorded in it; 0 = idle */
    uint64_t used; /* bytes of the slot filled */
    int submitted;
    uint32_t n_written;
    vkq_ring_range written[VKQ_RING_TRACKED];
} vkq_ring_slot;

typedef enum vkq_ring_mode {
    /* Copies go to the compute queue: submission order plus a barrier at the end of each slot
     * orders them before later compute; nothing waits on the host. */
    VKQ_RING_SAME_QUEUE = 0,
    /* Copies go to a transfer-only queue family (a DMA engine): compute that touches a buffer
     * waits on the host for the fence of the slot that last wrote it. */
    VKQ_RING_TRANSFER_QUEUE,
    /* Debug (VKQ_TRANSFER_QUEUE=emulate): the compute queue, synchronised as if it were a
     * separate one (no barrier towards compute), so the validation layer's synchronization
     * checks see whether the host waits are in the right places on a one-queue device. */
    VKQ_RING_EMULATED
} vkq_ring_mode;

struct vkq_ring {
    vkq_ring_mode mode;
    VkQueue queue;
    uint32_t family;
    VkCommandPool pool;
    vkq_host_buffer storage; /* n_slots x slot_bytes, mapped */
    int ready; /* storage, pool, command buffers and fences made (at the first upload) */
    uint32_t n_slots;
    uint64_t slot_bytes;
    vkq_ring_slot *slots;
    uint32_t open;        /* slot being recorded, or UINT32_MAX */
    uint32_t next;        /* slot to open next (round robin) */
    uint64_t last_seq;    /* last ticket handed out */
    uint64_t need_seq;    /* highest ticket of a buffer the command buffer being recorded uses */
    uint64_t submits;     /* slots submitted so far (tests check the ring wrapped) */
    uint64_t reuse_waits; /* times a slot had to be waited for before reuse */
};

/* Creates dev->ring on `queue` of `family` with `slots` slots of `slot_bytes` (0: 4 x 4 MiB;
 * the caller resolves the descriptor and the environment). Vulkan objects and memory are made
 * at the first upload through it. */
vkq_status vkq_ring_create(vkq_device dev, vkq_ring_mode mode, VkQueue queue, uint32_t family, uint32_t slots,
                           uint64_t slot_bytes);
/* Waits for everything in flight and frees the ring. */
void vkq_ring_destroy(vkq_device dev);

/* Copies `len` bytes from `src` to byte `offset` of `dst` through the ring; returns the ticket
 * of the last slot used in *ticket. `src` is not read after the call returns. */
vkq_status vkq_ring_upload(vkq_device dev, VkBuffer dst, uint64_t offset, const uint8_t *src, uint64_t len,
                           uint64_t *ticket);
/* Submits the open slot, if any. */
vkq_status vkq_ring_flush(vkq_device dev);
/* Submits and waits on the host until every slot up to ticket `seq` is done (0: nothing). */
vkq_status vkq_ring_wait(vkq_device dev, uint64_t seq);
/* Whether ticket `seq` may still be in flight. */
int vkq_ring_pending(vkq_device dev, uint64_t seq);

/* Called for every buffer a command being recorded reads or writes (binding windows, copies),
 * with the ticket of the buffer's last upload. */
void vkq_ring_note_use(vkq_device dev, uint64_t upload_seq);
/* Called before a command buffer of the compute queue is submitted: makes the uploads of the
 * buffers noted since the last call complete before it runs. */
vkq_status vkq_ring_before_submit(vkq_device dev);

#endif
