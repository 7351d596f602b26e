/* The thread-local last-error message and its one formatter. */
#include <stdio.h>
#include <string.h>

#include "core/error.h"

#define VKQ_ERRMSG 1024

static _Thread_local char last_error[VKQ_ERRMSG];

const char *vkq_last_error(void) { return last_error; }

void vkq_error_clear(void) { last_error[0] = '\0'; }

vkq_status vkq_failv(vkq_status st, const char *fmt, va_list ap)
{
    /* Through a copy: the arguments may be the current message itself. */
    char msg[VKQ_ERRMSG];
    vsnprintf(msg, sizeof msg, fmt, ap);
    memcpy(last_error, msg, sizeof msg);
    return st;
}

vkq_status vkq_fail(vkq_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    st = vkq_failv(st, fmt, ap);
    va_end(ap);
    return st;
}

vkq_status vkq_fail_status(vkq_status st) { return vkq_fail(st, "%s", vkq_status_string(st)); }
