/* Placeholder until the quantizers land (issue 5): every type reports VKQ_ERROR_UNSUPPORTED. */
#include "vkquant_quant.h"

vkq_status vkq_quantize(const vkq_quantize_desc *desc)
{
    if (!desc || !desc->src || !desc->dst || !desc->rows || !desc->k)
        return VKQ_ERROR_INVALID_ARGUMENT;
    if (!vkq_type_get(desc->type))
        return VKQ_ERROR_UNKNOWN_TYPE;
    return VKQ_ERROR_UNSUPPORTED;
}

int vkq_quantize_supported(vkq_type type)
{
    (void)type;
    return 0;
}
