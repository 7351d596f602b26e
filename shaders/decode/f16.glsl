// F16: element-wise, 2 bytes (16 bpw): IEEE binary16 -> binary32, exact, converted with integers.
#define QK 1u
#define BLOCK_BYTES 2u
#define VKQ_ELEMENTWISE 1

// vkq_half, not unpackHalf2x16: the hardware conversion may flush f16 subnormals (FORMATS.md 14).
float decode1(uint b) { return vkq_half(b); }
