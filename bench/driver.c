/*
 * driver: the editor's side of a benchmark. It spawns CMD with its stdin and
 * stdout on pipes (stderr is inherited), talks Content-Length frames to it,
 * and expects every frame echoed back unchanged (bench/echo_peer behind
 * whatever CMD is: nothing, socat, or lsptap).
 *
 *   driver latency N -- CMD...
 *       N requests of ~200 bytes, one at a time, each waiting for its echo;
 *       reports the round-trip p50/p90/p99 in microseconds.
 *   driver throughput TOTAL_MIB FRAME_KIB [--body=code|ascii] -- CMD...
 *       TOTAL_MIB of notifications, FRAME_KIB each, written while the echo is
 *       read (one poll loop); reports MiB/s from the first byte written to
 *       the last byte read, and checks every byte that came back. The string
 *       in each body is Go source with JSON escapes (code, the default) or
 *       plain ASCII without a single escape (ascii): the pair shows what a
 *       JSON scanner's escape handling costs.
 *   driver frame FRAME_KIB [--body=code|ascii]
 *       writes one frame of the throughput run to stdout and exits (the
 *       input of bench/inspect.c).
 *
 * Before closing CMD's stdin it reads CMD's peak RSS (VmHWM) and CPU time
 * from /proc, so when CMD is lsptap these are lsptap's own; then it closes
 * stdin, waits for CMD and reports its exit status. The result is one line
 * on stdout, `result mode=... key=value ...`, for scripts/bench.sh.
 * Exit status: 0 when every echo was right and CMD exited 0, else 1;
 * 2 for a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_proc.h"

enum {
    DR_IO_TIMEOUT_MS = 30000, /* no progress for this long: the relay is stuck */
    DR_WARMUP = 100,          /* latency round trips not counted */
    DR_RBUF = 1 << 20,
};

struct dr_child {
    pid_t pid;
    int to_child;   /* its stdin */
    int from_child; /* its stdout */
};

struct dr_usage {
    long hwm_kib;    /* CMD's peak RSS before its stdin closed; -1 if unknown */
    double cpu_ms;   /* CMD's own user+system CPU before its stdin closed */
    double tree_ms;  /* CMD and the children it reaped, from wait4 */
    char status[32]; /* "exit=N" or "signal=N" */
    int ok;          /* exited 0 */
};

static double dr_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static pid_t dr_child_pid; /* killed on any failure: a benchmark leaves no orphans */

static _Noreturn void dr_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("driver: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (dr_child_pid > 0) {
        kill(dr_child_pid, SIGKILL);
        waitpid(dr_child_pid, NULL, 0);
    }
    exit(1);
}

static _Noreturn void dr_die(const char *what)
{
    dr_fail("%s: %s", what, strerror(errno));
}

static int dr_spawn(struct dr_child *c, char **argv)
{
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) dr_die("pipe");
    c->pid = fork();
    if (c->pid < 0) dr_die("fork");
    if (c->pid == 0) {
        if (dup2(in[0], STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0) _exit(127);
        signal(SIGPIPE, SIG_DFL);
        execvp(argv[0], argv);
        fprintf(stderr, "driver: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    dr_child_pid = c->pid;
    close(in[0]);
    close(out[1]);
    c->to_child = in[1];
    c->from_child = out[0];
    return 0;
}

/* Waits until fd is ready for `events`; exits the driver when nothing
 * happens for DR_IO_TIMEOUT_MS, so a stuck relay cannot hang the bench. */
static void dr_wait_fd(int fd, short events, const char *what)
{
    struct pollfd p = {.fd = fd, .events = events};
    for (;;) {
        int n = poll(&p, 1, DR_IO_TIMEOUT_MS);
        if (n > 0) return;
        if (n == 0) dr_fail("%s: no progress for %d ms", what, DR_IO_TIMEOUT_MS);
        if (errno != EINTR) dr_die("poll");
    }
}

static void dr_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            dr_die("write to child");
        }
        p += w;
        n -= (size_t)w;
    }
}

static size_t dr_read_some(int fd, char *buf, size_t cap, const char *what)
{
    for (;;) {
        dr_wait_fd(fd, POLLIN, what);
        ssize_t r = read(fd, buf, cap);
        if (r >= 0) return (size_t)r;
        if (errno != EINTR && errno != EAGAIN) dr_die("read from child");
    }
}

