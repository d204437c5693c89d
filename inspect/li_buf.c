#include "inspect/li_buf.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

void li_buf_put(struct li_buf *b, const char *s, size_t n)
{
    if (b->oom) return;
    assert(b->p ? b->len < b->cap : b->len == 0); /* room for the NUL, always */
    if (n > (size_t)-1 / 2 - b->len) {
        b->oom = 1;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void li_buf_str(struct li_buf *b, const char *s)
{
    li_buf_put(b, s, strlen(s));
}

void li_buf_ch(struct li_buf *b, char c)
{
    li_buf_put(b, &c, 1);
}

void li_buf_free(struct li_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}
