// tanh for the GELU gate and the attention soft-cap, finite for every finite input: the GLSL
// built-in may be computed as a ratio of exponentials that overflows to inf/inf = NaN for large
// |u| on some drivers. exp(-2|u|) only underflows. Below |u| = 0.1 the 1 - t cancellation would
// cost relative precision, so the odd series is used there (its next term is below 2^-30 relative).
#ifndef VKQ_OPS_TANH_GLSL
#define VKQ_OPS_TANH_GLSL
float vkq_tanh(float u) {
    float a = abs(u);
    if (a < 0.1) {
        float u2 = u * u;
        return u * (1.0 + u2 * (-1.0 / 3.0 + u2 * (2.0 / 15.0 + u2 * (-17.0 / 315.0))));
    }
    float t = exp(-2.0 * a);
    return sign(u) * ((1.0 - t) / (1.0 + t));
}
#endif
