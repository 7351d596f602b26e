/* The GGUF writer (include/vkquant/gguf.h), checked with the strict reader:
 * - every value type (scalars through set_*, arrays of every fixed-size element type, string
 *   arrays) and tensors of several types, written to a memfd (begin_fd), read back equal; the
 *   layout is ggml's (data section and each tensor at a multiple of general.alignment = 64,
 *   zero padding, file size = data offset + padded sizes);
 * - copy_kv of that file into a second writer gives the same header bytes (all types copied);
 * - to a path: the file appears only at finish; destroy before finish, too many bytes, finish
 *   before all bytes, and a protected path (the input) leave no file and no temporary behind.
 * Random tensor bytes; seed printed (VKQ_SEED replays). */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

static uint32_t rnd_state;
static uint32_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 17;
    rnd_state ^= rnd_state << 5;
    return rnd_state;
}

#define N_T 3
static const char *const T_NAME[N_T] = {"a.weight", "b.norm", "c.q4k"};
static const vkq_type T_TYPE[N_T] = {VKQ_TYPE_Q8_0, VKQ_TYPE_F32, VKQ_TYPE_Q4_K};
static const int64_t T_NE[N_T][2] = {{64, 3}, {7, 1}, {256, 2}};
static uint8_t *t_data[N_T];
static uint64_t t_bytes[N_T];

static void declare(vkq_gguf_writer w)
{
    for (int i = 0; i < N_T; i++)
        CHECK_OK(vkq_gguf_writer_add_tensor(w, T_NAME[i], i == 1 ? 1 : 2, T_NE[i], T_TYPE[i]));
}

static void fill(vkq_gguf_writer w)
{
    static const char *const strs[3] = {"x", "", "hello world"};
    const uint8_t u8[3] = {1, 2, 255};
    const int16_t i16[2] = {-5, 300};
    const uint64_t u64[2] = {1ull << 40, 7};
    const double f64[2] = {0.25, -1e300};
    const int8_t b[2] = {1, 0};
    CHECK_OK(vkq_gguf_writer_set_string(w, "general.architecture", "llama"));
    CHECK_OK(vkq_gguf_writer_set_u32(w, "general.alignment", 64));
    CHECK_OK(vkq_gguf_writer_set_i32(w, "k.i32", -7));
    CHECK_OK(vkq_gguf_writer_set_u64(w, "k.u64", 1ull << 50));
    CHECK_OK(vkq_gguf_writer_set_f32(w, "k.f32", 1.5f));
    CHECK_OK(vkq_gguf_writer_set_bool(w, "k.bool", 1));
    CHECK_OK(vkq_gguf_writer_set_array(w, "k.u8s", VKQ_GGUF_UINT8, 3, u8));
    CHECK_OK(vkq_gguf_writer_set_array(w, "k.i16s", VKQ_GGUF_INT16, 2, i16));
    CHECK_OK(vkq_gguf_writer_set_array(w, "k.u64s", VKQ_GGUF_UINT64, 2, u64));
    CHECK_OK(vkq_gguf_writer_set_array(w, "k.f64s", VKQ_GGUF_FLOAT64, 2, f64));
    CHECK_OK(vkq_gguf_writer_set_array(w, "k.bools", VKQ_GGUF_BOOL, 2, b));
    CHECK_OK(vkq_gguf_writer_set_array(w, "k.empty", VKQ_GGUF_INT32, 0, NULL));
    CHECK_OK(vkq_gguf_writer_set_string_array(w, "k.strs", strs, 3));
    CHECK_OK(vkq_gguf_writer_set_u32(w, "k.gone", 1));
    CHECK_OK(vkq_gguf_writer_remove_key(w, "k.gone"));
    CHECK_OK(vkq_gguf_writer_set_i32(w, "k.i32", -8)); /* replaces in place */
}

static void write_data(vkq_gguf_writer w)
{
    for (int i = 0; i < N_T; i++) /* in uneven pieces */
        for (uint64_t off = 0; off < t_bytes[i];) {
            uint64_t n = 1 + rnd() % 50;
            if (n > t_bytes[i] - off)
                n = t_bytes[i] - off;
            CHECK_OK(vkq_gguf_writer_write_data(w, t_data[i] + off, (size_t)n));
            off += n;
        }
}

