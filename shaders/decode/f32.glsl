// F32: element-wise, 4 bytes; a bit copy (no float arithmetic, so subnormals survive FTZ).
#define QK 1u
#define BLOCK_BYTES 4u
#define VKQ_ELEMENTWISE 1

// Element-wise data starts at a multiple of the element size (the host checks), so one word.
float decode1(uint b) { return uintBitsToFloat(vkq_word(b >> 2)); }
