/* vkquant: Vulkan compute kernels for quantized LLM weights (GGUF types + NF4), CPU kernels,
 * quantizers, a GGUF reader and a model placement layer. Includes every public header; a
 * CPU-only user may include vkquant/core.h, gguf.h, quant.h, cpu.h, tokenizer.h, eval.h and convert.h alone (no Vulkan
 * headers needed). */
#ifndef VKQUANT_VKQUANT_H
#define VKQUANT_VKQUANT_H

#include "vkquant/convert.h"
#include "vkquant/core.h"
#include "vkquant/cpu.h"
#include "vkquant/eval.h"
#include "vkquant/gguf.h"
#include "vkquant/llm.h"
#include "vkquant/model.h"
#include "vkquant/quant.h"
#include "vkquant/tokenizer.h"
#include "vkquant/vulkan.h"

#endif
