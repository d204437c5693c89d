/* libFuzzer: li_redact, li_redact_value and li_escape on any bytes. The
 * input's first line is the value of a secret-named variable (FUZZ_TOKEN)
 * and of a proxy variable (HTTPS_PROXY); the rest is the text. Never a
 * crash; the reported lengths are the real ones; the secret (4 bytes or
 * more, and not made of REDACTED's own letters, which a mask next to a
 * neighbour could spell again) never survives redaction; the escaped text
 * holds no control character and is valid UTF-8. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/li_escape.h"
#include "inspect/li_json.h"
#include "inspect/li_redact.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_redact: %s:%d: %s\n", __FILE__, __LINE__, #cond);                \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    const char *nl = memchr(in, '\n', size);
    size_t vl = nl ? (size_t)(nl - in) : 0;
    const char *text = nl ? nl + 1 : in;
    size_t tl = size - (size_t)(text - in);
    char *value = strndup(in, vl);
    CHECK(value != NULL);
    size_t sl = strlen(value); /* a NUL ends an environment value */
    char *e1 = malloc(sl + 16), *e2 = malloc(sl + 16);
    CHECK(e1 && e2);
    snprintf(e1, sl + 16, "FUZZ_TOKEN=%s", value);
    snprintf(e2, sl + 16, "HTTPS_PROXY=%s", value);
    char *env[] = {e1, e2, "PATH=/usr/bin:/bin", NULL};

    size_t rl = 0;
    char *r = li_redact(text, tl, env, &rl);
    CHECK(r != NULL);
    CHECK(r[rl] == '\0');
    if (sl >= 4 && !strpbrk(value, "REDACT")) CHECK(memmem(r, rl, value, sl) == NULL);

    char out[256];
    li_redact_value("HTTPS_PROXY", value, env, out, sizeof out);
    CHECK(memchr(out, '\0', sizeof out) != NULL);

    char *esc = li_escape_dup(r, rl, 0);
    CHECK(esc != NULL);
    size_t el = strlen(esc);
    CHECK(el == li_escape(r, rl, 0, NULL, 0));
    for (size_t i = 0; i < el; i++)
        CHECK((unsigned char)esc[i] >= 0x20 && esc[i] != 0x7f);
    CHECK(li_utf8_valid_prefix(esc, el) == el);
    /* A cut buffer holds a prefix of the whole. */
    char small[17];
    li_escape(r, rl, 0, small, sizeof small);
    CHECK(strncmp(small, esc, strlen(small)) == 0);
    free(esc);
    free(r);
    free(e1);
    free(e2);
    free(value);
    return 0;
}
