/* libFuzzer: li_scrub on any bytes, as free text and as a session line.
 * A scrubbed line must keep its shape: the same keys count, array lengths,
 * numbers, booleans and nulls in the same places, strings where strings
 * were, and it must dump to one line that loads again. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect/li_scrub.h"

static int secret(const char *name)
{
    return strstr(name, "TOKEN") != NULL;
}

static void same_shape(json_t *a, json_t *b)
{
    if (json_typeof(a) != json_typeof(b)) abort();
    switch (json_typeof(a)) {
    case JSON_OBJECT: {
        if (json_object_size(a) != json_object_size(b)) abort();
        void *ia = json_object_iter(a), *ib = json_object_iter(b);
        for (; ia && ib; ia = json_object_iter_next(a, ia), ib = json_object_iter_next(b, ib))
            same_shape(json_object_iter_value(ia), json_object_iter_value(ib));
        if (ia || ib) abort();
        break;
    }
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b)) abort();
        for (size_t i = 0; i < json_array_size(a); i++)
            same_shape(json_array_get(a, i), json_array_get(b, i));
        break;
    case JSON_INTEGER:
        if (json_integer_value(a) != json_integer_value(b)) abort();
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct li_scrub *s = li_scrub_new(secret);
    if (!s) return 0;
    char *t = li_scrub_text(s, (const char *)data, size);
    free(t);
    json_t *line = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL);
    if (json_is_object(line)) {
        json_t *orig = json_deep_copy(line);
        li_scrub_learn(s, line);
        if (orig && li_scrub_line(s, line) == 0) {
            /* The header gains "scrubbed": compare without it. */
            if (json_object_get(orig, "lsptap") && !json_object_get(orig, "scrubbed"))
                json_object_del(line, "scrubbed");
            same_shape(orig, line);
            char *d = json_dumps(line, JSON_COMPACT);
            if (!d || strchr(d, '\n')) abort();
            json_t *back = json_loads(d, JSON_ALLOW_NUL, NULL);
            if (!back) abort();
            json_decref(back);
            free(d);
        }
        json_decref(orig);
    }
    json_decref(line);
    li_scrub_free(s);
    return 0;
}