/* Samples CMD's usage, closes its stdin, drains its stdout to EOF (counting
 * bytes nobody asked for), and reaps it; SIGKILL after the I/O timeout. */
static void dr_finish(struct dr_child *c, struct dr_usage *u, long long *extra)
{
    char buf[65536];
    u->hwm_kib = bench_status_kib(c->pid, "VmHWM");
    u->cpu_ms = bench_cpu_ms(c->pid);
    close(c->to_child);
    *extra = 0;
    int fl = fcntl(c->from_child, F_GETFL);
    fcntl(c->from_child, F_SETFL, fl & ~O_NONBLOCK);
    for (;;) {
        ssize_t r = read(c->from_child, buf, sizeof(buf));
        if (r > 0) *extra += r;
        if (r == 0 || (r < 0 && errno != EINTR)) break;
    }
    close(c->from_child);
    int st = 0;
    struct rusage ru;
    double deadline = dr_now_us() + DR_IO_TIMEOUT_MS * 1e3;
    for (;;) {
        pid_t w = wait4(c->pid, &st, WNOHANG, &ru);
        if (w == c->pid) break;
        if (w < 0 && errno != EINTR) dr_die("wait4");
        if (dr_now_us() > deadline) {
            fprintf(stderr, "driver: child %d did not exit after stdin EOF; killing it\n",
                    (int)c->pid);
            kill(c->pid, SIGKILL);
            deadline = dr_now_us() + 60e6;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    u->tree_ms = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
                 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
    if (WIFEXITED(st))
        snprintf(u->status, sizeof(u->status), "exit=%d", WEXITSTATUS(st));
    else
        snprintf(u->status, sizeof(u->status), "signal=%d", WTERMSIG(st));
    u->ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Returns the Content-Length of the header block that ends in buf[0..len),
 * and its length in *hlen; -1 while the block is incomplete. */
static long dr_parse_header(const char *buf, size_t len, size_t *hlen)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end) return -1;
    *hlen = (size_t)(end - buf) + 4;
    const char *cl = memmem(buf, *hlen, "Content-Length: ", 16);
    if (!cl) dr_fail("echo without Content-Length");
    return strtol(cl + 16, NULL, 10);
}

static int dr_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double dr_pct(const double *sorted, int n, double p)
{
    int i = (int)(p * (n - 1) + 0.5);
    return sorted[i];
}

static int dr_latency(int n, char **cmd)
{
    struct dr_child c;
    dr_spawn(&c, cmd);
    double *rtt = calloc((size_t)n, sizeof(*rtt));
    char *rbuf = malloc(DR_RBUF);
    if (!rtt || !rbuf) dr_die("malloc");
    char frame[512];
    int bad = 0;
    for (int i = -DR_WARMUP; i < n; i++) {
        char body[400];
        int id = i + DR_WARMUP + 1;
        int blen = snprintf(body, sizeof(body),
                            "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"textDocument/hover\","
                            "\"params\":{\"textDocument\":{\"uri\":\"file:///home/dev/src/example."
                            "com/service/internal/handler/handler.go\"},\"position\":{\"line\":%d,"
                            "\"character\":%d}}}",
                            id, 100 + id % 900, id % 80);
        int flen = snprintf(frame, sizeof(frame), "Content-Length: %d\r\n\r\n%s", blen, body);
        double t0 = dr_now_us();
        dr_write_all(c.to_child, frame, (size_t)flen);
        size_t got = 0, hlen = 0;
        long clen = -1;
        while (clen < 0 || got < hlen + (size_t)clen) {
            size_t r = dr_read_some(c.from_child, rbuf + got, DR_RBUF - got, "latency echo");
            if (r == 0) dr_fail("child closed stdout after %d requests", id - 1);
            got += r;
            if (clen < 0) clen = dr_parse_header(rbuf, got, &hlen);
        }
        double t1 = dr_now_us();
        if (got != (size_t)flen || memcmp(rbuf, frame, got) != 0) bad++;
        if (i >= 0) rtt[i] = t1 - t0;
    }
    struct dr_usage u;
    long long extra;
    dr_finish(&c, &u, &extra);
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += rtt[i];
    qsort(rtt, (size_t)n, sizeof(*rtt), dr_cmp_double);
    printf("result mode=latency n=%d p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f "
           "mean_us=%.1f mismatched=%d hwm_kib=%ld cpu_ms=%.0f tree_cpu_ms=%.0f %s\n",
           n, dr_pct(rtt, n, 0.50), dr_pct(rtt, n, 0.90), dr_pct(rtt, n, 0.99), rtt[n - 1], sum / n,
           bad, u.hwm_kib, u.cpu_ms, u.tree_ms, u.status);
    free(rtt);
    free(rbuf);
    return bad == 0 && extra == 0 && u.ok ? 0 : 1;
}

/* One frame of exactly frame_bytes: a notification whose string parameter
 * looks like Go source in JSON (with \n, \t and \" escapes, as didOpen and
 * didChange carry), so a recorder that re-escapes bodies does real work;
 * with `ascii`, the same text with no escapes at all. */
static char *dr_big_frame(size_t body_len, int ascii, size_t *frame_len)
{
    static const char head[] =
        "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didChange\",\"params\":{\"text\":\"";
    static const char tail[] = "\"}}";
    static const char src[] = "func (s *server) handle(ctx context.Context) error {\\n"
                              "\\tif err := s.check(ctx, \\\"hover\\\"); err != nil {\\n"
                              "\\t\\treturn fmt.Errorf(\\\"handle: %w\\\", err)\\n\\t}\\n"
                              "\\treturn nil\\n}\\n\\n";
    static const char plain[] = "func (s *server) handle(ctx context.Context) error { "
                                "if err := s.check(ctx, hover); err != nil { "
                                "return fmt.Errorf(handle: %w, err) } return nil } ";
    const char *text = ascii ? plain : src;
    size_t tlen = ascii ? sizeof(plain) - 1 : sizeof(src) - 1;
    char hdr[64];
    int hl = snprintf(hdr, sizeof(hdr), "Content-Length: %zu\r\n\r\n", body_len);
    size_t fixed = sizeof(head) - 1 + sizeof(tail) - 1;
    if (body_len < fixed) {
        fprintf(stderr, "driver: frame too small\n");
        exit(2);
    }
    char *f = malloc((size_t)hl + body_len);
    if (!f) dr_die("malloc");
    char *p = f;
    memcpy(p, hdr, (size_t)hl), p += hl;
    memcpy(p, head, sizeof(head) - 1), p += sizeof(head) - 1;
    size_t fill = body_len - fixed;
    while (fill > 0) {
        size_t k = tlen < fill ? tlen : fill;
        /* never end the string inside an escape: pad the tail with spaces */
        if (k < tlen) {
            memset(p, ' ', k);
        } else {
            memcpy(p, text, k);
        }
        p += k;
        fill -= k;
    }
    memcpy(p, tail, sizeof(tail) - 1);
    *frame_len = (size_t)hl + body_len;
    return f;
}

static int dr_throughput(long total_mib, long frame_kib, int ascii, char **cmd)
{
    size_t flen;
    char *frame = dr_big_frame((size_t)frame_kib * 1024, ascii, &flen);
    long long nframes = total_mib * 1024 / frame_kib;
    unsigned long long total = (unsigned long long)nframes * flen;
    char *rbuf = malloc(DR_RBUF);
    if (!rbuf) dr_die("malloc");

    struct dr_child c;
    dr_spawn(&c, cmd);
    fcntl(c.to_child, F_SETFL, fcntl(c.to_child, F_GETFL) | O_NONBLOCK);
    fcntl(c.from_child, F_SETFL, fcntl(c.from_child, F_GETFL) | O_NONBLOCK);

    unsigned long long sent = 0, recv = 0;
    long long mismatch_at = -1;
    double t0 = dr_now_us();
    while (recv < total) {
        struct pollfd p[2] = {{.fd = c.from_child, .events = POLLIN},
                              {.fd = sent < total ? c.to_child : -1, .events = POLLOUT}};
        int n = poll(p, 2, DR_IO_TIMEOUT_MS);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) dr_die("poll");
        if (n == 0)
            dr_fail("throughput: no progress for %d ms (sent %llu, got %llu)", DR_IO_TIMEOUT_MS,
                    sent, recv);
        if (p[1].revents & (POLLOUT | POLLERR)) {
            size_t off = (size_t)(sent % flen);
            ssize_t w = write(c.to_child, frame + off, flen - off);
            if (w < 0 && errno != EAGAIN && errno != EINTR) dr_die("write to child");
            if (w > 0) sent += (unsigned long long)w;
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = read(c.from_child, rbuf, DR_RBUF);
            if (r < 0 && errno != EAGAIN && errno != EINTR) dr_die("read from child");
            if (r == 0) dr_fail("child closed stdout after %llu of %llu bytes", recv, total);
            /* The echo of a stream of identical frames: byte k is frame[k % flen]. */
            for (ssize_t i = 0; i < r && mismatch_at < 0;) {
                size_t off = (size_t)((recv + (unsigned long long)i) % flen);
                size_t k = flen - off < (size_t)(r - i) ? flen - off : (size_t)(r - i);
                if (memcmp(rbuf + i, frame + off, k) != 0) mismatch_at = (long long)(recv + i);
                i += (ssize_t)k;
            }
            if (r > 0) recv += (unsigned long long)r;
        }
    }
    double secs = (dr_now_us() - t0) / 1e6;
    struct dr_usage u;
    long long extra;
    dr_finish(&c, &u, &extra);
    printf(
        "result mode=throughput body=%s mib=%ld frame_kib=%ld frames=%lld seconds=%.3f mib_s=%.1f "
        "bytes_sent=%llu bytes_recv=%llu extra=%lld verified=%s hwm_kib=%ld cpu_ms=%.0f "
        "tree_cpu_ms=%.0f %s\n",
        ascii ? "ascii" : "code", total_mib, frame_kib, nframes, secs,
        (double)recv / (1024.0 * 1024.0) / secs, sent, recv, extra, mismatch_at < 0 ? "yes" : "no",
        u.hwm_kib, u.cpu_ms, u.tree_ms, u.status);
    if (mismatch_at >= 0) fprintf(stderr, "driver: echo differs at byte %lld\n", mismatch_at);
    free(frame);
    free(rbuf);
    return mismatch_at < 0 && extra == 0 && u.ok ? 0 : 1;
}

