#include "resume/lp_gate.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "framing/lf.h"

/* The gate parses in the caller's chunk and copies only the start of a
 * frame the chunk ends in (and a possible "Content-Length:" cut by the
 * chunk's end after bytes that did not frame). `rest` counts the chunk's
 * bytes not yet handed out, so lp_gate_idle() asked from a callback says
 * whether anything follows the piece being handed out. */

/* Keeps data[0..len) for the next chunk; out of memory, it goes on as raw. */
static void keep(struct lp_gate *g, const char *data, size_t len, lp_gate_raw_fn on_raw, void *ud)
{
    if (li_buf_reserve(&g->buf, len)) {
        on_raw(ud, data, len);
        return;
    }
    li_buf_put(&g->buf, data, len);
}

/* A whole frame, or bytes that are not one, at data[0..len) with nothing
 * buffered: hands out what is decided and returns the bytes taken. */
static size_t feed_in_place(struct lp_gate *g, const char *data, size_t len,
                            lp_gate_frame_fn on_frame, lp_gate_raw_fn on_raw, void *ud)
{
    struct lf_frame f;
    int r = lf_parse(data, len, 0, 0, &f, NULL);
    if (r > 0) {
        uint64_t total = (uint64_t)r + f.content_length;
        if (total > LP_GATE_MAX_FRAME) { /* streamed through raw, never held whole */
            size_t n = len < total ? len : (size_t)total;
            g->raw_left = total - n;
            g->rest = len - n;
            on_raw(ud, data, n);
            return n;
        }
        if (len >= total) {
            g->rest = len - (size_t)total;
            on_frame(ud, data, (size_t)total, (size_t)r);
            return (size_t)total;
        }
    }
    if (r > 0 || r == LF_PARTIAL) { /* the chunk ends inside this frame */
        g->rest = 0;
        keep(g, data, len, on_raw, ud);
        return len;
    }
    /* Not a header: everything up to the next "Content-Length:" goes on as
     * it is (never the first byte again, or this would loop); a match cut
     * short by the chunk's end is kept. */
    int found;
    size_t skip = 1 + lf_resync(data + 1, len - 1, &found);
    g->rest = len - skip;
    on_raw(ud, data, skip);
    if (found) return skip;
    g->rest = 0;
    if (skip < len) keep(g, data + skip, len - skip, on_raw, ud);
    return len;
}

/* A frame began in an earlier chunk (its bytes in buf): takes from data
 * what it needs to be decided, and hands it out once it is. Returns the
 * bytes of data taken; buf is then empty, or all of data was taken. */
static size_t feed_buffered(struct lp_gate *g, const char *data, size_t len,
                            lp_gate_frame_fn on_frame, lp_gate_raw_fn on_raw, void *ud)
{
    struct lf_frame f;
    size_t pre = g->buf.len;
    int r = lf_parse(g->buf.p, pre, 0, 0, &f, NULL);
    /* The rest of the body, or enough to decide the header block. */
    size_t want = r > 0 ? (size_t)((uint64_t)r + f.content_length) - pre
                        : (pre < LF_MAX_HEADER_BLOCK ? LF_MAX_HEADER_BLOCK - pre : 1);
    size_t m = len < want ? len : want;
    if (li_buf_reserve(&g->buf, m)) { /* no memory: pass everything on untouched */
        size_t n = g->buf.len;
        g->buf.len = 0;
        g->rest = len;
        on_raw(ud, g->buf.p, n);
        g->rest = 0;
        on_raw(ud, data, len);
        return len;
    }
    li_buf_put(&g->buf, data, m);
    if (r <= 0) r = lf_parse(g->buf.p, g->buf.len, pre, 0, &f, NULL);
    size_t have = g->buf.len;
    if (r == LF_PARTIAL) return m; /* m == len: the block is still undecided */
    if (r > 0) {
        uint64_t total = (uint64_t)r + f.content_length;
        if (total > LP_GATE_MAX_FRAME) { /* have < total: it all goes on raw */
            g->raw_left = total - have;
            g->buf.len = 0;
            g->rest = len - m;
            on_raw(ud, g->buf.p, have);
            return m;
        }
        if (have < total) return m; /* m == len */
        /* The header block may have been decided with bytes past the frame:
         * those stay in data. */
        g->buf.len = 0;
        g->rest = len - ((size_t)total - pre);
        on_frame(ud, g->buf.p, (size_t)total, (size_t)r);
        return (size_t)total - pre;
    }
    int found;
    size_t skip = 1 + lf_resync(g->buf.p + 1, have - 1, &found);
    if (skip < pre) { /* the next start is among the earlier bytes: data waits */
        g->buf.len = pre;
        g->rest = len;
        on_raw(ud, g->buf.p, skip);
        li_buf_consume(&g->buf, skip);
        return 0;
    }
    g->buf.len = 0;
    g->rest = found ? len - (skip - pre) : (have - skip) + (len - m);
    on_raw(ud, g->buf.p, skip);
    if (found) return skip - pre;
    memmove(g->buf.p, g->buf.p + skip, have - skip); /* a "Content-Length:" cut short */
    g->buf.len = have - skip;
    return m;
}

size_t lp_gate_feed(struct lp_gate *g, const char *data, size_t len, lp_gate_frame_fn on_frame,
                    lp_gate_raw_fn on_raw, void *ud)
{
    size_t taken = 0;
    while (len) {
        size_t n;
        if (g->stop && !g->buf.len && !g->raw_left) break; /* a frame boundary: the caller's */
        if (g->raw_left) {                                 /* the rest of an oversized frame */
            n = len < g->raw_left ? len : (size_t)g->raw_left;
            g->raw_left -= n;
            g->rest = len - n;
            on_raw(ud, data, n);
        } else if (g->buf.len) {
            n = feed_buffered(g, data, len, on_frame, on_raw, ud);
        } else {
            n = feed_in_place(g, data, len, on_frame, on_raw, ud);
        }
        assert(n <= len); /* a step takes only bytes it was given */
        data += n;
        len -= n;
        taken += n;
    }
    if (g->stop && !g->buf.len && !g->raw_left) g->stop = 0;
    g->rest = 0;
    return taken;
}

