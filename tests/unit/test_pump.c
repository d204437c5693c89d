/*
 * io/lp_pump on a real libuv loop over socketpairs: forwarding (order,
 * forward before inspect, counters), backpressure with hysteresis (pause above
 * the high mark, no resume between the marks, resume at or below the low mark,
 * low mark 0 included), half-close (EOF becomes a shutdown of dst after every
 * queued byte; the other direction keeps flowing), a dead destination and a
 * source read error.
 *
 * The test's ends are plain uv pipes on the other halves of the socketpairs.
 * What the pump does to its source is observed through an lp_stream_ops table
 * (the hook TLS uses) that counts read_start/read_stop and notes the
 * destination's write queue at each call. Nothing here waits for time: each
 * test runs the loop until a condition holds, and a deadline timer fails it
 * instead of hanging if the condition never comes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "io/lp_pump.h"
#include "uvtest.h"

#define DEADLINE_MS 12000 /* 8 tests stay under run-unit.sh's 120 s */
#define KB 1024

/* ---- the test's ends of the socketpairs ---- */

struct peer {
    uv_pipe_t pipe;
    char rbuf[16 * KB]; /* small reads: the destination drains in many steps */
    char *got;
    size_t got_len, got_cap;
    int eof, read_err;
    size_t eof_at; /* got_len when EOF arrived */
    uv_write_t wreq[8];
    int nwrites, writes_done, write_err;
    uv_shutdown_t sreq;
    int shut_done;
};

static void peer_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct peer *e = h->data;
    *buf = uv_buf_init(e->rbuf, sizeof e->rbuf);
}

static void peer_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct peer *e = s->data;
    if (n > 0) {
        if (e->got_len + (size_t)n > e->got_cap) {
            e->got_cap = (e->got_len + (size_t)n) * 2;
            e->got = realloc(e->got, e->got_cap);
            assert_non_null(e->got);
        }
        memcpy(e->got + e->got_len, buf->base, (size_t)n);
        e->got_len += (size_t)n;
    } else if (n == UV_EOF) {
        e->eof = 1;
        e->eof_at = e->got_len;
    } else if (n < 0) {
        e->read_err = (int)n;
    }
}

static void peer_start_reading(struct peer *e)
{
    assert_int_equal(uv_read_start((uv_stream_t *)&e->pipe, peer_alloc, peer_read), 0);
}

static void peer_written(uv_write_t *req, int status)
{
    struct peer *e = req->data;
    e->writes_done++;
    if (status) e->write_err = status;
}

/* Queues data (which must outlive the write) to the pump's side. */
static void peer_write(struct peer *e, const char *data, size_t len)
{
    assert_true(e->nwrites < (int)(sizeof e->wreq / sizeof e->wreq[0]));
    uv_write_t *req = &e->wreq[e->nwrites++];
    req->data = e;
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    assert_int_equal(uv_write(req, (uv_stream_t *)&e->pipe, &b, 1, peer_written), 0);
}

static void peer_shut(uv_shutdown_t *req, int status)
{
    struct peer *e = req->data;
    e->shut_done = status ? status : 1;
}

/* EOF to the pump's side once the queued writes are out. */
static void peer_shutdown(struct peer *e)
{
    e->sreq.data = e;
    assert_int_equal(uv_shutdown(&e->sreq, (uv_stream_t *)&e->pipe, peer_shut), 0);
}

/* A socketpair: the pump's half in *mine, the test's in e. Small kernel
 * buffers, whatever the sysctl defaults: queues build up after a few KiB, and
 * one writable event moves at most a few chunks, so the write queue steps down
 * in small steps the hysteresis tests can watch. */
