/*
 * A session's close does not hold the loop while its file is written
 * (docs/design.md principle 1): with the writer's destination blocked (the
 * file's descriptor is made a FIFO nobody reads yet), the loop still runs a
 * timer after lp_session_close_async returns; once the FIFO is drained the
 * file's last line is the summary and done runs on the loop. Before, the
 * close joined the writer thread on the loop and nothing else ran until the
 * disk took every line. A SIGINT during the close: lp_session_wait_closes
 * returns with the file complete and done run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "env/lp_config.h"
#include "proxy/lp_serve.h"
#include "tests/unit/fixture.h"
#include "tests/unit/tmpdir.h"
#include "tests/unit/uvtest.h"

/* The FIFO's reader: waits until the test says go (or, if the loop never
 * gets to say it, a generous while, so a blocked loop fails the test
 * instead of hanging it), then reads everything until EOF. */
struct reader {
    int fd;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int go;
    char *got;
    size_t len, cap;
    pthread_t th;
};

static void *read_fifo(void *arg)
{
    struct reader *r = arg;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    pthread_mutex_lock(&r->mu);
    while (!r->go)
        if (pthread_cond_timedwait(&r->cv, &r->mu, &until)) break;
    pthread_mutex_unlock(&r->mu);
    int fl = fcntl(r->fd, F_GETFL);
    fcntl(r->fd, F_SETFL, fl & ~O_NONBLOCK);
    for (;;) {
        if (r->len + 65536 > r->cap) {
            r->cap = r->cap ? r->cap * 2 : 1 << 20;
            r->got = realloc(r->got, r->cap);
            if (!r->got) return NULL;
        }
        ssize_t n = read(r->fd, r->got + r->len, 65536);
        if (n <= 0) break;
        r->len += (size_t)n;
    }
    return NULL;
}

static int ticks;
static void on_tick(uv_timer_t *t)
{
    (void)t;
    ticks++;
}

static int done_calls, ticks_at_done;
static void on_done(void *ud)
{
    done_calls++;
    ticks_at_done = ticks;
    (void)ud;
}

/* The descriptor this process has open on path. */
static int fd_of(const char *path)
{
    for (int fd = 3; fd < 1024; fd++) {
        char link[64], target[PATH_MAX];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n <= 0) continue;
        target[n] = '\0';
        if (!strcmp(target, path)) return fd;
    }
    return -1;
}

/* A session whose file's descriptor leads into a FIFO read by r's thread
 * once told to go (the writer blocks once the pipe, 64 KiB, is full, as on
 * a disk that does not keep up), with 512 KB queued: eight pipes full. */
