#include "resume/lp_gate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "framing/lf.h"

void lp_gate_feed(struct lp_gate *g, const char *data, size_t len, lp_gate_frame_fn on_frame,
                  lp_gate_raw_fn on_raw, void *ud)
{
    if (g->raw_left) { /* the rest of an oversized frame */
        size_t n = len < g->raw_left ? len : (size_t)g->raw_left;
        on_raw(ud, data, n);
        g->raw_left -= n;
        data += n;
        len -= n;
    }
    if (!len) return;
    if (li_buf_reserve(&g->buf, len)) { /* no memory: pass everything on untouched */
        if (g->buf.len) on_raw(ud, g->buf.p, g->buf.len);
        li_buf_reset(&g->buf);
        on_raw(ud, data, len);
        return;
    }
    li_buf_put(&g->buf, data, len);
    while (g->buf.len) {
        struct lf_frame f;
        int r = lf_parse(g->buf.p, g->buf.len, 0, 0, &f, NULL);
        if (r == LF_PARTIAL) return;
        if (r > 0) {
            uint64_t total = (uint64_t)r + f.content_length;
            if (total > LP_GATE_MAX_FRAME) {
                size_t n = g->buf.len < total ? g->buf.len : (size_t)total;
                on_raw(ud, g->buf.p, n);
                g->raw_left = total - n;
                li_buf_consume(&g->buf, n);
                continue;
            }
            if (g->buf.len < total) return;
            on_frame(ud, g->buf.p, (size_t)total, (size_t)r);
            li_buf_consume(&g->buf, (size_t)total);
            continue;
        }
        /* Not a header: everything up to the next "Content-Length:" goes
         * on as it is (never the first byte again, or this would loop). */
        int found;
        size_t skip = 1 + lf_resync(g->buf.p + 1, g->buf.len - 1, &found);
        on_raw(ud, g->buf.p, skip);
        li_buf_consume(&g->buf, skip);
        if (!found) return;
    }
}

void lp_gate_flush(struct lp_gate *g, lp_gate_raw_fn on_raw, void *ud)
{
    if (g->buf.len) on_raw(ud, g->buf.p, g->buf.len);
    li_buf_reset(&g->buf);
}

int lp_gate_idle(const struct lp_gate *g)
{
    return g->buf.len == 0 && g->raw_left == 0;
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
