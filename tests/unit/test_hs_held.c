/*
 * lp_handshake releases the frames it held while gopls was judged through
 * the frame path (lp_relay_forward_msg): the session records them without
 * framing them again.
 *
 * A server (/bin/sh) answers the editor's initialize with an error and two
 * notifications, all held while the environment is checked; with
 * LSPTAP_REPAIR off (cfg.repair 0) lsptap gives up and tells the editor,
 * then releases what it held. The relay runs in a forked child whose stdio
 * are socketpairs to the test (as in test_relay_hook.c); li_session_feed is
 * wrapped (-Wl,--wrap, set in the Makefile) to see whether a held frame
 * goes through it. The child sends back that count and the session's
 * lines. Nothing waits for time: the test reads until what it wants has
 * come, then closes the editor's side; an alarm in the child ends a hang.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "env/lp_config.h"
#include "fdread.h"
#include "inspect/li_buf.h"
#include "inspect/li_session.h"
#include "proxy/lp_handshake.h"
#include "proxy/lp_relay.h"
#include "wrap_session.h"

#define MARK "held-by-lsptap"
#define LIVE "x/live-after"

static size_t fed_held; /* li_session_feed calls carrying a held frame's bytes */
static size_t fed_live; /* ... carrying the notification sent after the release */

void __wrap_li_session_feed(struct li_session *s, enum li_dir dir, const char *buf, size_t len,
                            uint64_t t_us)
{
    /* The held frames' own text (lsptap's message quotes the error's). */
    static const char err[] = "-32603,\"message\":\"" MARK, note[] = "\"x/" MARK;
    if (dir == LI_S2C &&
        (memmem(buf, len, err, sizeof err - 1) || memmem(buf, len, note, sizeof note - 1)))
        fed_held++;
    if (dir == LI_S2C && memmem(buf, len, LIVE, sizeof LIVE - 1)) fed_live++;
    __real_li_session_feed(s, dir, buf, len, t_us);
}

static void sink(void *ud, const char *line, size_t len)
{
    li_buf_put(ud, line, len);
}