static void pair(uv_pipe_t *mine, struct peer *e)
{
    int sv[2], sndbuf = 32 * KB;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf), 0);
    assert_int_equal(uv_pipe_init(&uvtest_loop, mine, 0), 0);
    assert_int_equal(uv_pipe_open(mine, sv[0]), 0);
    assert_int_equal(uv_pipe_init(&uvtest_loop, &e->pipe, 0), 0);
    assert_int_equal(uv_pipe_open(&e->pipe, sv[1]), 0);
    e->pipe.data = e;
}

/* ---- an observed pump ---- */

struct tap {
    struct lp_pump pump;
    uv_stream_t *src, *dst;
    int shut_on_end; /* pass EOF on from on_src_end, as the relays do */
    /* source operations */
    int read_starts, read_stops, pauses;
    int bad_pause;      /* paused with the queue at or below the high mark */
    int bad_resume;     /* resumed with the queue above the low mark */
    int held_between;   /* a write completed while paused, queue between the marks */
    int missed_resume;  /* a write completed while paused, queue at or below low */
    int paused_on_dead; /* paused on the queue of a destination already dead */
    /* destination operations */
    uint64_t queued;  /* bytes handed to dst's write */
    int late_inspect; /* the inspector saw bytes before they were queued */
    /* callbacks */
    char *seen;
    size_t seen_len, seen_cap;
    int on_bytes_calls;
    int src_ends, src_status;
    size_t queue_at_eof;
    int dst_errors, dst_status;
};

static size_t queue_of(const struct tap *t)
{
    return t->pump.dst->write_queue_size;
}

static int tap_read_start(void *io, uv_alloc_cb alloc_cb, uv_read_cb read_cb)
{
    struct tap *t = io;
    if (t->read_starts++ && !t->pump.dst_dead && queue_of(t) > t->pump.low) t->bad_resume++;
    return uv_read_start(t->src, alloc_cb, read_cb);
}

static int tap_read_stop(void *io)
{
    struct tap *t = io;
    t->read_stops++;
    if (t->pump.paused && !t->pump.src_eof) {
        t->pauses++;
        if (t->pump.dst_dead) t->paused_on_dead++;
        if (queue_of(t) <= t->pump.high) t->bad_pause++;
    }
    return uv_read_stop(t->src);
}

static int tap_write(void *io, uv_write_t *req, const uv_buf_t *buf, uv_write_cb cb)
{
    struct tap *t = io;
    t->queued += buf->len;
    return uv_write(req, t->dst, buf, 1, cb);
}

static int tap_shutdown(void *io, uv_shutdown_t *req, uv_shutdown_cb cb)
{
    struct tap *t = io;
    return uv_shutdown(req, t->dst, cb);
}

/* A destination that refuses every write at once, as lp_tls does when
 * OpenSSL fails (UV_EPROTO). */
static int refuse_write(void *io, uv_write_t *req, const uv_buf_t *buf, uv_write_cb cb)
{
    (void)io;
    (void)req;
    (void)buf;
    (void)cb;
    return UV_EPROTO;
}

static const struct lp_stream_ops src_ops = {tap_read_start, tap_read_stop, NULL, NULL};
static const struct lp_stream_ops dst_ops = {NULL, NULL, tap_write, tap_shutdown};
static const struct lp_stream_ops refusing_dst_ops = {NULL, NULL, refuse_write, tap_shutdown};

static void on_bytes(struct lp_pump *p, const char *data, size_t len)
{
    struct tap *t = p->data;
    t->on_bytes_calls++;
    if (p->dst_ops && !p->dst_dead && t->queued != p->read) t->late_inspect++;
    if (t->seen_len + len > t->seen_cap) {
        t->seen_cap = (t->seen_len + len) * 2;
        t->seen = realloc(t->seen, t->seen_cap);
        assert_non_null(t->seen);
    }
    memcpy(t->seen + t->seen_len, data, len);
    t->seen_len += len;
}

static void on_src_end(struct lp_pump *p, int status)
{
    struct tap *t = p->data;
    t->src_ends++;
    t->src_status = status;
    t->queue_at_eof = queue_of(t);
    if (t->shut_on_end) lp_pump_shutdown_dst(p);
}

