// F16: element-wise, 2 bytes (16 bpw): IEEE binary16 -> binary32, exact, converted with integers.
#define QK 1u
#define BLOCK_BYTES 2u
#define VKQ_ELEMENTWISE 1

// vkq_half, not unpackHalf2x16: the hardware conversion may flush f16 subnormals (FORMATS.md 14).
// Element-wise data starts at a multiple of the element size (the host checks): one word read.
float decode1(uint b) { return vkq_half_bits(vkq_u16_even(b)); }
