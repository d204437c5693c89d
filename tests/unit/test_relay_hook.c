/*
 * proxy/lp_relay's supervision hook, with a supervisor of the test's own
 * and small servers (sh, cat):
 *
 * - a supervisor may start a new server generation any number of times
 *   (more than the relay has generation slots, so retired slots are
 *   reused), every generation's output reaches the editor, and once the
 *   supervisor passes, the session ends with the last server's status;
 * - once the supervisor filters the editor's stream, bytes reach the server
 *   only as the supervisor forwards them, and what it still holds at the
 *   editor's EOF goes out before the server's stdin is closed;
 * - a server's stdout end is told after its exit when the exit follows
 *   (the exit first, with its status), and alone when the server keeps
 *   running (the relay waits a moment for the status, then asks).
 *
 * lp_relay_run drives this process's stdin, stdout and stderr on the
 * default loop, so each case runs it in a forked child whose stdio are
 * socketpairs to the test; the child sends back what its supervisor saw
 * through a pipe. Nothing waits for time: the test reads until EOF, and an
 * alarm in the child ends a hang.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "env/lp_config.h"
#include "fdread.h"
#include "inspect/li_session.h"
#include "proxy/lp_relay.h"

#define RESTARTS 9 /* more than twice the relay's generation slots */

/* What the test's supervisor saw, sent back by the child. */
struct seen {
    int rc;        /* lp_relay_run's */
    int restarts;  /* the result's */
    int exit_code; /* lp_relay_exit_code */
    int started, stopped;
    int restart_failed;        /* lp_relay_restart's error, 0 if none */
    int ends[RESTARTS + 2][2]; /* on_server_end calls per seq and what */
    int out_of_order;          /* an end for a generation that is not the current one */
    unsigned max_seq;
    int c2s_chunks, c2s_end_calls, s2c_calls;
    size_t s2c_bytes;
    int asked[4][3]; /* the first ends asked: what, gi.exited, gi.out_eof */
    int nasked;
    int frames, requests; /* whole frames on_c2s got, and of those requests */
    size_t raw_bytes;     /* bytes on_c2s got as not framing */
    uint64_t c2s_messages, c2s_bytes, c2s_framing_errors; /* the session's counts */
};

/* The supervisor's state: lives in the child. */
struct sup {
    struct lp_relay *r;
    struct seen s;
    int restarts_done;
    int filtering;
    char held[256]; /* the editor's bytes after the last newline */
    size_t held_len;
};

static void sup_start(void *ctx, struct lp_relay *r)
{
    struct sup *u = ctx;
    u->r = r;
    u->s.started++;
}

static void sup_stop(void *ctx)
{
    struct sup *u = ctx;
    u->s.stopped++;
}

/* ---- a supervisor that restarts every server that ends, RESTARTS times ---- */

static enum lp_relay_verdict restarter_end(void *ctx, struct lp_relay_gen *g,
                                           enum lp_relay_end what)
{
    struct sup *u = ctx;
    struct lp_relay_gen_info gi;
    lp_relay_gen_info(g, &gi);
    if (g != lp_relay_current(u->r)) u->s.out_of_order++;
    if (gi.seq > u->s.max_seq) u->s.max_seq = gi.seq;
    if (gi.seq < RESTARTS + 2) u->s.ends[gi.seq][what]++;
    if (u->restarts_done == RESTARTS) return LP_RELAY_PASS;
    /* Both ends seen: its output was read to the end, nothing is lost. */
    if (gi.exited && gi.out_eof) {
        int rc = lp_relay_restart(u->r, NULL);
        if (rc) {
            u->s.restart_failed = rc;
            u->restarts_done = RESTARTS;
            lp_relay_release(u->r);
        } else {
            u->restarts_done++;
        }
    }
    return LP_RELAY_TAKEN;
}

static unsigned restarter_holds(void *ctx)
{
    struct sup *u = ctx;
    return u->restarts_done < RESTARTS ? LP_RELAY_HOLD_OUTPUT | LP_RELAY_HOLD_END : 0;
}

static const struct lp_relay_super_ops restarter = {
    .start = sup_start,
    .on_server_end = restarter_end,
    .holds = restarter_holds,
    .stop = sup_stop,
};

