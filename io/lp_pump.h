/*
 * lp_pump — one direction of a relay: bytes read from src are written to dst
 * unchanged, then shown to the inspector (forward first, docs/design.md
 * principle 1). Any libuv streams: pipes, TCP, the child's stdio.
 *
 * Backpressure with hysteresis: src stops being read when dst's write queue
 * passes `high` and resumes once it is at or below `low` (so low 0 means
 * "when dst has taken everything", not "never"). At src EOF the owner passes
 * the end on with lp_pump_shutdown_dst (from on_src_end): dst's write side is
 * shut down after the queued writes (a half-close), unless keep_dst_open is
 * set. A failed write marks dst dead: later bytes are read, counted as
 * discarded and still inspected, so the peer never blocks.
 *
 * The read buffer travels on as the write request and is freed when the
 * write completes. src->data is owned by the pump.
 */
#ifndef LSPTAP_IO_LP_PUMP_H
#define LSPTAP_IO_LP_PUMP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct lp_pump;

/* How a pump reads its src or writes its dst when that stream carries a
 * protocol of its own (TLS: io/lp_tls.h). Each has the contract of the
 * libuv call it stands for (uv_read_start, uv_read_stop, uv_write,
 * uv_shutdown), on the object io behind the stream. */
struct lp_stream_ops {
    int (*read_start)(void *io, uv_alloc_cb alloc_cb, uv_read_cb read_cb);
    int (*read_stop)(void *io);
    int (*write)(void *io, uv_write_t *req, const uv_buf_t *buf, uv_write_cb cb);
    int (*shutdown)(void *io, uv_shutdown_t *req, uv_shutdown_cb cb);
};

struct lp_pump_cb {
    /* Bytes just read (already queued to dst, or discarded). May be NULL. */
    void (*on_bytes)(struct lp_pump *p, const char *data, size_t len);
    /* src ended: status is UV_EOF or a read error. src is stopped already
     * (and closing, unless close_src is 0). */
    void (*on_src_end)(struct lp_pump *p, int status);
    /* The first failed write to dst (not called for UV_ECANCELED). */
    void (*on_dst_error)(struct lp_pump *p, int status);
    /* Something changed that may let the owner finish (a write completed,
     * dst's shutdown completed). May be NULL. */
    void (*on_progress)(struct lp_pump *p);
};

struct lp_pump {
    uv_stream_t *src, *dst;
    const struct lp_pump_cb *cb;
    void *data; /* the owner's */
    size_t high, low;
    int keep_dst_open; /* do not shut dst down at src EOF (our stderr) */
    int close_dst;     /* uv_close dst once its shutdown completed (default 1) */
    int close_src;     /* uv_close src at its EOF (default 1); a socket that is both
                          one pump's src and the other's dst is closed by its owner */
    int src_eof, paused, dst_dead, dst_shut, dst_done;
    size_t writes; /* writes in flight */
    /* When set, bytes read are given to the filter instead of being written
     * to dst; it forwards what it decides with lp_pump_write (and feeds the
     * inspector itself). on_bytes is not called then. */
    void (*filter)(struct lp_pump *p, const char *data, size_t len);
    uint64_t read, written, discarded;
    const struct lp_stream_ops *src_ops, *dst_ops; /* NULL: plain libuv calls */
    void *src_io, *dst_io;
};

void lp_pump_init(struct lp_pump *p, uv_stream_t *src, uv_stream_t *dst, size_t high, size_t low,
                  const struct lp_pump_cb *cb, void *data);

/* Reads src (or writes dst) through ops on io instead of libuv directly.
 * Call before lp_pump_start. */
void lp_pump_src_ops(struct lp_pump *p, const struct lp_stream_ops *ops, void *io);
void lp_pump_dst_ops(struct lp_pump *p, const struct lp_stream_ops *ops, void *io);

/* Starts reading src. Returns 0 or a libuv error. */
int lp_pump_start(struct lp_pump *p);

/* Ends the source now (as if EOF): stops and closes src; no callback. */
void lp_pump_stop_src(struct lp_pump *p);

/* Passes EOF on: shuts dst down after the queued writes (or just marks it
 * done when keep_dst_open or dead). Idempotent. */
void lp_pump_shutdown_dst(struct lp_pump *p);

/* Queues a copy of data to dst (for filters and lsptap's own messages).
 * Returns 0, or a libuv error (then nothing was queued). */
int lp_pump_write(struct lp_pump *p, const char *data, size_t len);

/* Points the pump at a new plain destination (the server was restarted). Writes
 * still in flight to the old one complete or fail without affecting it. */
void lp_pump_set_dst(struct lp_pump *p, uv_stream_t *dst);

/* 1 when nothing is in flight and dst is finished. */
int lp_pump_idle(const struct lp_pump *p);

/* uv_close unless already closing. */
void lp_close_once(uv_handle_t *h);

/* Keeps the last cap bytes of a stream in buf (*len bytes used): the
 * server's stderr tail that a crash report needs. */
void lp_tail_keep(char *buf, size_t cap, size_t *len, const char *data, size_t n);

#endif