static int dr_usage_exit(void)
{
    fprintf(stderr, "usage: driver latency N -- CMD...\n"
                    "       driver throughput TOTAL_MIB FRAME_KIB [--body=code|ascii] -- CMD...\n"
                    "       driver frame FRAME_KIB [--body=code|ascii]\n");
    return 2;
}

static long dr_positive(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    return *s && !*end && v > 0 ? v : -1;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 3 && argc <= 4 && strcmp(argv[1], "frame") == 0) {
        long kib = dr_positive(argv[2]);
        int ascii = argc == 4 && strcmp(argv[3], "--body=ascii") == 0;
        if (kib <= 0 || (argc == 4 && !ascii && strcmp(argv[3], "--body=code") != 0))
            return dr_usage_exit();
        size_t flen;
        char *frame = dr_big_frame((size_t)kib * 1024, ascii, &flen);
        int ok = fwrite(frame, 1, flen, stdout) == flen && fflush(stdout) == 0;
        free(frame);
        return ok ? 0 : 1;
    }
    int dash = 0;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--") == 0) {
            dash = i;
            break;
        }
    if (argc < 2 || dash == 0 || dash + 1 >= argc) return dr_usage_exit();
    char **cmd = argv + dash + 1;
    if (strcmp(argv[1], "latency") == 0 && dash == 3) {
        long n = dr_positive(argv[2]);
        return n > 0 ? dr_latency((int)n, cmd) : dr_usage_exit();
    }
    if (strcmp(argv[1], "throughput") == 0 && (dash == 4 || dash == 5)) {
        long mib = dr_positive(argv[2]), kib = dr_positive(argv[3]);
        int ascii = 0;
        if (dash == 5 && strcmp(argv[4], "--body=ascii") == 0)
            ascii = 1;
        else if (dash == 5 && strcmp(argv[4], "--body=code") != 0)
            return dr_usage_exit();
        return mib > 0 && kib > 0 ? dr_throughput(mib, kib, ascii, cmd) : dr_usage_exit();
    }
    return dr_usage_exit();
}