static void on_dst_error(struct lp_pump *p, int status)
{
    struct tap *t = p->data;
    t->dst_errors++;
    t->dst_status = status;
}

/* Called after every write completion, once the pump has decided whether to
 * resume: the moment to check the hysteresis. */
static void on_progress(struct lp_pump *p)
{
    struct tap *t = p->data;
    if (!p->paused || p->src_eof || p->dst_dead) return;
    size_t q = queue_of(t);
    if (q <= p->low)
        t->missed_resume++;
    else if (q <= p->high)
        t->held_between++;
}

static const struct lp_pump_cb pump_cb = {on_bytes, on_src_end, on_dst_error, on_progress};

static void tap_init(struct tap *t, uv_pipe_t *src, uv_pipe_t *dst, size_t high, size_t low)
{
    t->src = (uv_stream_t *)src;
    t->dst = (uv_stream_t *)dst;
    t->shut_on_end = 1;
    lp_pump_init(&t->pump, t->src, t->dst, high, low, &pump_cb, t);
}

/* ---- fixtures ---- */

static uv_pipe_t src, dst, left, right;
static struct peer writer, reader, editor, server;
static struct tap ta, tb;
static char *pat, *pat2;

static char *pattern(size_t n, uint32_t seed)
{
    char *b = malloc(n);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        b[i] = (char)(seed >> 16);
    }
    return b;
}

static int setup(void **state)
{
    (void)state;
    memset(&writer, 0, sizeof writer);
    memset(&reader, 0, sizeof reader);
    memset(&editor, 0, sizeof editor);
    memset(&server, 0, sizeof server);
    memset(&ta, 0, sizeof ta);
    memset(&tb, 0, sizeof tb);
    pat = pat2 = NULL;
    return uvtest_open(DEADLINE_MS) ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    int r = uvtest_close();
    struct peer *peers[] = {&writer, &reader, &editor, &server};
    for (size_t i = 0; i < 4; i++)
        free(peers[i]->got);
    free(ta.seen);
    free(tb.seen);
    free(pat);
    free(pat2);
    return r ? -1 : 0;
}

/* ---- forwarding ---- */

/* Several writes of odd sizes and one large one arrive unchanged and in
 * order; the inspector sees each chunk only once it was handed to dst, and
 * sees every byte; read == written, nothing discarded. */
static void test_forwards_in_order(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 2, 100, 4096, 65 * KB + 3, 3 * KB * KB};
    size_t total = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        total += sizes[i];
    pat = pattern(total, 1);
    pair(&src, &writer);
    pair(&dst, &reader);
    tap_init(&ta, &src, &dst, 256 * KB, 64 * KB);
    lp_pump_src_ops(&ta.pump, &src_ops, &ta);
    lp_pump_dst_ops(&ta.pump, &dst_ops, &ta);
    assert_int_equal(lp_pump_start(&ta.pump), 0);
    size_t off = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        peer_write(&writer, pat + off, sizes[i]);
        off += sizes[i];
    }
    peer_shutdown(&writer);
    peer_start_reading(&reader);

    WAIT_FOR(reader.eof && lp_pump_idle(&ta.pump));

    assert_int_equal(reader.read_err, 0);
    assert_int_equal(reader.got_len, total);
    assert_memory_equal(reader.got, pat, total);
    assert_int_equal(ta.seen_len, total);
    assert_memory_equal(ta.seen, pat, total);
    assert_int_equal(ta.late_inspect, 0);
    assert_true(ta.on_bytes_calls >= 2);
    assert_int_equal(ta.pump.read, total);
    assert_int_equal(ta.pump.written, total);
    assert_int_equal(ta.queued, total);
    assert_int_equal(ta.pump.discarded, 0);
    assert_int_equal(ta.src_ends, 1);
    assert_int_equal(ta.src_status, UV_EOF);
    assert_int_equal(ta.dst_errors, 0);
    assert_int_equal(writer.write_err, 0);
}

