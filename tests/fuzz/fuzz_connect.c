/* libFuzzer: ln_connect_reply, what netcheck and `lsptap doctor --net` make
 * of an HTTP proxy's answer to CONNECT, on an exact-size copy of any bytes
 * (ASan sees a read past them), with status buffers of every size from 1 to
 * 24 bytes (allocated to the exact size, so a byte written past one shows)
 * and a full one. Never a crash; the result is a code from 0 to 999, -EPROTO,
 * or -ECONNRESET exactly when nothing was read, whatever the buffer's size;
 * the status is terminated in its buffer, printable ASCII, and a cut one is
 * a prefix of the full one (but for ln_escape's "..." at the cut); a code is returned only for a
 * first line go's http.ReadResponse would take (checked here another way, with sscanf). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netcheck/ln_connect.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_connect: %s:%d: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The code go would read from the first line, or -1: "HTTP/D.D", spaces,
 * three digits, then a space or the end. Only for a line without a NUL
 * (sscanf stops there); -2 for one with a NUL: no opinion. */
static int go_code(const char *buf, size_t size)
{
    size_t ll = 0;
    while (ll < size && buf[ll] != '\r' && buf[ll] != '\n')
        ll++;
    if (memchr(buf, '\0', ll)) return -2;
    char *line = strndup(buf, ll);
    CHECK(line);
    unsigned maj, min;
    char digits[4] = "", after = '\0';
    int at = -1, code = -1;
    if (sscanf(line, "HTTP/%1u.%1u%n", &maj, &min, &at) == 2 && at == 8 && line[8] == ' ' &&
        line[5] >= '0' && line[5] <= '9' && line[7] >= '0' && line[7] <= '9') {
        const char *p = line + 8;
        while (*p == ' ') /* go trims spaces only; sscanf's " " would take tabs too */
            p++;
        if (sscanf(p, "%3[0123456789]%c", digits, &after) >= 1 && strlen(digits) == 3 &&
            (after == '\0' || after == ' '))
            code = atoi(digits);
    }
    free(line);
    return code;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    char full[160];
    int rc = ln_connect_reply(buf, size, full, sizeof full);
    CHECK(memchr(full, '\0', sizeof full));
    for (const char *p = full; *p; p++)
        CHECK(*p >= 0x20 && *p < 0x7f);
    CHECK(rc == -EPROTO || rc == -ECONNRESET || (rc >= 0 && rc <= 999));
    CHECK((rc == -ECONNRESET) == (size == 0));
    if (size) {
        /* the go-like oracle reads a NUL-terminated copy */
        char *z = malloc(size + 1);
        CHECK(z);
        memcpy(z, buf, size);
        z[size] = '\0';
        int want = go_code(z, size);
        free(z);
        if (want != -2) CHECK(rc == (want < 0 ? -EPROTO : want));
    }
    for (size_t cap = 1; cap <= 24; cap++) {
        char *st = malloc(cap);
        CHECK(st);
        CHECK(ln_connect_reply(buf, size, st, cap) == rc);
        CHECK(memchr(st, '\0', cap));
        size_t k = strlen(st); /* a cut line ends with "..." (ln_escape) */
        while (k && st[k - 1] == '.')
            k--;
        CHECK(!strncmp(st, full, k));
        free(st);
    }
    free(buf);
    return 0;
}
