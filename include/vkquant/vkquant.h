/* vkquant: Vulkan compute kernels for quantized LLM weights (GGUF types + NF4), CPU kernels,
 * quantizers, a GGUF reader and a model placement layer. Includes every public header; a
 * CPU-only user may include vkquant/core.h, gguf.h, quant.h and cpu.h alone (no Vulkan
 * headers needed). */
#ifndef VKQUANT_VKQUANT_H
#define VKQUANT_VKQUANT_H

#include "vkquant/core.h"
#include "vkquant/cpu.h"
#include "vkquant/gguf.h"
#include "vkquant/model.h"
#include "vkquant/quant.h"
#include "vkquant/vulkan.h"

#endif
