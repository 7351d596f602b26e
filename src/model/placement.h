/* Internal side of the placement plan: what vkq_model_create changes after planning. */
#ifndef VKQ_PLACEMENT_H
#define VKQ_PLACEMENT_H

#include "vkquant/model.h"

/* Moves layer `layer` and every GPU-run layer before it to the CPU (the run stays the last
 * layers, contiguous). Tensors of those layers placed by a rule stay where the rule put them.
 * Returns the bytes moved; *n_layers gets the number of layers moved. */
uint64_t vkq_plan_demote_layers_upto(vkq_plan plan, int32_t layer, uint32_t *n_layers);
/* Moves one tensor to the CPU; returns its bytes (0 if it was already there). */
uint64_t vkq_plan_demote_tensor(vkq_plan plan, uint32_t i);

/* "1.50 GiB", "12.0 KiB", "17 B" into buf. */
const char *vkq_format_bytes(uint64_t bytes, char *buf, size_t size);

#endif
