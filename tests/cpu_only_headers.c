/* The CPU-only public headers compile without any Vulkan header: built with only include/ on
 * the include path, and failing if one of them pulled vulkan_core.h in anyway (the system may
 * have it on the default path). */
#include <stdio.h>

#include "vkquant/convert.h"
#include "vkquant/core.h"
#include "vkquant/eval.h"
#include "vkquant/cpu.h"
#include "vkquant/gguf.h"
#include "vkquant/quant.h"
#include "vkquant/tokenizer.h"

#ifdef VULKAN_CORE_H_
#error "a CPU-only vkquant header includes vulkan_core.h"
#endif

int main(void)
{
    const vkq_type_info *q4k = vkq_type_get(VKQ_TYPE_Q4_K);
    if (!q4k || q4k->block_elems != 256 || !vkq_quantize_supported(VKQ_TYPE_Q4_K) ||
        !vkq_cpu_matmul_path(VKQ_TYPE_Q4_K, 0)) {
        fprintf(stderr, "type table, quantizer or CPU path lookup failed\n");
        return 1;
    }
    vkq_recipe recipe;
    if (vkq_recipe_create("Q4_K_M", &recipe) != VKQ_SUCCESS) {
        fprintf(stderr, "recipe: %s\n", vkq_last_error());
        return 1;
    }
    vkq_recipe_destroy(recipe);
    printf("vkquant %d.%d.%d: %u types, CPU path for Q4_K: %s\n", VKQ_VERSION_MAJOR,
           VKQ_VERSION_MINOR, VKQ_VERSION_PATCH, vkq_type_count(), vkq_cpu_matmul_path(VKQ_TYPE_Q4_K, 0));
    return 0;
}
