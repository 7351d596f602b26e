/* A one-line progress bar on stderr, drawn only when stderr is a terminal: logs and pipes get
 * nothing, so captured output stays clean. */
#include <stdio.h>
#include <unistd.h>

#include "bench.h"

static int drawn;

void progress(uint32_t done, uint32_t total, const char *what)
{
    if (!total || !isatty(STDERR_FILENO)) return;
    enum { WIDTH = 30 };
    int fill = (int)((uint64_t)done * WIDTH / total);
    fprintf(stderr, "\r[%.*s%*s] %u/%u %-24.24s", fill, "##############################", WIDTH - fill, "",
            done, total, what);
    fflush(stderr);
    drawn = 1;
}

void progress_end(void)
{
    if (!drawn) return;
    fprintf(stderr, "\r%*s\r", 70, "");
    fflush(stderr);
    drawn = 0;
}
