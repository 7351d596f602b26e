// BF16: element-wise, 2 bytes (16 bpw): binary32 bits = h << 16.
#define QK 1u
#define BLOCK_BYTES 2u
#define VKQ_ELEMENTWISE 1

// A pure bit operation: BF16 subnormals and NaN payloads survive devices that flush denormals.
// Element-wise data starts at a multiple of the element size (the host checks): one word read.
float decode1(uint b) { return uintBitsToFloat(vkq_u16_even(b) << 16); }
