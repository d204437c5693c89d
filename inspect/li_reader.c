#include "inspect/li_reader.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct li_reader {
    FILE *f;
    char *path;
    char *line;
    size_t cap;
    size_t lineno;
    size_t truncated;
    size_t max;
};

static const char *kind_of(mode_t m)
{
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISDIR(m)) return "a directory";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    return "not a plain file";
}

FILE *li_open_regular(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file (%s)", path, kind_of(st.st_mode));
        close(fd);
        return NULL;
    }
    /* A regular file never blocks; readers that follow it (tail) expect
     * plain reads. */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

long long li_read_line(FILE *f, char **buf, size_t *cap, size_t max, int *nomem)
{
    long long n = 0;
    int c;
    if (nomem) *nomem = 0;
    flockfile(f);
    while ((c = getc_unlocked(f)) != EOF) {
        if ((size_t)n < max && (size_t)n + 2 > *cap) {
            size_t nc = *cap ? *cap * 2 : 4096;
            if (nc > max + 2) nc = max + 2;
            char *nb = realloc(*buf, nc);
            if (nb) {
                *buf = nb;
                *cap = nc;
            } else {
                /* Keep what fits and read on to the line's end. */
                if (nomem) *nomem = 1;
                max = *cap > 2 ? *cap - 2 : 0;
            }
        }
        if ((size_t)n < max) {
            assert((size_t)n + 2 <= *cap); /* the byte and the NUL fit */
            (*buf)[n] = (char)c;
        }
        n++;
        if (c == '\n') break;
    }
    int bad = ferror(f);
    funlockfile(f);
    if (bad) return -1;
    if (*buf && *cap) (*buf)[(size_t)n < max ? (size_t)n : max] = '\0';
    return n;
}

struct li_reader *li_reader_open(const char *path, char *err, size_t errlen)
{
    struct li_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        snprintf(err, errlen, "cannot read %s: out of memory", path);
        return NULL;
    }
    r->max = LI_READER_LINE_MAX;
    if (!(r->f = li_open_regular(path, err, errlen))) {
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

void li_reader_set_line_max(struct li_reader *r, size_t max)
{
    if (max && max < LI_READER_LINE_MAX) r->max = max;
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
        int nomem;
        long long n = li_read_line(r->f, &r->line, &r->cap, r->max, &nomem);
        if (n < 0) {
            snprintf(err, errlen, "cannot read %s: %s", r->path, strerror(errno ? errno : EIO));
            return LI_READ_ERROR;
        }
        if (n == 0) return LI_READ_EOF;
        r->lineno++;
        if (lineno) *lineno = r->lineno;
        if (nomem) {
            snprintf(err, errlen, "%s:%zu: out of memory reading a line of %lld bytes; skipped",
                     r->path, r->lineno, n);
            return LI_READ_BAD;
        }
        if ((unsigned long long)n > r->max) {
            snprintf(err, errlen,
                     "%s:%zu: line of %lld bytes is longer than the reader's limit of %zu bytes; "
                     "skipped",
                     r->path, r->lineno, n, r->max);
            return LI_READ_BAD;
        }
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
