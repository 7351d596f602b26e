/* A main() for a fuzz target without libFuzzer: runs LLVMFuzzerTestOneInput once on each file
 * named (folders: each file in them), from an exact-size heap copy. The normal test suites build
 * every target with it and replay the committed corpus, so the corpus (and each regression input
 * added to it) is checked with gcc, and under ASan + UBSan by scripts/test.sh --sanitize.
 * A broken promise traps; the exit status is 0 once every input ran. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0)
        if ((n += got) == cap) buf = realloc(buf, cap *= 2);
    fclose(f);
    if (!buf) return -1;
    /* exact size, so a read past the input is a heap overflow under ASan */
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact) return free(buf), -1;
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    int count = 0;
    for (int a = 1; a < argc; ++a) {
        struct stat st;
        if (stat(argv[a], &st) || !S_ISDIR(st.st_mode)) {
            if (run_file(argv[a])) return 1;
            count++;
            continue;
        }
        DIR *d = opendir(argv[a]);
        if (!d) return fprintf(stderr, "replay: cannot read %s\n", argv[a]), 1;
        char **names = NULL;
        size_t n = 0;
        for (struct dirent *e; (e = readdir(d));) {
            if (e->d_name[0] == '.') continue;
            names = realloc(names, (n + 1) * sizeof *names);
            size_t len = strlen(argv[a]) + strlen(e->d_name) + 2;
            names[n] = malloc(len);
            snprintf(names[n++], len, "%s/%s", argv[a], e->d_name);
        }
        closedir(d);
        if (n) qsort(names, n, sizeof *names, cmp);
        for (size_t i = 0; i < n; ++i) {
            if (run_file(names[i])) return 1;
            free(names[i]);
            count++;
        }
        free(names);
    }
    printf("replay: %d inputs, no broken promise\n", count);
    return count ? 0 : 1;
}
