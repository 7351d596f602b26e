/* Upload staging ring: random data uploaded (async and blocking) at odd offsets and sizes over
 * segment boundaries with tiny slots, so the ring wraps hundreds of times, downloaded back
 * bit-identical; overlapping uploads land in call order; the source may be overwritten as soon
 * as vkq_buffer_upload_async returns; matmuls interleaved with uploads (no explicit wait) match
 * the f64 reference; destroying a buffer with copies still recorded is clean; bad input gets a
 * status; where memory is mapped the ring is never allocated. Each case runs with the ring on
 * the compute queue and in the "emulated transfer queue" mode (host waits instead of
 * barriers), with the validation layer on. Fresh random data every run (seed printed,
 * VKQ_SEED replays). */
#include <stdlib.h>
#include <string.h>

#include "gpu_fixture.h"
#include "matmul_ref.h"
#include "vulkan/buffer.h"
#include "test_util.h"
#include "core/types.h"

static uint64_t g_rng;

static void random_bytes(uint8_t *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; ++i)
        p[i] = (uint8_t)(vkq_test_rand(&g_rng) >> 56);
}

/* A random range of [0, size): mostly small and odd, sometimes several slots long. */
static void random_range(uint64_t size, uint64_t slot, uint64_t *off, uint64_t *len)
{
    uint64_t max_len = vkq_test_rand_below(&g_rng, 4) == 0 ? 4 * slot + 77 : slot / 2 + 3;
    if (max_len > size) max_len = size;
    *len = 1 + vkq_test_rand(&g_rng) % max_len;
    *off = vkq_test_rand(&g_rng) % (size - *len + 1);
}

/* Many async uploads (overlapping, crossing segments and slots) vs a host mirror. */
static void test_odd_ranges_bit_identical(vkq_device dev, uint64_t slot, int async)
{
    const uint64_t size = 300001; /* with a 64 KiB allocation limit: 5 segments of odd size */
    uint8_t *mirror = malloc(size), *src = malloc(size), *back = malloc(size);
    vkq_buffer buf = NULL;
    CHECK_OK(vkq_buffer_create(dev, size, VKQ_MEMORY_DEVICE, 7, &buf));
    if (!buf || !mirror || !src || !back) goto out;
    CHECK(vkq_buffer_segment_count(buf) >= 4, "%u segments", vkq_buffer_segment_count(buf));
    const struct vkq_ring *ring = dev->ring;
    const uint64_t submits0 = ring->submits, waits0 = ring->reuse_waits;

    random_bytes(mirror, size);
    CHECK_OK(vkq_buffer_upload(buf, 0, mirror, size));
    for (int i = 0; i < 300; ++i) {
        uint64_t off, len;
        random_range(size, slot, &off, &len);
        random_bytes(src, len);
        memcpy(mirror + off, src, len);
        vkq_status st =
            async ? vkq_buffer_upload_async(buf, off, src, len) : vkq_buffer_upload(buf, off, src, len);
        CHECK(st == VKQ_SUCCESS, "upload %d [%llu, +%llu): %s (%s)", i, (unsigned long long)off,
              (unsigned long long)len, vkq_status_string(st), vkq_last_error());
        /* The ring took its copy during the call: scribbling over the source must not matter. */
        memset(src, 0xA5, len);
        if (i % 50 == 49) { /* a download in between waits only for this buffer's copies */
            uint64_t doff, dlen;
            random_range(size, slot, &doff, &dlen);
            CHECK_OK(vkq_buffer_download(buf, doff, back, dlen));
            CHECK(memcmp(back, mirror + doff, dlen) == 0, "mid-way download [%llu, +%llu) differs",
                  (unsigned long long)doff, (unsigned long long)dlen);
        }
    }
    memset(back, 0, size);
    CHECK_OK(vkq_buffer_download(buf, 0, back, size));
    uint64_t first_bad = size;
    for (uint64_t i = 0; i < size && first_bad == size; ++i)
        if (back[i] != mirror[i]) first_bad = i;
    CHECK(first_bad == size, "%s uploads: first differing byte at %llu of %llu", async ? "async" : "blocking",
          (unsigned long long)first_bad, (unsigned long long)size);
    /* The point of tiny slots: the ring really went round many times and reused busy slots. */
    CHECK(ring->submits - submits0 > 20u * ring->n_slots, "only %llu slot submissions",
          (unsigned long long)(ring->submits - submits0));
    if (async) CHECK(ring->reuse_waits > waits0, "the ring never waited for a slot to come free");
    printf("  %s odd ranges: %llu slot submissions, %llu waits for a busy slot\n",
           async ? "async" : "blocking", (unsigned long long)(ring->submits - submits0),
           (unsigned long long)(ring->reuse_waits - waits0));
out:
    vkq_buffer_destroy(buf);
    free(mirror);
    free(src);
    free(back);
}