void lp_gate_stop(struct lp_gate *g, int stop)
{
    g->stop = stop;
}

void lp_gate_flush(struct lp_gate *g, lp_gate_raw_fn on_raw, void *ud)
{
    if (g->buf.len) on_raw(ud, g->buf.p, g->buf.len);
    li_buf_reset(&g->buf);
    g->stop = 0;
}

const char *lp_gate_pending(const struct lp_gate *g, size_t *len)
{
    *len = g->buf.len;
    return g->buf.p;
}

int lp_gate_idle(const struct lp_gate *g)
{
    return g->buf.len == 0 && g->raw_left == 0 && g->rest == 0;
}

void lp_gate_free(struct lp_gate *g)
{
    li_buf_free(&g->buf);
    memset(g, 0, sizeof *g);
}

char *lp_rewrite_id(const char *body, size_t len, struct li_span id, const char *new_id,
                    size_t new_len, size_t *out_len)
{
    size_t off = (size_t)(id.p - body);
    size_t blen = len - id.len + new_len;
    char hdr[LF_HEADER_MAX_OUT];
    size_t hlen = lf_write_header(hdr, sizeof hdr, blen);
    char *out = malloc(hlen + blen);
    if (!out) return NULL;
    memcpy(out, hdr, hlen);
    memcpy(out + hlen, body, off);
    memcpy(out + hlen + off, new_id, new_len);
    memcpy(out + hlen + off + new_len, body + off + id.len, len - off - id.len);
    *out_len = hlen + blen;
    return out;
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static struct lp_identry *find(const struct lp_idset *s, const char *key, size_t klen)
{
    for (size_t i = 0; i < s->n; i++)
        if (strlen(s->e[i].key) == klen && !memcmp(s->e[i].key, key, klen)) return &s->e[i];
    return NULL;
}

int lp_idset_add(struct lp_idset *s, const char *key, size_t klen, const char *val, size_t vlen)
{
    if (find(s, key, klen)) return 0;
    struct lp_identry *ne = li_grow(s->e, &s->cap, s->n + 1, sizeof *ne);
    if (!ne) return -1;
    s->e = ne;
    s->e[s->n].key = dup_n(key, klen);
    s->e[s->n].val = dup_n(val ? val : "", val ? vlen : 0);
    if (!s->e[s->n].key || !s->e[s->n].val) {
        free(s->e[s->n].key);
        free(s->e[s->n].val);
        return -1;
    }
    s->n++;
    return 0;
}

const char *lp_idset_get(const struct lp_idset *s, const char *key, size_t klen)
{
    struct lp_identry *e = find(s, key, klen);
    return e ? e->val : NULL;
}

int lp_idset_del(struct lp_idset *s, const char *key, size_t klen)
{
    struct lp_identry *e = find(s, key, klen);
    if (!e) return 0;
    free(e->key);
    free(e->val);
    *e = s->e[--s->n];
    return 1;
}

void lp_idset_free(struct lp_idset *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->e[i].key);
        free(s->e[i].val);
    }
    free(s->e);
    memset(s, 0, sizeof *s);
}

char *lp_idset_restore(struct lp_idset *remap, const char *body, size_t len, struct li_span id,
                       size_t *out_len)
{
    const char *orig = lp_idset_get(remap, id.p, id.len);
    if (!orig) return NULL;
    char *out = lp_rewrite_id(body, len, id, orig, strlen(orig), out_len);
    lp_idset_del(remap, id.p, id.len);
    return out;
}

int lp_idset_route_reply(struct lp_idset *gone, struct lp_idset *remap, const char *frame,
                         size_t len, size_t hdr, const struct li_msg *m, const char **send,
                         size_t *send_len, char **fresh)
{
    *send = frame;
    *send_len = len;
    *fresh = NULL;
    if (m->kind != LI_K_RESPONSE || !m->id.p) return 0;
    if (lp_idset_del(gone, m->id.p, m->id.len)) return 1;
    *fresh = lp_idset_restore(remap, frame + hdr, len - hdr, m->id, send_len);
    if (*fresh)
        *send = *fresh;
    else
        *send_len = len;
    return 0;
}

char *lp_idset_remap(struct lp_idset *remap, const char *prefix, const char *body, size_t len,
                     struct li_span id, size_t *out_len, size_t *out_hdr)
{
    char nid[LP_IDSET_REMAP_MAX];
    int n;
    if (id.len && id.p[0] == '"')
        n = snprintf(nid, sizeof nid, "\"%ss:%.*s", prefix, (int)(id.len - 1), id.p + 1);
    else
        n = snprintf(nid, sizeof nid, "\"%sn:%.*s\"", prefix, (int)id.len, id.p);
    if (n < 0 || (size_t)n >= sizeof nid) return NULL;
    size_t nlen = (size_t)n;
    if (lp_idset_get(remap, nid, nlen) || lp_idset_add(remap, nid, nlen, id.p, id.len)) return NULL;
    char *out = lp_rewrite_id(body, len, id, nid, nlen, out_len);
    if (!out) {
        lp_idset_del(remap, nid, nlen);
        return NULL;
    }
    *out_hdr = *out_len - (len - id.len + nlen);
    return out;
}
