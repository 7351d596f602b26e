// KV cache store, compiled once per KV cache type: n_rows rows of f32 (binding 0, packed) are
// written as the type (binding 1) at dst_base + r * dst_row_bytes. One invocation encodes one
// unit: a block of the type, or 32 elements of F32/F16/BF16 (shaders/encode/<family>.glsl).
//
// Blocks of 18, 22 or 34 bytes (and F16/BF16 rows at 2-byte offsets) put the start and end of a
// unit in the middle of a 32-bit word whose other bytes belong to a neighbouring unit (of this
// row, the next row, or data the caller keeps there). Storage buffers have no byte stores
// without optional features (storageBuffer8BitAccess), and a plain read-modify-write of a shared
// word would race. So an invocation stores the words wholly inside its unit plainly and merges
// its bytes into the two boundary words with atomicAnd (clear its bytes) then atomicOr (set
// them): 32-bit storage-buffer atomics are core Vulkan, every other byte of the word is left as
// it is whichever invocation comes first, and this holds for any row stride or offset.
layout(local_size_x = 64) in;

layout(std430, binding = 1) buffer KvDst { uint dst[]; };
layout(push_constant) uniform Params {
    uint src_base;      // word offset of the f32 rows inside binding 0
    uint dst_base;      // byte offset of the first row inside binding 1
    uint row_elems, units_per_row, n_units, dst_row_bytes;
    uint row;           // invocations per grid row
} p;

#ifdef VKQ_ELEMENTWISE
#define UNIT 32u
#else
#define UNIT QK
#endif

// Writes the len bytes of b (little-endian) at byte o of binding 1.
void put_bytes(uint o, uint len, uint b[VKQ_ENC_WORDS]) {
    uint a = o & 3u, s = a << 3, w0 = o >> 2;
    uint nw = (a + len + 3u) >> 2;
    [[unroll]] for (uint j = 0u; j <= VKQ_ENC_WORDS; ++j) {
        if (j >= nw) break;
        uint hi = j < VKQ_ENC_WORDS ? b[j] : 0u;
        uint lo = j > 0u ? b[j - 1u] : 0u;
        uint v = s == 0u ? hi : (hi << s) | (lo >> (32u - s));
        uint first = j == 0u ? a : 0u;            // bytes [first, last) of word j are ours
        uint last = min(4u, a + len - 4u * j);
        uint mask = (last == 4u ? 0xFFFFFFFFu : (1u << (8u * last)) - 1u) & ~((1u << (8u * first)) - 1u);
        if (mask == 0xFFFFFFFFu) {
            dst[w0 + j] = v;
        } else {
            atomicAnd(dst[w0 + j], ~mask);
            atomicOr(dst[w0 + j], v & mask);
        }
    }
}

void main() {
    uint u = gl_GlobalInvocationID.y * p.row + gl_GlobalInvocationID.x;
    if (gl_GlobalInvocationID.x >= p.row || u >= p.n_units) return;
    uint r = u / p.units_per_row, e0 = (u % p.units_per_row) * UNIT;
    uint ne = min(UNIT, p.row_elems - e0);
    uint src = p.src_base + r * p.row_elems + e0;
    uint w[32];
    [[unroll]] for (uint j = 0u; j < 32u; ++j) w[j] = j < ne ? vkq_word(src + j) : 0u;
    uint b[VKQ_ENC_WORDS];
    uint len = vkq_encode(w, ne, b);
    put_bytes(p.dst_base + r * p.dst_row_bytes + e0 / QK * BLOCK_BYTES, len, b);
}