static void random_x(float *x, uint64_t count)
{
    for (uint64_t i = 0; i < count; ++i)
        x[i] = (float)((double)(vkq_test_rand(&g_rng) >> 11) * 0x1p-52 - 1.0);
}

/* Two weight buffers: while a matmul runs on one, the next weights go into the other; X is
 * re-uploaded every round. No vkq_device_wait_uploads anywhere: vkq_matmul must order itself
 * after the uploads of the buffers it binds. Each round's W and X are fresh, so a matmul that
 * saw stale data fails the bound. */
static void test_interleaved_matmul(vkq_device dev)
{
    const vkq_type t = VKQ_TYPE_Q4_K;
    const vkq_type_traits *tr = vkq_traits(t);
    const uint64_t m = 96, k = 512, n = 3;
    uint64_t row_bytes = 0;
    vkq_type_bytes(t, k, &row_bytes);
    const uint64_t wb = row_bytes * m;
    uint8_t *wq[2] = {malloc(wb), malloc(wb)};
    float *wf[2] = {malloc(sizeof(float) * m * k), malloc(sizeof(float) * m * k)};
    float *x = malloc(sizeof(float) * k * n), *y = malloc(sizeof(float) * m * n);
    double *ref = malloc(sizeof(double) * m * n);
    vkq_buffer w[2] = {NULL, NULL}, xb = NULL, yb = NULL;
    CHECK_OK(vkq_buffer_create(dev, wb, VKQ_MEMORY_DEVICE, row_bytes, &w[0]));
    CHECK_OK(vkq_buffer_create(dev, wb, VKQ_MEMORY_DEVICE, row_bytes, &w[1]));
    CHECK_OK(vkq_buffer_create(dev, sizeof(float) * k * n, VKQ_MEMORY_DEVICE, sizeof(float) * k, &xb));
    CHECK_OK(vkq_buffer_create(dev, sizeof(float) * m * n, VKQ_MEMORY_DEVICE, sizeof(float) * m, &yb));
    if (!w[0] || !w[1] || !xb || !yb || !wq[0] || !wq[1] || !wf[0] || !wf[1] || !x || !y || !ref) goto out;

    vkq_test_random_weights(t, m * k / tr->info.block_elems, &g_rng, wq[0]);
    CHECK_OK(vkq_decode_cpu(t, wq[0], wb, wf[0], m * k));
    CHECK_OK(vkq_buffer_upload_async(w[0], 0, wq[0], wb));
    for (int round = 0; round < 8; ++round) {
        const int cur = round & 1, nxt = cur ^ 1;
        /* The next weights are queued before this round's matmul is even submitted. Even
         * rounds upload X last: its last chunk is still in the open slot, not even submitted,
         * when the matmul is recorded. Odd rounds upload X first, then the next weights, which
         * the matmul does not use and must not wait for. */
        const int x_last = round % 2 == 0;
        random_x(x, k * n);
        if (!x_last) CHECK_OK(vkq_buffer_upload_async(xb, 0, x, sizeof(float) * k * n));
        vkq_test_random_weights(t, m * k / tr->info.block_elems, &g_rng, wq[nxt]);
        CHECK_OK(vkq_decode_cpu(t, wq[nxt], wb, wf[nxt], m * k));
        CHECK_OK(vkq_buffer_upload_async(w[nxt], 0, wq[nxt], wb));
        if (x_last) CHECK_OK(vkq_buffer_upload_async(xb, 0, x, sizeof(float) * k * n));
        vkq_matmul_desc d = {.type = t, .m = m, .k = k, .n = n, .w = w[cur], .x = xb, .y = yb};
        vkq_status st = vkq_matmul(dev, &d);
        CHECK(st == VKQ_SUCCESS, "round %d: %s (%s)", round, vkq_status_string(st),
              vkq_last_error());
        /* How the matmul was ordered after X's copies: on the same queue by submitting them
         * first (no host wait: the ring still counts them in flight), on a separate queue by a
         * host wait for their fence. Either way the next weights' last copies stay queued. */
        const int separate = dev->ring->mode != VKQ_RING_SAME_QUEUE;
        if (x_last)
            CHECK(vkq_ring_pending(dev, xb->upload_seq) == !separate, "round %d: X's copies %s", round,
                  separate ? "not waited for before the matmul" : "waited for on the host");
        else
            CHECK(vkq_ring_pending(dev, w[nxt]->upload_seq),
                  "round %d: the matmul waited for unrelated uploads", round);
        CHECK_OK(vkq_buffer_download(yb, 0, y, sizeof(float) * m * n));
        matmul_ref_f64(wf[cur], x, ref, m, k, n);
        double e = matmul_nmse(y, m, ref, m, n);
        double bound = matmul_nmse_bound(wf[cur], x, ref, m, k, n, tr->tol_matmul_f32);
        CHECK(e <= bound, "round %d: NMSE %.3g > bound %.3g (stale weights or activations?)", round, e,
              bound);
    }
out:
    for (int i = 0; i < 2; ++i) {
        vkq_buffer_destroy(w[i]);
        free(wq[i]);
        free(wf[i]);
    }
    vkq_buffer_destroy(xb);
    vkq_buffer_destroy(yb);
    free(x);
    free(y);
    free(ref);
}