/* ---- backpressure ---- */

/* 4 MiB into a pump whose destination is not read: the pump must stop
 * reading once dst's queue passes `high`. Then the destination is drained in
 * small reads: writes complete one chunk (at most 64 KiB) at a time, so the
 * queue steps down through the band between the marks, where the pump must
 * stay paused, and it must resume only at or below `low`. */
static void run_hysteresis(size_t high, size_t low)
{
    const size_t total = 4 * KB * KB;
    pat = pattern(total, 2);
    pair(&src, &writer);
    pair(&dst, &reader);
    tap_init(&ta, &src, &dst, high, low);
    lp_pump_src_ops(&ta.pump, &src_ops, &ta);
    assert_int_equal(lp_pump_start(&ta.pump), 0);
    peer_write(&writer, pat, total);
    peer_shutdown(&writer);

    WAIT_FOR(ta.pauses == 1);
    assert_true(ta.pump.paused);
    assert_true(queue_of(&ta) > high);
    assert_int_equal(ta.bad_pause, 0);
    assert_int_equal(ta.read_starts, 1); /* lp_pump_start only */
    assert_true(ta.pump.read < total);

    peer_start_reading(&reader);
    WAIT_FOR(reader.eof && lp_pump_idle(&ta.pump));

    assert_int_equal(reader.got_len, total);
    assert_memory_equal(reader.got, pat, total);
    assert_int_equal(ta.pump.read, total);
    assert_int_equal(ta.pump.written, total);
    assert_int_equal(ta.pump.discarded, 0);
    assert_int_equal(ta.bad_pause, 0);
    assert_int_equal(ta.bad_resume, 0);
    assert_int_equal(ta.missed_resume, 0);
    assert_true(ta.held_between >= 1);            /* the band was crossed while paused */
    assert_true(ta.read_starts >= 2);             /* and the pump did resume */
    assert_true(ta.read_starts - 1 <= ta.pauses); /* once per pause, no more */
    assert_int_equal(writer.write_err, 0);
}

static void test_backpressure_hysteresis(void **state)
{
    (void)state;
    run_hysteresis(256 * KB, 64 * KB);
}

/* LSPTAP_LOW_KB=0: resume once dst has taken everything, not never. */
static void test_backpressure_low_zero(void **state)
{
    (void)state;
    run_hysteresis(256 * KB, 0);
}

/* ---- half-close ---- */

/* Two pumps over one editor and one server socket, as the network relay
 * wires them (a socket is one pump's source and the other's destination, so
 * neither pump closes it). The editor writes 1 MiB and shuts its side down
 * while the server is not reading: the pump sees EOF with bytes still queued,
 * and the server still reads every byte before its EOF. The server then
 * answers, and its answer reaches the editor whole, then EOF. */
