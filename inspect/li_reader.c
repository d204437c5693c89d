#include "inspect/li_reader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct li_reader {
    FILE *f;
    char *path;
    char *line;
    size_t cap;
    size_t lineno;
    size_t truncated;
};

struct li_reader *li_reader_open(const char *path, char *err, size_t errlen)
{
    struct li_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        snprintf(err, errlen, "cannot read %s: out of memory", path);
        return NULL;
    }
    r->f = fopen(path, "rb");
    if (!r->f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        li_reader_close(r);
        return NULL;
    }
    return r;
}

void li_reader_close(struct li_reader *r)
{
    if (!r) return;
    if (r->f) fclose(r->f);
    free(r->line);
    free(r->path);
    free(r);
}

size_t li_reader_truncated(const struct li_reader *r)
{
    return r->truncated;
}

int li_reader_next(struct li_reader *r, json_t **out, size_t *lineno, char *err, size_t errlen)
{
    *out = NULL;
    for (;;) {
        errno = 0;
        ssize_t n = getline(&r->line, &r->cap, r->f);
        if (n < 0) {
            if (ferror(r->f)) {
                snprintf(err, errlen, "cannot read %s: %s", r->path, strerror(errno ? errno : EIO));
                return LI_READ_ERROR;
            }
            return LI_READ_EOF;
        }
        r->lineno++;
        if (lineno) *lineno = r->lineno;
        int complete = r->line[n - 1] == '\n';
        size_t len = (size_t)n - (size_t)complete;
        if (len == 0 || (len == 1 && r->line[0] == '\r')) continue;
        json_error_t je;
        json_t *v = json_loadb(r->line, len, JSON_ALLOW_NUL, &je);
        if (v && json_is_object(v)) {
            *out = v;
            return LI_READ_LINE;
        }
        json_decref(v);
        if (!complete) {
            /* No newline after it: the writer stopped mid-line (a crash). */
            r->truncated = r->lineno;
            return LI_READ_EOF;
        }
        if (v)
            snprintf(err, errlen, "%s:%zu: malformed line: not a JSON object", r->path, r->lineno);
        else
            snprintf(err, errlen, "%s:%zu: malformed line: %s (column %d)", r->path, r->lineno,
                     je.text, je.column);
        return LI_READ_BAD;
    }
}
