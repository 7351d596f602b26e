/* The caller-supplied error buffer of the calls that take `err`/`err_size` (vkquant/model.h). */
#ifndef VKQ_ERR_BUFFER_H
#define VKQ_ERR_BUFFER_H

#include <stddef.h>

#include "vkquant/core.h"

/* Writes the formatted sentence into err (if err is not NULL and err_size > 0) and returns st,
 * so a failing path reads `return vkq_err(err, err_size, VKQ_ERROR_..., "...", ...);`. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
vkq_status vkq_err(char *err, size_t err_size, vkq_status st, const char *fmt, ...);

#endif
