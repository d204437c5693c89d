#include "inspect/li_buf.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int li_buf_reserve_grow(struct li_buf *b, size_t more)
{
    if (b->oom) return -ENOMEM;
    assert(b->p ? b->len < b->cap : b->len == 0); /* room for the NUL, always */
    if (b->p && b->cap - b->len > more) return 0;
    if (more > SIZE_MAX / 2 - b->len) return -ENOMEM;
    size_t need = b->len + more + 1, cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return -ENOMEM;
    if (!b->p) p[0] = '\0';
    b->p = p;
    b->cap = cap;
    return 0;
}

void li_buf_put_grow(struct li_buf *b, const char *s, size_t n)
{
    if (li_buf_reserve_grow(b, n)) {
        b->oom = 1;
        return;
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

void li_buf_consume(struct li_buf *b, size_t n)
{
    assert(n <= b->len);
    if (!n) return;
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
    b->p[b->len] = '\0';
}

void li_buf_reset(struct li_buf *b)
{
    b->len = 0;
    b->oom = 0;
    if (b->p) b->p[0] = '\0';
}

char *li_buf_steal(struct li_buf *b, size_t *len)
{
    char *p = b->p;
    if (len) *len = b->len;
    b->p = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
    return p;
}

void li_buf_free(struct li_buf *b)
{
    free(li_buf_steal(b, NULL));
}

void *li_grow(void *v, size_t *cap, size_t need, size_t elem)
{
    assert(need >= 1 && elem >= 1);
    if (need <= *cap) return v;
    size_t nc = *cap ? *cap : 8;
    while (nc < need) {
        if (nc > SIZE_MAX / 2) return NULL;
        nc *= 2;
    }
    if (nc > SIZE_MAX / elem) return NULL;
    void *nv = realloc(v, nc * elem);
    if (!nv) return NULL;
    *cap = nc;
    return nv;
}