static void test_half_close(void **state)
{
    (void)state;
    const size_t n1 = 1 * KB * KB, n2 = 300 * KB;
    pat = pattern(n1, 3);
    pat2 = pattern(n2, 4);
    pair(&left, &editor);
    pair(&right, &server);
    tap_init(&ta, &left, &right, 4 * KB * KB, 1 * KB * KB); /* never pauses here */
    tap_init(&tb, &right, &left, 4 * KB * KB, 1 * KB * KB);
    ta.pump.close_src = ta.pump.close_dst = tb.pump.close_src = tb.pump.close_dst = 0;
    assert_int_equal(lp_pump_start(&ta.pump), 0);
    assert_int_equal(lp_pump_start(&tb.pump), 0);
    peer_start_reading(&editor);
    peer_write(&editor, pat, n1);
    peer_shutdown(&editor);

    WAIT_FOR(ta.src_ends == 1);
    assert_int_equal(ta.src_status, UV_EOF);
    assert_int_equal(ta.pump.read, n1);
    assert_true(ta.queue_at_eof > 0); /* the shutdown has bytes to wait for */
    assert_true(ta.pump.dst_shut);
    assert_false(ta.pump.dst_done);

    peer_start_reading(&server);
    WAIT_FOR(server.eof && ta.pump.dst_done);
    assert_int_equal(server.read_err, 0);
    assert_int_equal(server.eof_at, n1);
    assert_memory_equal(server.got, pat, n1);
    assert_int_equal(ta.pump.written, n1);
    assert_true(lp_pump_idle(&ta.pump));
    assert_int_equal(tb.src_ends, 0); /* the server's side is still open */

    peer_write(&server, pat2, n2);
    peer_shutdown(&server);
    WAIT_FOR(editor.eof && tb.pump.dst_done);
    assert_int_equal(editor.read_err, 0);
    assert_int_equal(editor.eof_at, n2);
    assert_memory_equal(editor.got, pat2, n2);
    assert_int_equal(tb.src_ends, 1);
    assert_int_equal(tb.src_status, UV_EOF);
    assert_int_equal(tb.pump.read, n2);
    assert_int_equal(tb.pump.written, n2);
    assert_int_equal(ta.dst_errors + tb.dst_errors, 0);
}

/* ---- a dead destination ---- */

static int is_dead_peer_error(int status)
{
    return status == UV_EPIPE || status == UV_ECONNRESET;
}

/* What every dead-destination case ends with: one error reported, the source
 * read to its end (its writer never blocked), every byte inspected, every
 * byte either written or counted as discarded, nothing left in flight. */
static void assert_dead_dst_outcome(size_t total)
{
    assert_int_equal(ta.dst_errors, 1);
    assert_true(is_dead_peer_error(ta.dst_status));
    assert_true(ta.pump.dst_dead);
    assert_int_equal(ta.src_ends, 1);
    assert_int_equal(ta.src_status, UV_EOF);
    assert_int_equal(writer.write_err, 0);
    assert_int_equal(ta.pump.read, total);
    assert_int_equal(ta.seen_len, total);
    assert_memory_equal(ta.seen, pat, total);
    assert_true(ta.pump.discarded > 0);
    assert_int_equal(ta.pump.written + ta.pump.discarded, total);
    assert_int_equal(ta.pump.writes, 0);
    assert_int_equal(ta.paused_on_dead, 0);
    assert_true(ta.read_starts - 1 <= ta.pauses); /* no read_start without a pause before it */
}

/* The destination's peer is gone before the first byte. */
static void test_dead_dst_at_once(void **state)
{
    (void)state;
    const size_t total = 1 * KB * KB;
    pat = pattern(total, 5);
    pair(&src, &writer);
    pair(&dst, &reader);
    uv_close((uv_handle_t *)&reader.pipe, NULL);
    tap_init(&ta, &src, &dst, 128 * KB, 32 * KB);
    lp_pump_src_ops(&ta.pump, &src_ops, &ta);
    assert_int_equal(lp_pump_start(&ta.pump), 0);
    peer_write(&writer, pat, total);
    peer_shutdown(&writer);

    WAIT_FOR(ta.src_ends == 1 && lp_pump_idle(&ta.pump));
    assert_dead_dst_outcome(total);
    assert_int_equal(ta.pump.written, 0);
}

/* The destination's peer goes away while the pump is paused on a full queue.
 * libuv fails the queued writes one after another (the first reports the
 * error, the rest count as discarded), the queue empties, and the pump
 * resumes and reads the source to its end, discarding and inspecting
 * (lp_pump.h: "so the peer never blocks"), instead of staying paused on a
 * queue that will never drain by writing. */