static void check_file(const uint8_t *p, size_t size)
{
    vkq_gguf g = NULL;
    CHECK_OK(vkq_gguf_create_from_memory(p, size, &g));
    if (!g)
        return;
    CHECK(vkq_gguf_version(g) == 3 && vkq_gguf_alignment(g) == 64, "version %u alignment %u",
          vkq_gguf_version(g), vkq_gguf_alignment(g));
    CHECK(vkq_gguf_kv_count(g) == 13, "%lld keys", (long long)vkq_gguf_kv_count(g));
    int32_t i32 = 0;
    float f32 = 0;
    uint64_t u64 = 0;
    int bl = 0;
    CHECK_OK(vkq_gguf_get_i32(g, vkq_gguf_find_key(g, "k.i32"), &i32));
    CHECK_OK(vkq_gguf_get_f32(g, vkq_gguf_find_key(g, "k.f32"), &f32));
    CHECK_OK(vkq_gguf_get_u64(g, vkq_gguf_find_key(g, "k.u64"), &u64));
    CHECK_OK(vkq_gguf_get_bool(g, vkq_gguf_find_key(g, "k.bool"), &bl));
    CHECK(i32 == -8 && f32 == 1.5f && u64 == 1ull << 50 && bl == 1, "scalars %d %g %llu %d", i32, f32,
          (unsigned long long)u64, bl);
    CHECK(vkq_gguf_find_key(g, "k.gone") < 0, "removed key present");
    CHECK(!strcmp(vkq_gguf_kv_key(g, 2), "k.i32"), "replaced key moved: %s", vkq_gguf_kv_key(g, 2));
    vkq_gguf_value v;
    CHECK_OK(vkq_gguf_get_array_value(g, vkq_gguf_find_key(g, "k.strs"), 2, &v));
    CHECK(v.str.len == 11 && !memcmp(v.str.data, "hello world", 11), "string array element");
    CHECK_OK(vkq_gguf_get_array_value(g, vkq_gguf_find_key(g, "k.i16s"), 0, &v));
    CHECK(v.i == -5, "i16 %lld", (long long)v.i);
    CHECK_OK(vkq_gguf_get_array_value(g, vkq_gguf_find_key(g, "k.f64s"), 1, &v));
    CHECK(v.f == -1e300, "f64 %g", v.f);
    CHECK_OK(vkq_gguf_get_array_value(g, vkq_gguf_find_key(g, "k.u8s"), 2, &v));
    CHECK(v.u == 255, "u8 %llu", (unsigned long long)v.u);
    uint64_t expect = vkq_gguf_data_offset(g);
    CHECK(expect % 64 == 0, "data offset %llu", (unsigned long long)expect);
    for (int i = 0; i < N_T; i++) {
        vkq_gguf_tensor t;
        CHECK_OK(vkq_gguf_tensor_info(g, i, &t));
        CHECK(!strcmp(t.name, T_NAME[i]) && t.type == T_TYPE[i] && t.ne[0] == T_NE[i][0] && t.ne[1] == T_NE[i][1],
              "tensor %d info", i);
        CHECK(t.offset == expect && t.nbytes == t_bytes[i] && !memcmp(t.data, t_data[i], t_bytes[i]),
              "tensor %s at %llu (expected %llu) or its bytes differ", T_NAME[i], (unsigned long long)t.offset,
              (unsigned long long)expect);
        for (uint64_t k = t.offset + t.nbytes; k < (t.offset + t.nbytes + 63) / 64 * 64; k++)
            CHECK(p[k] == 0, "padding byte %llu", (unsigned long long)k);
        expect += (t_bytes[i] + 63) / 64 * 64;
    }
    CHECK(size == expect, "file size %zu, expected %llu", size, (unsigned long long)expect);
    vkq_gguf_destroy(g);
}

static int tmp_files(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    return n;
}

static void path_cases(const char *dir)
{
    char out[512], in[512];
    snprintf(out, sizeof out, "%s/out.gguf", dir);
    snprintf(in, sizeof in, "%s/in.gguf", dir);
    struct stat st;
    for (int c = 0; c < 4; c++) {
        vkq_gguf_writer w;
        CHECK_OK(vkq_gguf_writer_create(&w));
        fill(w);
        declare(w);
        CHECK_OK(vkq_gguf_writer_begin_path(w, out, NULL));
        CHECK(stat(out, &st) != 0 && tmp_files(dir) == 1, "case %d: the output exists before finish", c);
        if (c == 1) {
            write_data(w);
            uint8_t extra = 0;
            CHECK(vkq_gguf_writer_write_data(w, &extra, 1) == VKQ_ERROR_INVALID_ARGUMENT, "a byte too many accepted");
        } else if (c == 2) {
            CHECK(vkq_gguf_writer_finish(w, NULL) == VKQ_ERROR_INVALID_ARGUMENT, "finish without data accepted");
        } else if (c == 3) {
            write_data(w);
            uint64_t size = 0;
            CHECK_OK(vkq_gguf_writer_finish(w, &size));
            CHECK(stat(out, &st) == 0 && (uint64_t)st.st_size == size && tmp_files(dir) == 0,
                  "finished file missing or temporary left");
            CHECK(rename(out, in) == 0, "rename");
        }
        vkq_gguf_writer_destroy(w);
        if (c < 3)
            CHECK(stat(out, &st) != 0 && tmp_files(dir) == 0, "case %d left a file", c);
    }
    /* the protected input: refused, before anything is created */
    vkq_gguf_writer w;
    CHECK_OK(vkq_gguf_writer_create(&w));
    CHECK(vkq_gguf_writer_begin_path(w, in, in) == VKQ_ERROR_INVALID_ARGUMENT, "overwriting the input accepted");
    vkq_gguf_writer_destroy(w);
    CHECK(tmp_files(dir) == 0 && stat(in, &st) == 0, "refusal touched the directory");
    unlink(in);
}

