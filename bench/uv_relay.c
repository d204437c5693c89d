/*
 * uv_relay: the floor under lsptap's relay. It spawns CMD and copies bytes
 * stdin -> CMD's stdin and CMD's stdout -> stdout through libuv, the way
 * proxy/ does, with the same kind of backpressure, and nothing else: no
 * parsing, no recording. Benchmarked next to lsptap, it tells how much of
 * lsptap's cost is libuv relaying itself and how much is inspection.
 *
 *   uv_relay CMD...     exit status: CMD's (128+signal when it was killed)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

enum {
    UR_HIGH = 4 << 20, /* stop reading a side when the other's write queue passes this */
    UR_LOW = 1 << 20,  /* and resume below this */
};

struct ur_side {
    uv_pipe_t *in;  /* read from here */
    uv_pipe_t *out; /* write to here */
    int reading;
    int eof;
};

struct ur_write {
    uv_write_t req;
    struct ur_side *src;
    char *base; /* owned by the request until its callback runs */
};

static uv_loop_t *loop;
static uv_process_t child;
static uv_pipe_t std_in, std_out, child_in, child_out;
static struct ur_side up, down; /* up: editor -> server; down: server -> editor */
static int child_exited, exit_status;

static void ur_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    buf->base = malloc(suggested);
    buf->len = buf->base ? suggested : 0;
}

static void ur_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static void ur_on_write(uv_write_t *req, int status)
{
    struct ur_write *w = (struct ur_write *)req;
    free(w->base);
    struct ur_side *src = w->src;
    free(w);
    if (status < 0) return;
    if (!src->reading && !src->eof && src->out->write_queue_size < UR_LOW) {
        src->reading = 1;
        uv_read_start((uv_stream_t *)src->in, ur_alloc, ur_on_read);
    }
}

static void ur_on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    free(req);
}

static void ur_maybe_done(void)
{
    if (child_exited && down.eof) uv_stop(loop);
}

static void ur_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct ur_side *side = s == (uv_stream_t *)up.in ? &up : &down;
    if (n > 0) {
        struct ur_write *w = malloc(sizeof(*w));
        if (!w) abort();
        w->src = side;
        w->base = buf->base;
        uv_buf_t b = uv_buf_init(buf->base, (unsigned)n);
        if (uv_write(&w->req, (uv_stream_t *)side->out, &b, 1, ur_on_write) < 0) {
            free(w->base);
            free(w);
            return;
        }
        if (side->out->write_queue_size > UR_HIGH) {
            side->reading = 0;
            uv_read_stop(s);
        }
        return;
    }
    free(buf->base);
    if (n == 0) return;
    /* EOF or error: forward EOF, stop reading this side. */
    side->eof = 1;
    side->reading = 0;
    uv_read_stop(s);
    uv_shutdown_t *sd = malloc(sizeof(*sd));
    if (sd && uv_shutdown(sd, (uv_stream_t *)side->out, ur_on_shutdown) < 0) free(sd);
    ur_maybe_done();
}

static void ur_on_exit(uv_process_t *p, int64_t status, int sig)
{
    (void)p;
    exit_status = sig ? 128 + sig : (int)status;
    child_exited = 1;
    ur_maybe_done();
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: uv_relay CMD...\n");
        return 2;
    }
    loop = uv_default_loop();
    uv_pipe_init(loop, &std_in, 0);
    uv_pipe_init(loop, &std_out, 0);
    uv_pipe_init(loop, &child_in, 0);
    uv_pipe_init(loop, &child_out, 0);
    if (uv_pipe_open(&std_in, 0) < 0 || uv_pipe_open(&std_out, 1) < 0) {
        fprintf(stderr, "uv_relay: stdin and stdout must be pipes\n");
        return 2;
    }
    uv_stdio_container_t stdio[3] = {
        {.flags = UV_CREATE_PIPE | UV_READABLE_PIPE, .data.stream = (uv_stream_t *)&child_in},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&child_out},
        {.flags = UV_INHERIT_FD, .data.fd = 2},
    };
    uv_process_options_t opt = {
        .exit_cb = ur_on_exit, .file = argv[1], .args = argv + 1, .stdio_count = 3, .stdio = stdio};
    int rc = uv_spawn(loop, &child, &opt);
    if (rc < 0) {
        fprintf(stderr, "uv_relay: spawn %s: %s\n", argv[1], uv_strerror(rc));
        return 127;
    }
    up.out = &child_in;
    down.out = &std_out;
    up.in = &std_in;
    down.in = &child_out;
    up.reading = down.reading = 1;
    uv_read_start((uv_stream_t *)up.in, ur_alloc, ur_on_read);
    uv_read_start((uv_stream_t *)down.in, ur_alloc, ur_on_read);
    uv_run(loop, UV_RUN_DEFAULT);
    return exit_status;
}