/* ---- a supervisor that filters both directions ---- */

static void filter_start(void *ctx, struct lp_relay *r)
{
    sup_start(ctx, r);
    lp_relay_watch_c2s(r, 1);
}

/* The first chunk passes as it is; then the editor's stream is filtered. */
static void filter_on_c2s(void *ctx, const char *data, size_t len, size_t hdr,
                          const struct li_msg *m)
{
    struct sup *u = ctx;
    (void)data, (void)len, (void)hdr, (void)m;
    u->s.c2s_chunks++;
    if (!u->filtering) {
        u->filtering = 1;
        lp_relay_filter_c2s(u->r);
    }
}

/* Whole lines go to the server in capitals; the rest waits. */
static void filter_c2s(void *ctx, const char *data, size_t len, size_t hdr, const struct li_msg *m)
{
    struct sup *u = ctx;
    (void)hdr, (void)m;
    for (size_t i = 0; i < len && u->held_len < sizeof u->held; i++) {
        u->held[u->held_len++] = (char)toupper((unsigned char)data[i]);
        if (data[i] == '\n') {
            lp_relay_to_server(u->r, u->held, u->held_len);
            u->held_len = 0;
        }
    }
}

static void filter_c2s_end(void *ctx)
{
    struct sup *u = ctx;
    u->s.c2s_end_calls++;
    lp_relay_to_server(u->r, u->held, u->held_len);
    u->held_len = 0;
}

static void filter_s2c(void *ctx, struct lp_relay_gen *g, const char *data, size_t len)
{
    struct sup *u = ctx;
    u->s.s2c_calls++;
    u->s.s2c_bytes += len;
    lp_relay_forward(g, data, len);
}

static const struct lp_relay_super_ops filterer = {
    .start = filter_start,
    .on_c2s = filter_on_c2s,
    .c2s_filter = filter_c2s,
    .on_c2s_end = filter_c2s_end,
    .s2c_filter = filter_s2c,
    .stop = sup_stop,
};

/* ---- a supervisor that records the order of a server's ends ---- */

static enum lp_relay_verdict recorder_end(void *ctx, struct lp_relay_gen *g, enum lp_relay_end what)
{
    struct sup *u = ctx;
    struct lp_relay_gen_info gi;
    lp_relay_gen_info(g, &gi);
    if (u->s.nasked < 4) {
        int *a = u->s.asked[u->s.nasked++];
        a[0] = (int)what, a[1] = gi.exited, a[2] = gi.out_eof;
    }
    if (!gi.exited) lp_relay_kill_group(g); /* a server that keeps running is not waited for */
    return LP_RELAY_PASS;
}

static const struct lp_relay_super_ops recorder = {
    .start = sup_start,
    .on_server_end = recorder_end,
    .stop = sup_stop,
};

/* ---- a supervisor that watches the editor's stream ---- */

static void watch_c2s(void *ctx, const char *data, size_t len, size_t hdr, const struct li_msg *m)
{
    struct sup *u = ctx;
    (void)data;
    if (!hdr) {
        u->s.raw_bytes += len;
        return;
    }
    u->s.frames++;
    u->s.requests += m && m->kind == LI_K_REQUEST;
    if (u->s.frames == 2) lp_relay_watch_c2s(u->r, 0); /* enough: chunks again */
}

static const struct lp_relay_super_ops watcher = {
    .start = filter_start,
    .on_c2s = watch_c2s,
    .stop = sup_stop,
};

/* ---- running the relay in a child ---- */

struct run {
    pid_t pid;
    int in, out, err; /* the test's ends of the child's stdin, stdout, stderr */
    int report;
};

