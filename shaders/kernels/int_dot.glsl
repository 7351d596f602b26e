// vkq_dot4(a, b): dot product of two words of 4 packed signed bytes (little-endian lanes).
// With VKQ_SDOT (set by meson when glslang accepts it) it is one OpSDot from
// SPV_KHR_integer_dot_product, emitted through GL_EXT_spirv_intrinsics because glslang 12 has
// no GL_EXT_integer_dot_product; the pipeline then needs shaderIntegerDotProduct. Without it,
// four sign-extended multiply-adds give the same result.
#ifndef VKQ_INT_DOT_GLSL
#define VKQ_INT_DOT_GLSL

#ifdef VKQ_SDOT
#extension GL_EXT_spirv_intrinsics : require
// OpSDot = 4450; capabilities DotProduct (6019) and DotProductInput4x8BitPacked (6018); the
// literal 0 is PackedVectorFormat4x8Bit.
spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6019, 6018], id = 4450)
int vkq_sdot_packed(uint a, uint b, spirv_literal int format);
int vkq_dot4(uint a, uint b) { return vkq_sdot_packed(a, b, 0); }
#else
int vkq_dot4(uint a, uint b) {
    int s = 0;
    [[unroll]] for (int j = 0; j < 32; j += 8) s += bitfieldExtract(int(a), j, 8) * bitfieldExtract(int(b), j, 8);
    return s;
}
#endif

#endif
