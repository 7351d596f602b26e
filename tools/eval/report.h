/* vkq-eval's printouts of the KL-divergence statistics: llama-perplexity's layout on the text
 * output, and the same figures as JSON members. */
#ifndef VKQ_TOOLS_EVAL_REPORT_H
#define VKQ_TOOLS_EVAL_REPORT_H

#include <stdio.h>

#include "vkquant/eval.h"

/* The column heads of the per-chunk lines. */
void kld_report_head(FILE *f);
/* One line after chunk `chunk` (0-based): the running figures. */
void kld_report_chunk(FILE *f, uint32_t chunk, const vkq_kld_summary *s);
/* The final statistics, in three sections as llama-perplexity prints them. */
void kld_report_summary(FILE *f, const vkq_kld_summary *s);
/* `"kld": {...}, ...` members (no braces around them) for the JSON object. */
void kld_report_json(FILE *f, const vkq_kld_summary *s);

#endif
