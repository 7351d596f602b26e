// cos and sin of theta = pos * inv_freq for RoPE, shared by rope.comp and rmsnorm.comp (its
// fused Q/K-norm + rope): theta in fp32, then reduced to [-pi, pi] before sin/cos, because GPU
// sin/cos are only accurate on a small range (Vulkan promises 2^-11 absolute inside [-pi, pi],
// nothing outside) and positions reach 10^5. The reduction subtracts k * 2pi in three parts
// whose products with k are exact for k < 2^12 (Cody-Waite); `precise` keeps the order.
vec2 vkq_rope_cos_sin(float pos, float inv_freq) {
    precise float theta = pos * inv_freq;
    precise float k = floor(theta * 0.15915494309189535 + 0.5);
    precise float r = ((theta - k * 6.28125) - k * 1.9350051879882812e-3) - k * 3.0199159819567e-7;
    return vec2(cos(r), sin(r));
}