static void start_relay(struct run *t, char **argv, const struct lp_relay_super_ops *ops)
{
    int in[2], out[2], err[2], rep[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, in), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, out), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, err), 0);
    assert_int_equal(pipe(rep), 0);
    t->pid = fork();
    assert_true(t->pid >= 0);
    if (t->pid == 0) {
        alarm(60);
        dup2(in[1], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(in[0]), close(in[1]), close(out[0]), close(out[1]), close(err[0]), close(err[1]);
        close(rep[0]);
        static struct sup u;
        static struct lp_relay_result res;
        struct li_opts lo = {.proto = LI_LSP, .record = LI_REC_OFF};
        struct li_session *sess = li_session_new(&lo);
        struct lp_config cfg = {
            .high_mark = 1 << 20, .low_mark = 256 << 10, .grace_ms = 30000, .kill_ms = 2000};
        struct lp_relay_opts o = {.argv = argv,
                                  .sess = sess,
                                  .hr_start = uv_hrtime(),
                                  .cfg = &cfg,
                                  .super = ops,
                                  .super_ctx = &u};
        u.s.rc = lp_relay_run(&o, &res);
        struct li_counts lc;
        li_session_counts(sess, &lc);
        u.s.c2s_messages = lc.messages[LI_C2S];
        u.s.c2s_bytes = lc.bytes[LI_C2S];
        u.s.c2s_framing_errors = lc.framing_errors[LI_C2S];
        u.s.restarts = res.restarts;
        u.s.exit_code = lp_relay_exit_code(&res);
        ssize_t n = write(rep[1], &u.s, sizeof u.s);
        _exit(n == (ssize_t)sizeof u.s ? 0 : 1);
    }
    close(in[1]), close(out[1]), close(err[1]), close(rep[1]);
    t->in = in[0];
    t->out = out[0];
    t->err = err[0];
    t->report = rep[0];
}

static void finish_relay(struct run *t, struct seen *s)
{
    char err[8192];
    fdread_until(t->err, err, sizeof err, 0, NULL);
    close(t->in);
    ssize_t n = read(t->report, s, sizeof *s);
    int status = 0;
    assert_int_equal(waitpid(t->pid, &status, 0), t->pid);
    if (n != (ssize_t)sizeof *s) fail_msg("the relay's child sent no report; its stderr:\n%s", err);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(t->out), close(t->err), close(t->report);
}

/* ---- the cases ---- */

static void restarts_past_the_slots(void **state)
{
    (void)state;
    static char *argv[] = {"/bin/sh", "-c", "echo gen; exit 3", NULL};
    struct run t;
    struct seen s;
    start_relay(&t, argv, &restarter);
    char out[4096];
    size_t n = fdread_until(t.out, out, sizeof out, 0, NULL); /* the editor's stdout ends */
    finish_relay(&t, &s);

    char want[4096] = "";
    for (int i = 0; i <= RESTARTS; i++)
        strcat(want, "gen\n");
    assert_int_equal(s.restart_failed, 0);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
    assert_int_equal(s.rc, 0);
    assert_int_equal(s.restarts, RESTARTS);
    assert_int_equal(s.exit_code, 3); /* the last server's status */
    assert_int_equal(s.max_seq, RESTARTS);
    assert_int_equal(s.out_of_order, 0);
    for (int i = 0; i <= RESTARTS; i++) { /* each generation's exit and EOF, once each */
        assert_int_equal(s.ends[i][LP_RELAY_EXITED], 1);
        assert_int_equal(s.ends[i][LP_RELAY_OUT_CLOSED], 1);
    }
    assert_int_equal(s.started, 1);
    assert_int_equal(s.stopped, 1);
}

static void filters_both_directions(void **state)
{
    (void)state;
    static char *argv[] = {"/bin/cat", NULL};
    struct run t;
    struct seen s;
    start_relay(&t, argv, &filterer);
    char out[4096];
    /* Before the filter: as sent. */
    assert_int_equal(write(t.in, "one\n", 4), 4);
    size_t n = fdread_until(t.out, out, sizeof out, 0, "one\n");
    /* Filtered: whole lines in capitals, the rest at the editor's EOF. */
    assert_int_equal(write(t.in, "two\nta", 6), 6);
    shutdown(t.in, SHUT_WR);
    n = fdread_until(t.out, out, sizeof out, n, NULL);
    finish_relay(&t, &s);

    assert_string_equal(out, "one\nTWO\nTA");
    assert_int_equal(s.rc, 0);
    assert_int_equal(s.exit_code, 0);
    assert_int_equal(s.c2s_chunks, 1); /* on_c2s stops once the filter is on */
    assert_int_equal(s.c2s_end_calls, 1);
    assert_int_equal(s.s2c_bytes, n); /* every byte of the server's through the filter */
    assert_true(s.s2c_calls >= 1);
    assert_int_equal(s.restarts, 0);
}