int main(void)
{
    const char *env = getenv("VKQ_SEED");
    rnd_state = env && *env ? (uint32_t)strtoul(env, NULL, 10) : (uint32_t)getpid() * 2654435761u;
    if (!rnd_state)
        rnd_state = 1;
    printf("test_gguf_write: seed %u (VKQ_SEED replays)\n", rnd_state);
    for (int i = 0; i < N_T; i++) {
        vkq_type_bytes(T_TYPE[i], (uint64_t)(T_NE[i][0] * T_NE[i][1]), &t_bytes[i]);
        t_data[i] = malloc(t_bytes[i]);
        for (uint64_t k = 0; k < t_bytes[i]; k++)
            t_data[i][k] = (uint8_t)rnd();
        if (T_TYPE[i] == VKQ_TYPE_F32) /* finite floats */
            for (uint64_t k = 0; k < t_bytes[i]; k += 4)
                t_data[i][k + 3] &= 0x3f;
    }
    int fd = memfd_create("gguf_write", 0);
    CHECK(fd >= 0, "memfd_create");
    vkq_gguf_writer w;
    CHECK_OK(vkq_gguf_writer_create(&w));
    fill(w);
    declare(w);
    CHECK(vkq_gguf_writer_set_u32(w, "late", 1) == VKQ_SUCCESS, "keys may still be set before begin");
    CHECK_OK(vkq_gguf_writer_remove_key(w, "late"));
    CHECK(vkq_gguf_writer_add_tensor(w, "a.weight", 2, T_NE[0], VKQ_TYPE_Q8_0) == VKQ_ERROR_INVALID_ARGUMENT,
          "duplicate tensor accepted");
    const int64_t bad[2] = {33, 1};
    CHECK(vkq_gguf_writer_add_tensor(w, "bad", 2, bad, VKQ_TYPE_Q8_0) == VKQ_ERROR_BAD_SHAPE, "row 33 in Q8_0 accepted");
    CHECK_OK(vkq_gguf_writer_begin_fd(w, fd));
    CHECK(vkq_gguf_writer_set_u32(w, "too.late", 1) == VKQ_ERROR_INVALID_ARGUMENT, "key after begin accepted");
    write_data(w);
    uint64_t size = 0;
    CHECK_OK(vkq_gguf_writer_finish(w, &size));
    vkq_gguf_writer_destroy(w);
    uint8_t *p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED, "mmap");
    if (p != MAP_FAILED) {
        check_file(p, size);
        /* copy_kv: a second file from the first's metadata has the same header */
        vkq_gguf g;
        CHECK_OK(vkq_gguf_create_from_memory(p, size, &g));
        int fd2 = memfd_create("gguf_write2", 0);
        vkq_gguf_writer w2;
        CHECK_OK(vkq_gguf_writer_create(&w2));
        CHECK_OK(vkq_gguf_writer_copy_kv(w2, g));
        declare(w2);
        CHECK_OK(vkq_gguf_writer_begin_fd(w2, fd2));
        write_data(w2);
        uint64_t size2 = 0;
        CHECK_OK(vkq_gguf_writer_finish(w2, &size2));
        vkq_gguf_writer_destroy(w2);
        uint8_t *p2 = mmap(NULL, size2, PROT_READ, MAP_SHARED, fd2, 0);
        CHECK(size2 == size && p2 != MAP_FAILED && !memcmp(p, p2, size), "copy_kv: the files differ");
        if (p2 != MAP_FAILED)
            munmap(p2, size2);
        close(fd2);
        vkq_gguf_destroy(g);
        munmap(p, size);
    }
    close(fd);
    char dir[] = "/tmp/vkq_gguf_write_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    path_cases(dir);
    rmdir(dir);
    for (int i = 0; i < N_T; i++)
        free(t_data[i]);
    return test_summary("test_gguf_write");
}
