/* The one error formatter: a failing path records its sentence in the calling thread's
 * last-error buffer (read by vkq_last_error, include/vkquant/core.h) and returns its status:
 * `return vkq_fail(VKQ_ERROR_..., "...", ...);`. */
#ifndef VKQ_ERROR_H
#define VKQ_ERROR_H

#include <stdarg.h>

#include "vkquant/core.h"

#if defined(__GNUC__)
#define VKQ_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define VKQ_PRINTF(f, a)
#endif

/* Formats the message (arguments may point into the current message, e.g. to prefix it with
 * context: vkq_fail(st, "%s: %s", path, vkq_last_error())) and returns `st`. */
VKQ_PRINTF(2, 3) vkq_status vkq_fail(vkq_status st, const char *fmt, ...);
VKQ_PRINTF(2, 0) vkq_status vkq_failv(vkq_status st, const char *fmt, va_list ap);
/* For failures that need no more words than the status: records vkq_status_string(st), so the
 * message never stays behind from an earlier failure. */
vkq_status vkq_fail_status(vkq_status st);
/* Empties the message: for calls documented to leave "" behind on success. */
void vkq_error_clear(void);

#endif