/* The i-th question the supervisor was asked: what ended, and whether the
 * exit status and the stdout's end were known then. */
static void assert_asked(const struct seen *s, int i, int what, int exited, int out_eof)
{
    assert_int_equal(s->asked[i][0], what);
    assert_int_equal(s->asked[i][1], exited);
    assert_int_equal(s->asked[i][2], out_eof);
}

/* The server closes its stdout and exits at once: however the two arrive,
 * the supervisor is asked about the exit first (the status is known, the
 * stdout's end not yet told), then about the stdout's end. */
static void the_exit_is_asked_before_a_stdout_end_it_follows(void **state)
{
    (void)state;
    static char *argv[] = {"/bin/sh", "-c", "echo out; exec 1>&-; exit 3", NULL};
    struct run t;
    struct seen s;
    start_relay(&t, argv, &recorder);
    char out[64];
    fdread_until(t.out, out, sizeof out, 0, NULL);
    finish_relay(&t, &s);
    assert_string_equal(out, "out\n");
    assert_int_equal(s.exit_code, 3);
    assert_int_equal(s.nasked, 2);
    assert_asked(&s, 0, LP_RELAY_EXITED, 1, 0);
    assert_asked(&s, 1, LP_RELAY_OUT_CLOSED, 1, 1);
}

/* The server closes its stdout and keeps running: the stdout's end is
 * asked alone (then the supervisor kills it, and the exit follows). */
static void a_stdout_end_without_an_exit_is_asked_alone(void **state)
{
    (void)state;
    static char *argv[] = {"/bin/sh", "-c", "exec 1>&-; exec sleep 60", NULL};
    struct run t;
    struct seen s;
    start_relay(&t, argv, &recorder);
    char out[64];
    fdread_until(t.out, out, sizeof out, 0, NULL);
    finish_relay(&t, &s);
    assert_int_equal(s.exit_code, 128 + SIGKILL);
    assert_string_equal(out, "");
    assert_int_equal(s.nasked, 2);
    assert_asked(&s, 0, LP_RELAY_OUT_CLOSED, 0, 1);
    assert_asked(&s, 1, LP_RELAY_EXITED, 1, 1);
}

/* A watching supervisor gets the editor's stream framed (frames whole,
 * however they were written, with their classification; garbage as bytes)
 * until it stops watching after two frames; the inspector records every
 * frame, framed by the relay and then as read again from that frame
 * boundary, and the server gets every byte. */
static void a_watcher_gets_whole_frames(void **state)
{
    (void)state;
    static char *argv[] = {"/bin/cat", NULL};
    static const char req[] =
        "Content-Length: 46\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\"}";
    static const char note[] =
        "Content-Length: 40\r\n\r\n{\"jsonrpc\":\"2.0\",\"method\":\"initialized\"}";
    struct run t;
    struct seen s;
    start_relay(&t, argv, &watcher);
    char all[512];
    int n = snprintf(all, sizeof all, "%sjunk\n%s%s", req, note, req);
    /* Written in pieces that cut the frames anywhere. */
    for (int off = 0; off < n; off += 7)
        assert_true(write(t.in, all + off, n - off < 7 ? (size_t)(n - off) : 7) > 0);
    shutdown(t.in, SHUT_WR);
    char out[512];
    size_t got = fdread_until(t.out, out, sizeof out, 0, NULL);
    finish_relay(&t, &s);
    assert_int_equal(got, (size_t)n);
    assert_memory_equal(out, all, (size_t)n);
    assert_int_equal(s.frames, 2);
    assert_int_equal(s.requests, 1);
    assert_int_equal(s.raw_bytes, 5);
    assert_int_equal(s.c2s_messages, 3);
    assert_int_equal(s.c2s_bytes, (uint64_t)n);
    assert_int_equal(s.c2s_framing_errors, 1);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(restarts_past_the_slots),
        cmocka_unit_test(filters_both_directions),
        cmocka_unit_test(the_exit_is_asked_before_a_stdout_end_it_follows),
        cmocka_unit_test(a_stdout_end_without_an_exit_is_asked_alone),
        cmocka_unit_test(a_watcher_gets_whole_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
