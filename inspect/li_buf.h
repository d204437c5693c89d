/*
 * li_buf — the one growable byte buffer: NUL-terminated text built with
 * unchecked appends, and byte queues (frames, replies, log lines) that are
 * appended to at the back and consumed from the front.
 *
 * An append that cannot grow the buffer sets `oom` and every later append
 * does nothing, so a caller builds a whole text with unchecked appends and
 * checks `oom` once at the end (the text is then cut short, not corrupt).
 * A caller that must know at once, or must add all of a piece or none of
 * it, calls li_buf_reserve first: it returns -ENOMEM and leaves `oom` alone,
 * and after it succeeds the appends that fit in what it reserved cannot fail.
 * Start from `struct li_buf b = {0}`; `p` is NULL until the first append or
 * reserve, then always NUL-terminated (the bytes may hold NULs: `len` is the
 * length); the caller owns `p` (li_buf_free, or li_buf_steal and free it).
 * Not thread-safe: one owner, or the owner's lock.
 */
#ifndef LSPTAP_INSPECT_LI_BUF_H
#define LSPTAP_INSPECT_LI_BUF_H

#include <stddef.h>
#include <string.h>

struct li_buf {
    char *p;
    size_t len, cap;
    int oom;
};

/* The growing paths of li_buf_reserve and li_buf_put; call those. */
int li_buf_reserve_grow(struct li_buf *b, size_t more);
void li_buf_put_grow(struct li_buf *b, const char *s, size_t n);

/* Makes room for `more` bytes past len (and the NUL), doubling from 256.
 * 0, or -ENOMEM (the buffer unchanged, `oom` not set); -ENOMEM too when the
 * buffer is already `oom`. Inline like li_buf_put: queues on the relay's
 * path reserve once a piece. */
static inline int li_buf_reserve(struct li_buf *b, size_t more)
{
    return !b->oom && b->cap - b->len > more ? 0 : li_buf_reserve_grow(b, more);
}

/* Appends n bytes of s (which may hold NULs). Inline because session lines
 * are built from many small appends on the relay's path: the common case
 * (it fits) is a compare and a copy. */
static inline void li_buf_put(struct li_buf *b, const char *s, size_t n)
{
    if (!b->oom && b->cap - b->len > n) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = '\0';
    } else {
        li_buf_put_grow(b, s, n);
    }
}

/* Appends the C string s. */
void li_buf_str(struct li_buf *b, const char *s);
/* Appends one byte. */
void li_buf_ch(struct li_buf *b, char c);
/* Drops the first n bytes (n <= len), moving the rest to the front: the
 * buffer as a queue. Keeps the storage. */
void li_buf_consume(struct li_buf *b, size_t n);
/* Empties the buffer and clears `oom`, keeping the storage for reuse. */
void li_buf_reset(struct li_buf *b);
/* Hands the storage to the caller (NULL if nothing was ever appended; the
 * length in *len when len is not NULL) and leaves an empty buffer. */
char *li_buf_steal(struct li_buf *b, size_t *len);
/* Frees the text and leaves an empty buffer. */
void li_buf_free(struct li_buf *b);

/* Grows the array v of *cap elements of elem bytes to hold at least need
 * (>= 1) elements, doubling from 8 so a run of appends costs amortised O(1).
 * Returns the array (v itself when it is already big enough; *cap updated
 * when it grew: store the result over v), or NULL on overflow or no memory,
 * v and *cap untouched. It returns the pointer rather than writing through
 * a void ** so callers keep their typed pointers without aliasing casts:
 *     struct x *nv = li_grow(s->v, &s->cap, s->n + 1, sizeof *nv);
 *     if (!nv) return -ENOMEM;
 *     s->v = nv;
 */
void *li_grow(void *v, size_t *cap, size_t need, size_t elem);

#endif