static void test_dead_dst_while_paused(void **state)
{
    (void)state;
    const size_t total = 4 * KB * KB;
    pat = pattern(total, 6);
    pair(&src, &writer);
    pair(&dst, &reader);
    tap_init(&ta, &src, &dst, 128 * KB, 32 * KB);
    lp_pump_src_ops(&ta.pump, &src_ops, &ta);
    assert_int_equal(lp_pump_start(&ta.pump), 0);
    peer_write(&writer, pat, total);
    peer_shutdown(&writer);
    WAIT_FOR(ta.pauses == 1);
    assert_int_equal(ta.dst_errors, 0);

    uv_close((uv_handle_t *)&reader.pipe, NULL); /* with bytes unread */
    WAIT_FOR(ta.src_ends == 1 && lp_pump_idle(&ta.pump));
    assert_dead_dst_outcome(total);
}

/* The destination refuses the first write synchronously (no callback will
 * come): the error reported is the one the write returned, not a stand-in,
 * and the rest goes as in the other dead-destination cases. */
static void test_dead_dst_refuses_write(void **state)
{
    (void)state;
    const size_t total = 256 * KB;
    pat = pattern(total, 7);
    pair(&src, &writer);
    pair(&dst, &reader);
    tap_init(&ta, &src, &dst, 128 * KB, 32 * KB);
    lp_pump_src_ops(&ta.pump, &src_ops, &ta);
    lp_pump_dst_ops(&ta.pump, &refusing_dst_ops, &ta);
    assert_int_equal(lp_pump_start(&ta.pump), 0);
    peer_write(&writer, pat, total);
    peer_shutdown(&writer);

    WAIT_FOR(ta.src_ends == 1 && lp_pump_idle(&ta.pump));
    assert_int_equal(ta.dst_errors, 1);
    assert_int_equal(ta.dst_status, UV_EPROTO);
    assert_int_equal(ta.src_status, UV_EOF);
    assert_int_equal(ta.pump.read, total);
    assert_int_equal(ta.pump.discarded, total);
    assert_int_equal(ta.pump.written, 0);
    assert_int_equal(ta.seen_len, total);
    assert_memory_equal(ta.seen, pat, total);
    assert_int_equal(ta.pauses, 0);
    assert_int_equal(writer.write_err, 0);
}

/* ---- a source read error ---- */

/* The source's peer closes with bytes of ours unread, so the next read fails
 * with ECONNRESET: what came before is forwarded, the error is reported once
 * through on_src_end, the source is stopped and closed, dst is untouched by it
 * and gets its EOF when the owner passes the end on. */
static void test_src_read_error(void **state)
{
    (void)state;
    pair(&src, &writer);
    pair(&dst, &reader);
    tap_init(&ta, &src, &dst, 128 * KB, 32 * KB);
    lp_pump_src_ops(&ta.pump, &src_ops, &ta);
    assert_int_equal(lp_pump_start(&ta.pump), 0);
    peer_start_reading(&reader);

    uv_os_fd_t fd;
    assert_int_equal(uv_fileno((uv_handle_t *)&src, &fd), 0);
    assert_int_equal(write(fd, "x", 1), 1); /* left unread by the writer */
    peer_write(&writer, "hello", 5);
    WAIT_FOR(reader.got_len == 5);
    uv_close((uv_handle_t *)&writer.pipe, NULL);

    WAIT_FOR(ta.src_ends == 1 && reader.eof);
    assert_int_equal(ta.src_status, UV_ECONNRESET);
    assert_int_equal(ta.read_starts, 1);
    assert_true(ta.read_stops >= 1);
    assert_true(ta.pump.src_eof);
    assert_true(uv_is_closing((uv_handle_t *)&src));
    assert_int_equal(ta.dst_errors, 0);
    assert_int_equal(ta.pump.read, 5);
    assert_int_equal(ta.pump.written, 5);
    assert_int_equal(reader.eof_at, 5);
    assert_memory_equal(reader.got, "hello", 5);
    assert_int_equal(ta.seen_len, 5);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* a write to a closed socket must fail, not kill */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_forwards_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backpressure_hysteresis, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backpressure_low_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_half_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_dst_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_dst_while_paused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_dst_refuses_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_src_read_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
