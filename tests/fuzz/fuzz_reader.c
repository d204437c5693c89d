/* libFuzzer: a session file of any bytes, read back by every reader of
 * session files: li_reader (each line also formatted as `lsptap tail` does:
 * one line, no control bytes),
 * li_stats_load (then printed, as JSON, in brief and merged), both exports
 * and the HTML report. Never a crash; every line returned is an object, line
 * numbers only grow and never pass the number of lines, a malformed line is
 * reported as "PATH:LINE: ...", a file that cannot be a session names itself
 * in the error, and the report's data is one JSON object with no '<' (it is
 * inlined in a <script>). The bytes live in a memfd, opened by its /proc
 * path like any file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "inspect/li_export.h"
#include "inspect/li_reader.h"
#include "inspect/li_report.h"
#include "inspect/li_stats.h"
#include "inspect/li_tail.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_reader: %s:%d: %s\n", __FILE__, __LINE__, #cond);                \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static char path[64];
static FILE *devnull;

static void put(const uint8_t *data, size_t size)
{
    static int fd = -1;
    if (fd < 0) {
        fd = memfd_create("session.jsonl", 0);
        CHECK(fd >= 0);
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        devnull = fopen("/dev/null", "w");
        CHECK(devnull != NULL);
    }
    CHECK(ftruncate(fd, 0) == 0);
    CHECK(size == 0 || pwrite(fd, data, size, 0) == (ssize_t)size);
}

/* NUL-terminated within cap, with no control byte before the NUL. */
static int one_line(const char *s, size_t cap)
{
    for (size_t i = 0; i < cap; i++) {
        if (!s[i]) return 1;
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return 0;
    }
    return 0;
}

static void check_reader(const uint8_t *data, size_t size)
{
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    char err[512];
    struct li_reader *r = li_reader_open(path, err, sizeof err);
    CHECK(r != NULL);
    size_t last = 0, lineno = 0;
    for (;;) {
        json_t *v;
        err[0] = '\0';
        int rc = li_reader_next(r, &v, &lineno, err, sizeof err);
        if (rc == LI_READ_EOF) break;
        CHECK(rc == LI_READ_LINE || rc == LI_READ_BAD);
        CHECK(lineno > last && lineno <= lines);
        last = lineno;
        if (rc == LI_READ_LINE) {
            CHECK(json_is_object(v));
            static const struct li_tail_filter any = {NULL, -1}, hover = {"hover", 1};
            char *out = malloc(200);
            CHECK(out != NULL);
            int shown = li_tail_format(v, &any, out, 200);
            if (shown) CHECK(one_line(out, 200));
            if (li_tail_format(v, &hover, out, 200)) CHECK(shown && one_line(out, 200));
            free(out);
            json_decref(v);
        } else {
            char where[96];
            snprintf(where, sizeof where, "%s:%zu: ", path, lineno);
            CHECK(v == NULL && strncmp(err, where, strlen(where)) == 0);
        }
    }
    CHECK(li_reader_truncated(r) <= lines);
    li_reader_close(r);
}

static void check_stats(void)
{
    char err[512] = "";
    struct li_stats *st = NULL;
    int rc = li_stats_load(path, &st, devnull, err, sizeof err);
    if (rc != 0) {
        CHECK(rc == 2 && st == NULL && strstr(err, path) != NULL);
        return;
    }
    CHECK(st != NULL);
    li_stats_print(st, devnull);
    json_t *j = li_stats_json(st);
    CHECK(j != NULL);
    char *s = json_dumps(j, 0);
    CHECK(s != NULL);
    free(s);
    json_decref(j);
    json_decref(li_stats_brief(st));
    struct li_stats *both[2] = {st, st};
    struct li_stats *m = li_stats_merge(both, 2);
    CHECK(m != NULL);
    li_stats_print(m, devnull);
    json_decref(li_stats_json(m));
    li_stats_free(m);
    li_stats_free(st);
}

static void check_exports(void)
{
    char err[512] = "";
    int rc = li_export_inspector(path, devnull, devnull, err, sizeof err);
    CHECK(rc == 0 || (rc == 2 && err[0]));
    for (int s2c = 0; s2c <= 1; s2c++) {
        rc = li_export_jsonrpc(path, s2c, devnull, devnull, err, sizeof err);
        CHECK(rc == 0 || (rc == 2 && err[0]));
    }
}

static void check_report(void)
{
    char err[512] = "";
    struct li_report *r = NULL;
    if (li_report_load(path, &r, devnull, err, sizeof err) != 0) {
        CHECK(r == NULL && strstr(err, path) != NULL);
        return;
    }
    char *data = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&data, &len);
    CHECK(m != NULL);
    CHECK(li_report_write_data(r, m) == 0);
    fclose(m);
    CHECK(memchr(data, '<', len) == NULL);
    json_t *v = json_loadb(data, len, JSON_ALLOW_NUL, NULL);
    CHECK(json_is_object(v));
    json_decref(v);
    free(data);
    CHECK(li_report_write_html(r, devnull) == 0);
    li_report_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    put(data, size);
    check_reader(data, size);
    check_stats();
    check_exports();
    check_report();
    return 0;
}
