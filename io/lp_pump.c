#include "io/lp_pump.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#ifndef CHUNK_SIZE
#define CHUNK_SIZE (64 * 1024)
#endif
#define CHUNK_CACHE 32 /* freed chunks kept for reuse: 2 MiB at most */

/* A write in flight; its bytes follow it in a chunk or an owned block. */
struct wreq {
    uv_write_t req;
    struct lp_pump *p;
    uv_stream_t *dst; /* where it was written: the pump's dst may change */
    size_t len;
    int owned; /* an owned block (free it), else a chunk (back to the cache) */
};

/* A read buffer, which goes on as the write of what was read. */
struct chunk {
    struct wreq w;
    char data[CHUNK_SIZE];
};

/* A write of lp_pump_write: any size, not from the chunk cache. */
struct owned {
    struct wreq w;
    char data[];
};

void lp_close_once(uv_handle_t *h)
{
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

void lp_tail_keep(char *buf, size_t cap, size_t *len, const char *data, size_t n)
{
    assert(*len <= cap);
    if (n >= cap) {
        memcpy(buf, data + n - cap, cap);
        *len = cap;
        return;
    }
    if (*len + n > cap) {
        size_t drop = *len + n - cap;
        memmove(buf, buf + drop, *len - drop);
        *len -= drop;
    }
    memcpy(buf + *len, data, n);
    *len += n;
}

static void progress(struct lp_pump *p)
{
    if (p->cb->on_progress) p->cb->on_progress(p);
}

/* Reusing chunks spares the allocator's trim-and-refault cycle, which cost
 * more than the copies themselves in the throughput benchmark. One loop
 * thread uses the cache, so it needs no lock. */
static struct chunk *cache[CHUNK_CACHE];
static int cached;

static struct chunk *chunk_get(void)
{
    return cached ? cache[--cached] : malloc(sizeof(struct chunk));
}

static void chunk_put(struct chunk *c)
{
    if (!c) return;
    if (cached < CHUNK_CACHE)
        cache[cached++] = c;
    else
        free(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    struct chunk *c = chunk_get();
    *buf = c ? uv_buf_init(c->data, CHUNK_SIZE) : uv_buf_init(NULL, 0);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static int src_read_start(struct lp_pump *p)
{
    if (p->src_ops) return p->src_ops->read_start(p->src_io, on_alloc, on_read);
    return uv_read_start(p->src, on_alloc, on_read);
}

static void src_read_stop(struct lp_pump *p)
{
    if (p->src_ops)
        p->src_ops->read_stop(p->src_io);
    else
        uv_read_stop(p->src);
}

static int dst_write(struct lp_pump *p, uv_write_t *req, const uv_buf_t *b, uv_write_cb cb)
{
    if (p->dst_ops) return p->dst_ops->write(p->dst_io, req, b, cb);
    return uv_write(req, p->dst, b, 1, cb);
}

static void resume(struct lp_pump *p)
{
    if (p->paused && !p->src_eof && p->dst->write_queue_size <= p->low) {
        p->paused = 0;
        src_read_start(p);
    }
}

/* Backpressure: stop reading src while dst's queue is over the high mark
 * (resume() starts it again at the low mark). */
static void pause_if_full(struct lp_pump *p)
{
    if (!p->paused && p->dst->write_queue_size > p->high) {
        p->paused = 1;
        src_read_stop(p);
    }
}

static void dst_failed(struct lp_pump *p, int status)
{
    if (p->dst_dead) return;
    p->dst_dead = 1;
    if (p->cb->on_dst_error) p->cb->on_dst_error(p, status);
}

/* Both kinds of write end here. */
static void on_write(uv_write_t *req, int status)
{
    struct wreq *w = (struct wreq *)req;
    struct lp_pump *p = w->p;
    assert(p->writes > 0);
    p->writes--;
    if (status == 0) {
        p->written += w->len;
    } else {
        p->discarded += w->len;
        if (status != UV_ECANCELED && w->dst == p->dst) dst_failed(p, status);
    }
    if (w->owned)
        free(w);
    else
        chunk_put((struct chunk *)w);
    resume(p);
    progress(p);
}

int lp_pump_write(struct lp_pump *p, const char *data, size_t len)
{
    if (!len) return 0;
    if (p->dst_dead || p->dst_shut) {
        p->discarded += len;
        return UV_EPIPE;
    }
    struct owned *o = malloc(sizeof *o + len);
    if (!o) return UV_ENOMEM;
    o->w = (struct wreq){.p = p, .dst = p->dst, .len = len, .owned = 1};
    memcpy(o->data, data, len);
    uv_buf_t b = uv_buf_init(o->data, (unsigned)len);
    int r = dst_write(p, &o->w.req, &b, on_write);
    if (r) {
        free(o);
        p->discarded += len;
        dst_failed(p, r);
        return r;
    }
    p->writes++;
    return 0;
}

void lp_pump_set_dst(struct lp_pump *p, uv_stream_t *dst)
{
    p->dst = dst;
    p->dst_ops = NULL;
    p->dst_io = NULL;
    p->dst_dead = p->dst_shut = p->dst_done = 0;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct lp_pump *p = s->data;
    struct chunk *c = buf->base ? (struct chunk *)(buf->base - offsetof(struct chunk, data)) : NULL;
    if (nread > 0 && c) {
        size_t n = (size_t)nread;
        int queued = 0;
        p->read += n;
        c->w = (struct wreq){.p = p, .dst = p->dst, .len = n};
        if (p->filter) {
            p->filter(p, c->data, n);
            chunk_put(c);
            pause_if_full(p);
            return;
        }
        if (!p->dst_dead) {
            uv_buf_t b = uv_buf_init(c->data, (unsigned)n);
            int r = dst_write(p, &c->w.req, &b, on_write);
            if (r == 0) {
                queued = 1;
                p->writes++;
            } else {
                dst_failed(p, r); /* the reason itself (TLS: UV_EPROTO), as lp_pump_write does */
            }
        }
        if (!queued) p->discarded += n;
        /* Forward first: only now does anything look at the bytes. */
        if (p->cb->on_bytes) p->cb->on_bytes(p, c->data, n);
        if (!queued) chunk_put(c);
        pause_if_full(p);
        return;
    }
    chunk_put(c);
    if (nread == 0) return;
    p->src_eof = 1;
    src_read_stop(p);
    if (p->close_src) lp_close_once((uv_handle_t *)s);
    if (p->cb->on_src_end) p->cb->on_src_end(p, (int)nread);
    progress(p);
}

void lp_pump_init(struct lp_pump *p, uv_stream_t *src, uv_stream_t *dst, size_t high, size_t low,
                  const struct lp_pump_cb *cb, void *data)
{
    assert(low <= high); /* the hysteresis: lp_config keeps low below high */
    *p = (struct lp_pump){.src = src,
                          .dst = dst,
                          .cb = cb,
                          .data = data,
                          .high = high,
                          .low = low,
                          .close_dst = 1,
                          .close_src = 1};
    src->data = p;
}

void lp_pump_src_ops(struct lp_pump *p, const struct lp_stream_ops *ops, void *io)
{
    p->src_ops = ops;
    p->src_io = io;
}

void lp_pump_dst_ops(struct lp_pump *p, const struct lp_stream_ops *ops, void *io)
{
    p->dst_ops = ops;
    p->dst_io = io;
}

int lp_pump_start(struct lp_pump *p)
{
    return src_read_start(p);
}

void lp_pump_stop_src(struct lp_pump *p)
{
    if (p->src_eof) return;
    p->src_eof = 1;
    src_read_stop(p);
    if (p->close_src) lp_close_once((uv_handle_t *)p->src);
}

static void shutdown_done(uv_shutdown_t *req, int status)
{
    struct lp_pump *p = req->data;
    (void)status;
    free(req);
    p->dst_done = 1;
    if (p->close_dst) lp_close_once((uv_handle_t *)p->dst);
    progress(p);
}

void lp_pump_shutdown_dst(struct lp_pump *p)
{
    if (p->dst_shut) return;
    p->dst_shut = 1;
    if (p->keep_dst_open) {
        p->dst_done = 1;
        return;
    }
    if (!p->dst_dead && !uv_is_closing((uv_handle_t *)p->dst)) {
        uv_shutdown_t *req = malloc(sizeof *req);
        if (req) {
            req->data = p;
            int r = p->dst_ops ? p->dst_ops->shutdown(p->dst_io, req, shutdown_done)
                               : uv_shutdown(req, p->dst, shutdown_done);
            if (!r) return;
            free(req);
        }
    }
    p->dst_done = 1;
    if (p->close_dst) lp_close_once((uv_handle_t *)p->dst);
}

int lp_pump_idle(const struct lp_pump *p)
{
    return p->writes == 0 && p->dst_done;
}