static void open_blocked(struct lp_session *s, struct reader *r, char *dir, size_t cap,
                         const char *name)
{
    char fifo[300];
    assert_int_equal(tmpdir_make(dir, cap, name), 0);
    static struct lp_config c;
    assert_int_equal(fixture_session_open(s, &c, dir, 4 << 20), 0);
    assert_non_null(s->log);

    snprintf(fifo, sizeof fifo, "%s/sink", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->fd = open(fifo, O_RDONLY | O_NONBLOCK);
    assert_true(r->fd >= 0);
    int w = open(fifo, O_WRONLY);
    assert_true(w >= 0);
    char real[PATH_MAX];
    assert_non_null(realpath(lp_log_path(s->log), real));
    int logfd = fd_of(real);
    assert_true(logfd >= 0);
    assert_int_equal(dup2(w, logfd), logfd);
    close(w);
    assert_int_equal(pthread_create(&r->th, NULL, read_fifo, r), 0);

    char line[1000];
    memset(line, 'x', sizeof line);
    memcpy(line, "{\"pad\":\"", 8);
    memcpy(line + sizeof line - 3, "\"}\n", 3);
    for (int i = 0; i < 512; i++)
        lp_log_line(s->log, line, sizeof line);
}

static void reader_go(struct reader *r)
{
    pthread_mutex_lock(&r->mu);
    r->go = 1;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

/* Every line reached the sink, the summary last; then frees what r read. */
static void assert_complete(struct reader *r)
{
    pthread_join(r->th, NULL);
    close(r->fd);
    assert_true(r->len > 512 * 1000);
    assert_int_equal(r->got[r->len - 1], '\n');
    r->got[r->len - 1] = '\0';
    const char *last = strrchr(r->got, '\n');
    assert_non_null(last);
    assert_non_null(strstr(last, "\"event\":\"summary\""));
    assert_non_null(strstr(last, "\"dropped_lines\":0"));
    assert_non_null(strstr(last, "test over"));
    free(r->got);
    r->got = NULL;
}

static void test_close_leaves_the_loop_running_while_the_sink_is_blocked(void **state)
{
    (void)state;
    char dir[256];
    struct lp_session s;
    static struct reader r;
    open_blocked(&s, &r, dir, sizeof dir, "close-async");
    ticks = done_calls = ticks_at_done = 0;

    assert_int_equal(uvtest_open(120000), 0);
    uv_timer_t tick;
    uv_timer_init(&uvtest_loop, &tick);
    uv_timer_start(&tick, on_tick, 1, 1);
    json_t *extra = json_pack("{s:s}", "ending", "test over");
    assert_int_equal(
        lp_session_close_async(&s, &uvtest_loop, "test", extra, "test over", 0, on_done, NULL), 1);
    json_decref(extra);
    /* The close returned and the loop goes on while nobody reads the sink. */
    WAIT_FOR(ticks >= 5 || done_calls);
    assert_int_equal(done_calls, 0);
    reader_go(&r);
    WAIT_FOR(done_calls == 1);
    assert_true(ticks_at_done >= 5);
    assert_complete(&r);
    uv_timer_stop(&tick);
    assert_int_equal(uvtest_close(), 0);
    assert_int_equal(tmpdir_remove(dir), 0);
}

static int sigints;
static void on_sigint(uv_signal_t *h, int signum)
{
    (void)signum;
    sigints++;
    uv_stop(h->loop); /* as relay --listen's on_signal */
}

/* SIGINT while a close is in progress: relay --listen stops its loop, so
 * the close's wake-up never runs; lp_session_wait_closes, called before
 * the process returns from main, waits for the writer and reports the
 * close. When it returns the file is complete, the summary last, and done
 * has run: exiting then cuts nothing short. */
static void test_sigint_waits_for_a_close_in_progress(void **state)
{
    (void)state;
    char dir[256];
    struct lp_session s;
    static struct reader r;
    open_blocked(&s, &r, dir, sizeof dir, "close-sigint");
    done_calls = 0;

    assert_int_equal(uvtest_open(120000), 0);
    uv_signal_t sig;
    uv_signal_init(&uvtest_loop, &sig);
    uv_signal_start(&sig, on_sigint, SIGINT);
    json_t *extra = json_pack("{s:s}", "ending", "test over");
    assert_int_equal(
        lp_session_close_async(&s, &uvtest_loop, "test", extra, "test over", 0, on_done, NULL), 1);
    json_decref(extra);
    assert_int_equal(kill(getpid(), SIGINT), 0);
    uv_run(&uvtest_loop, UV_RUN_DEFAULT); /* until the SIGINT (or the deadline) stops it */
    assert_false(uvtest_timed_out);
    assert_int_equal(sigints, 1);
    /* The loop has stopped with the writer still blocked on the sink. */
    assert_int_equal(done_calls, 0);
    reader_go(&r);
    lp_session_wait_closes();
    assert_int_equal(done_calls, 1);
    assert_complete(&r);
    uv_signal_stop(&sig);
    assert_int_equal(uvtest_close(), 0);
    assert_int_equal(tmpdir_remove(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_close_leaves_the_loop_running_while_the_sink_is_blocked),
        cmocka_unit_test(test_sigint_waits_for_a_close_in_progress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