/* A buffer destroyed while its copies are still recorded in the open slot (or in flight) must
 * take them down cleanly, and the ring must go on working. */
static void test_destroy_with_pending_uploads(vkq_device dev, uint64_t slot)
{
    uint8_t data[333];
    random_bytes(data, sizeof data);
    for (int i = 0; i < 5; ++i) {
        vkq_buffer b = NULL;
        CHECK_OK(vkq_buffer_create(dev, 3 * slot + sizeof data, VKQ_MEMORY_DEVICE, 0, &b));
        if (!b) return;
        CHECK_OK(vkq_buffer_upload_async(b, (uint64_t)i * 17, data, sizeof data));
        vkq_buffer_destroy(b);
    }
    vkq_buffer b = NULL;
    uint8_t back[sizeof data];
    CHECK_OK(vkq_buffer_create(dev, sizeof data, VKQ_MEMORY_DEVICE, 0, &b));
    CHECK_OK(vkq_buffer_upload_async(b, 0, data, sizeof data));
    CHECK_OK(vkq_device_wait_uploads(dev));
    CHECK(!vkq_ring_pending(dev, dev->ring->last_seq), "ticket %llu still pending after the wait",
          (unsigned long long)dev->ring->last_seq);
    CHECK_OK(vkq_buffer_download(b, 0, back, sizeof back));
    CHECK(memcmp(back, data, sizeof data) == 0, "upload after destroyed pending buffers differs");
    CHECK_OK(vkq_device_wait_uploads(dev)); /* nothing pending: returns at once */
    vkq_buffer_destroy(b);
}

static void test_bad_input(vkq_device dev)
{
    uint8_t data[16] = {0};
    vkq_buffer b = NULL;
    CHECK_OK(vkq_buffer_create(dev, 64, VKQ_MEMORY_DEVICE, 0, &b));
    CHECK(vkq_buffer_upload_async(NULL, 0, data, 16) == VKQ_ERROR_INVALID_ARGUMENT, "NULL buffer");
    CHECK(vkq_buffer_upload_async(b, 0, NULL, 16) == VKQ_ERROR_INVALID_ARGUMENT, "NULL source");
    CHECK(vkq_buffer_upload_async(b, 0, data, 0) == VKQ_ERROR_INVALID_ARGUMENT, "zero size");
    CHECK(vkq_buffer_upload_async(b, 60, data, 16) == VKQ_ERROR_OUT_OF_RANGE, "past the end");
    CHECK(vkq_buffer_upload_async(b, UINT64_MAX, data, 16) == VKQ_ERROR_OUT_OF_RANGE, "offset overflow");
    CHECK(vkq_device_wait_uploads(NULL) == VKQ_ERROR_INVALID_ARGUMENT, "NULL device");
    vkq_buffer_destroy(b);
}

/* A ring the device cannot have is refused at creation with a message. */
static void test_bad_ring_desc(void)
{
    vkq_instance inst = NULL;
    uint32_t index = 0;
    CHECK_OK(vkq_instance_create(NULL, &inst));
    CHECK_OK(vkq_instance_default_device(inst, &index));
    const vkq_device_desc bad[] = {{.staging_slots = 1},
                                   {.staging_slots = 65},
                                   {.staging_slot_bytes = 8},
                                   {.staging_slots = 64, .staging_slot_bytes = 1ull << 30}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; ++i) {
        vkq_device dev = NULL;
        vkq_status st = vkq_device_create(inst, index, &bad[i], &dev);
        CHECK(st == VKQ_ERROR_INVALID_ARGUMENT && !dev, "ring desc %zu: %s", i, vkq_status_string(st));
        CHECK(strstr(vkq_last_error(), "staging ring") != NULL, "message: %s",
              vkq_last_error());
        vkq_device_destroy(dev);
    }
    const vkq_device_desc bad_queue = {.transfer_queue = 3};
    vkq_device dev = NULL;
    vkq_status st = vkq_device_create(inst, index, &bad_queue, &dev);
    CHECK(st == VKQ_ERROR_INVALID_ARGUMENT && !dev, "transfer_queue 3: %s", vkq_status_string(st));
    CHECK(strstr(vkq_last_error(), "transfer_queue 3") != NULL, "message: %s",
          vkq_last_error());
    vkq_device_destroy(dev);
    vkq_instance_destroy(inst);
}