static const char INIT[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
                           "\"processId\":null,\"rootUri\":null,\"capabilities\":{}}}";
static const char INITIALIZED[] = "{\"jsonrpc\":\"2.0\",\"method\":\"initialized\",\"params\":{}}";

static void held_frames_released_as_frames(void **state)
{
    (void)state;
    char init[512];
    int ilen = snprintf(init, sizeof init, "Content-Length: %zu\r\n\r\n%s", strlen(INIT), INIT);
    char inited[256];
    int dlen = snprintf(inited, sizeof inited, "Content-Length: %zu\r\n\r\n%s", strlen(INITIALIZED),
                        INITIALIZED);
    /* The server reads the initialize frame, answers it with an error and
     * says two things (all held); then, once the editor's initialized has
     * come (after the release), says a third thing, which is not held, and
     * waits for its stdin to end. */
    char script[1536];
    snprintf(script, sizeof script,
             "dd bs=1 count=%d of=/dev/null 2>/dev/null; "
             "e='{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32603,\"message\":\"" MARK
             " 1\"}}'; "
             "a='{\"jsonrpc\":\"2.0\",\"method\":\"x/" MARK "a\",\"params\":{}}'; "
             "b='{\"jsonrpc\":\"2.0\",\"method\":\"x/" MARK "b\",\"params\":{}}'; "
             "printf 'Content-Length: %%d\\r\\n\\r\\n%%s' ${#e} \"$e\" ${#a} \"$a\" ${#b} \"$b\"; "
             "dd bs=1 count=%d of=/dev/null 2>/dev/null; "
             "l='{\"jsonrpc\":\"2.0\",\"method\":\"" LIVE "\",\"params\":{}}'; "
             "printf 'Content-Length: %%d\\r\\n\\r\\n%%s' ${#l} \"$l\"; "
             "cat >/dev/null",
             ilen, dlen);
    char *argv[] = {"/bin/sh", "-c", script, NULL};

    int in[2], out[2], err[2], rep[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, in), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, out), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, err), 0);
    assert_int_equal(pipe(rep), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(120);
        dup2(in[1], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(in[0]), close(in[1]), close(out[0]), close(out[1]), close(err[0]), close(err[1]);
        close(rep[0]);
        static struct lp_config cfg;
        char warn[512];
        lp_config_load(&cfg, warn, sizeof warn);
        cfg.repair = 0;
        struct li_buf lines = {0};
        struct li_opts lo = {LI_LSP, LI_REC_FULL, 0, 0, sink, &lines, NULL, NULL, NULL};
        struct li_session *sess = li_session_new(&lo);
        struct lp_handshake *h = lp_handshake_new(&cfg, "gopls", NULL);
        static struct lp_relay_result res;
        struct lp_relay_opts o = {.argv = argv,
                                  .sess = sess,
                                  .hr_start = uv_hrtime(),
                                  .cfg = &cfg,
                                  .super = &lp_handshake_ops,
                                  .super_ctx = h};
        int rc = lp_relay_run(&o, &res);
        li_session_eof(sess, LI_S2C, 1);
        size_t head[4] = {(size_t)rc, fed_held, lines.len, fed_live};
        int ok = write(rep[1], head, sizeof head) == (ssize_t)sizeof head &&
                 write(rep[1], lines.p, lines.len) == (ssize_t)lines.len;
        _exit(ok && lp_handshake_gave_up(h) ? 0 : 1);
    }
    close(in[1]), close(out[1]), close(err[1]), close(rep[1]);
    assert_int_equal(write(in[0], init, (size_t)ilen), ilen);
    /* lsptap's showMessage, then what it held, in order: the error and
     * both notifications. */
    static char got[65536];
    size_t n = fdread_until(out[0], got, sizeof got, 0, "x/" MARK "b");
    assert_int_equal(write(in[0], inited, (size_t)dlen), dlen);
    n = fdread_until(out[0], got, sizeof got, n, LIVE);
    close(in[0]);
    fdread_until(out[0], got, sizeof got, n, NULL); /* to the end of the session */
    static char errtext[65536];
    fdread_until(err[0], errtext, sizeof errtext, 0, NULL);
    size_t head[4] = {0};
    assert_int_equal(read(rep[0], head, sizeof head), (ssize_t)sizeof head);
    char *lines = calloc(1, head[2] + 1);
    assert_non_null(lines);
    size_t have = 0;
    while (have < head[2]) {
        ssize_t r = read(rep[0], lines + have, head[2] - have);
        assert_true(r > 0);
        have += (size_t)r;
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status))
        fail_msg("the relay's child failed; its stderr:\n%s", errtext);
    close(out[0]), close(err[0]), close(rep[0]);

    assert_int_equal(head[0], 0);
    /* What the editor got: lsptap's message, then the held frames unchanged. */
    const char *own = strstr(got, "window/showMessage");
    const char *held = strstr(got, MARK " 1");
    assert_non_null(own);
    assert_non_null(held);
    assert_true(own < held);
    /* Recorded: the error response and both notifications, as s2c
     * messages, none of them framed a second time. */
    assert_int_equal(head[1], 0);
    /* The count can count: the server's later notification, relayed
     * unheld, went through the wrapped li_session_feed (so 0 above is not
     * a wrap that never ran). */
    assert_int_equal(head[3], 1);
    static const char held_err[] = "-32603,\"message\":\"" MARK " 1\"", held_note[] = "\"x/" MARK;
    size_t msgs = 0;
    for (char *b = lines, *e; (e = strchr(b, '\n')); b = e + 1) {
        size_t ll = (size_t)(e - b);
        if (memmem(b, ll, "\"dir\":\"s2c\"", 11) && !memmem(b, ll, "\"event\"", 7) &&
            (memmem(b, ll, held_err, sizeof held_err - 1) ||
             memmem(b, ll, held_note, sizeof held_note - 1)))
            msgs++;
    }
    assert_int_equal(msgs, 3);
    assert_null(strstr(lines, "framing_error"));
    free(lines);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(held_frames_released_as_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