/* Where device-local memory is mapped (UMA, CPU drivers) uploads are a memcpy: the ring must
 * not even have allocated its memory. */
static void test_mapped_memory_leaves_ring_unallocated(void)
{
    unsetenv("VKQ_FORCE_STAGING");
    gpu_fixture f;
    if (gpu_fixture_open(&f, NULL) != 0) {
        CHECK(0, "no device");
        return;
    }
    uint8_t data[1000], back[1000];
    random_bytes(data, sizeof data);
    vkq_buffer b = NULL;
    CHECK_OK(vkq_buffer_create(f.dev, sizeof data, VKQ_MEMORY_DEVICE, 0, &b));
    if (b) {
        CHECK_OK(vkq_buffer_upload_async(b, 0, data, sizeof data));
        CHECK_OK(vkq_buffer_download(b, 0, back, sizeof back));
        CHECK(memcmp(back, data, sizeof data) == 0, "mapped upload differs");
        if (b->segments[0].map)
            CHECK(!f.dev->ring->ready && f.dev->ring->storage.memory == VK_NULL_HANDLE,
                  "the ring allocated its memory though every upload was a memcpy");
        else
            printf("  device-local memory is not mapped here: the ring is in use\n");
    }
    vkq_buffer_destroy(b);
    gpu_fixture_close(&f);
    setenv("VKQ_FORCE_STAGING", "1", 1);
}

typedef struct config {
    const char *name;
    uint32_t slots;
    uint64_t slot_bytes;
    uint32_t transfer_queue;
} config;

int main(void)
{
    uint64_t seed = vkq_test_seed();
    g_rng = seed;
    printf("seed %llu (VKQ_SEED=%llu to replay)\n", (unsigned long long)seed, (unsigned long long)seed);
    /* Device-local memory is mappable on CPU drivers and UMA: force the staging path, as on a
     * discrete GPU, or the ring is never used. */
    setenv("VKQ_FORCE_STAGING", "1", 1);
    unsetenv("VKQ_TRANSFER_QUEUE");
    unsetenv("VKQ_STAGING_SLOTS");
    unsetenv("VKQ_STAGING_SLOT_BYTES");
    const config configs[] = {
        {"compute queue, 3 x 4099 B", 3, 4099, VKQ_TRANSFER_QUEUE_OFF},
        {"emulated transfer queue, 2 x 1000 B", 2, 1000, VKQ_TRANSFER_QUEUE_EMULATE},
        {"default device (transfer queue if any), 5 x 8 KiB", 5, 8192, VKQ_TRANSFER_QUEUE_AUTO},
    };
    for (size_t c = 0; c < sizeof configs / sizeof *configs; ++c) {
        const config *cf = &configs[c];
        printf("ring: %s\n", cf->name);
        const vkq_device_debug_desc dbg = {.max_allocation_override = 64 << 10};
        vkq_device_desc desc = {.debug = &dbg,
                                .staging_slots = cf->slots,
                                .staging_slot_bytes = cf->slot_bytes,
                                .transfer_queue = cf->transfer_queue};
        gpu_fixture f;
        if (gpu_fixture_open(&f, &desc) != 0) return 1;
        CHECK(f.dev->ring->n_slots == cf->slots && f.dev->ring->slot_bytes == cf->slot_bytes,
              "ring has %u x %llu", f.dev->ring->n_slots, (unsigned long long)f.dev->ring->slot_bytes);
        test_odd_ranges_bit_identical(f.dev, cf->slot_bytes, 1);
        test_odd_ranges_bit_identical(f.dev, cf->slot_bytes, 0);
        test_interleaved_matmul(f.dev);
        test_destroy_with_pending_uploads(f.dev, cf->slot_bytes);
        test_bad_input(f.dev);
        gpu_fixture_close(&f);
    }
    test_mapped_memory_leaves_ring_unallocated();
    test_bad_ring_desc();
    return test_summary("test_staging");
}
