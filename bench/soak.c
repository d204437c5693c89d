/*
 * soak: the editor's side of the soak benchmark (scripts/soak.sh; not a
 * test: it reports, and fails only when bytes come back wrong or CMD ends
 * badly).
 *
 *   soak SECONDS SCRIPT_DIR -- CMD...
 *
 * SCRIPT_DIR holds a recorded session cut into exchanges (see
 * bench/soak_peer.c): c2s.bin, s2c.bin and index. soak spawns CMD on pipes
 * (lsptap's gopls stand-in in front of bench/soak_peer, which answers each
 * editor message with what the recorded server sent after it) and plays
 * the editor's messages in a loop, one exchange at a time, as fast as the
 * answers come back, for SECONDS: it writes message k, then reads exactly
 * the bytes the server sent after it in the recording and checks that they
 * are those bytes. The latency of an exchange with an answer is the time
 * from the first byte written to the last byte of the answer read.
 *
 * While it runs it samples CMD's RSS (VmRSS) every SOAK_SAMPLE_S seconds
 * (default 10) as `rss t_s=... kib=...` lines, and counts CMD's open file
 * descriptors (/proc/PID/fd) after the first loop and at the end. Then one
 * `result mode=soak key=value ...` line: messages (both ways) and MB (both
 * ways) a second, exchange latency p50/p90/p99/max in µs, fds, RSS at start
 * and end, peak RSS (VmHWM), CPU time of CMD, and CMD's exit status after
 * its stdin closed. Exit 0 when every byte came back right and CMD exited 0.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_proc.h"

enum {
    SK_IO_TIMEOUT_MS = 30000, /* no answer for this long: the relay is stuck */
    SK_HIST_US = 100000,      /* latency histogram: 1 µs buckets up to 100 ms */
};

struct sk_script {
    char *c2s, *s2c;
    size_t *c_off, *s_off; /* message k: c2s[c_off[k]..c_off[k+1]), its answer likewise */
    unsigned *s_frames;    /* frames in answer k */
    size_t n;
};

static pid_t sk_child;

static double sk_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static _Noreturn void sk_fail(const char *what)
{
    fprintf(stderr, "soak: %s%s%s\n", what, errno ? ": " : "", errno ? strerror(errno) : "");
    if (sk_child > 0) {
        kill(sk_child, SIGKILL);
        waitpid(sk_child, NULL, 0);
    }
    exit(1);
}

static char *sk_slurp(const char *dir, const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) sk_fail(path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) sk_fail(path);
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static void sk_load(const char *dir, struct sk_script *s)
{
    size_t clen, slen, ilen;
    s->c2s = sk_slurp(dir, "c2s.bin", &clen);
    s->s2c = sk_slurp(dir, "s2c.bin", &slen);
    char *idx = sk_slurp(dir, "index", &ilen);
    size_t lines = 0;
    for (size_t i = 0; i < ilen; i++)
        lines += idx[i] == '\n';
    s->c_off = calloc(lines + 1, sizeof *s->c_off);
    s->s_off = calloc(lines + 1, sizeof *s->s_off);
    s->s_frames = calloc(lines + 1, sizeof *s->s_frames);
    if (!s->c_off || !s->s_off || !s->s_frames) sk_fail("calloc");
    char *p = idx;
    for (s->n = 0; s->n < lines; s->n++) {
        unsigned long long c, a, f;
        int used;
        if (sscanf(p, "%llu %llu %llu\n%n", &c, &a, &f, &used) != 3) break;
        s->c_off[s->n + 1] = s->c_off[s->n] + (size_t)c;
        s->s_off[s->n + 1] = s->s_off[s->n] + (size_t)a;
        s->s_frames[s->n] = (unsigned)f;
        p += used;
    }
    free(idx);
    errno = 0;
    if (!s->n || s->c_off[s->n] != clen || s->s_off[s->n] != slen)
        sk_fail("the script's index does not match c2s.bin and s2c.bin");
}

static int sk_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void sk_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) sk_fail("write to CMD");
        p += w;
        n -= (size_t)w;
    }
}

/* Reads exactly n bytes into buf. */
static void sk_read_exact(int fd, char *buf, size_t n)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (n > 0) {
        int k = poll(&p, 1, SK_IO_TIMEOUT_MS);
        if (k < 0 && errno == EINTR) continue;
        errno = 0;
        if (k == 0) sk_fail("no answer within 30 s: the relay is stuck");
        ssize_t r = read(fd, buf, n);
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (r <= 0) sk_fail("CMD closed its stdout");
        buf += r;
        n -= (size_t)r;
    }
}

/* The latency at quantile q of the histogram (µs). */
static double sk_pct(const uint64_t *hist, uint64_t total, double q, double max)
{
    uint64_t want = (uint64_t)(q * (double)(total - 1)) + 1, seen = 0;
    for (int i = 0; i <= SK_HIST_US; i++) {
        seen += hist[i];
        if (seen >= want) return i == SK_HIST_US ? max : i + 0.5;
    }
    return max;
}

int main(int argc, char **argv)
{
    if (argc < 5 || strcmp(argv[3], "--")) {
        fprintf(stderr, "usage: soak SECONDS SCRIPT_DIR -- CMD...\n");
        return 2;
    }
    double seconds = atof(argv[1]);
    const char *ss = getenv("SOAK_SAMPLE_S");
    double sample_s = ss && atof(ss) > 0 ? atof(ss) : 10;
    struct sk_script s;
    sk_load(argv[2], &s);
    size_t maxans = 0;
    for (size_t k = 0; k < s.n; k++)
        if (s.s_off[k + 1] - s.s_off[k] > maxans) maxans = s.s_off[k + 1] - s.s_off[k];
    char *ans = malloc(maxans + 1);
    uint64_t *hist = calloc(SK_HIST_US + 1, sizeof *hist);
    if (!ans || !hist) sk_fail("malloc");

    signal(SIGPIPE, SIG_IGN);
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC)) sk_fail("pipe");
    sk_child = fork();
    if (sk_child < 0) sk_fail("fork");
    if (sk_child == 0) {
        if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0) _exit(127);
        signal(SIGPIPE, SIG_DFL);
        execvp(argv[4], argv + 4);
        fprintf(stderr, "soak: exec %s: %s\n", argv[4], strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    int to = in[1], from = out[0];

    uint64_t msgs = 0, bytes = 0, loops = 0, exchanges = 0, mismatched = 0;
    double max_us = 0, t0 = sk_now_us(), next_sample = 0;
    int fds_start = -1;
    long rss_start = -1;
    for (;;) {
        for (size_t k = 0; k < s.n; k++) {
            size_t clen = s.c_off[k + 1] - s.c_off[k], alen = s.s_off[k + 1] - s.s_off[k];
            double a = sk_now_us();
            sk_write_all(to, s.c2s + s.c_off[k], clen);
            sk_read_exact(from, ans, alen);
            if (alen) {
                double us = sk_now_us() - a;
                hist[us < SK_HIST_US ? (int)us : SK_HIST_US]++;
                if (us > max_us) max_us = us;
                exchanges++;
                if (memcmp(ans, s.s2c + s.s_off[k], alen)) mismatched++;
            }
            msgs += 1 + s.s_frames[k];
            bytes += clen + alen;
        }
        loops++;
        double t = (sk_now_us() - t0) / 1e6;
        if (loops == 1) { /* the handshake and the first of everything are done */
            fds_start = sk_fds(sk_child);
            rss_start = bench_status_kib(sk_child, "VmRSS");
        }
        if (t >= next_sample) {
            printf("rss t_s=%.0f kib=%ld fds=%d\n", t, bench_status_kib(sk_child, "VmRSS"),
                   sk_fds(sk_child));
            fflush(stdout);
            next_sample += sample_s;
        }
        if (t >= seconds) break;
    }
    double secs = (sk_now_us() - t0) / 1e6;
    int fds_end = sk_fds(sk_child);
    long rss_end = bench_status_kib(sk_child, "VmRSS"), hwm = bench_status_kib(sk_child, "VmHWM");
    double cpu = bench_cpu_ms(sk_child);
    close(to);
    char drain[65536];
    long long extra = 0;
    for (ssize_t r; (r = read(from, drain, sizeof drain)) != 0;) {
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) break;
        extra += r;
    }
    int st = 0;
    while (waitpid(sk_child, &st, 0) < 0 && errno == EINTR) {
    }
    char status[32];
    if (WIFEXITED(st))
        snprintf(status, sizeof status, "exit=%d", WEXITSTATUS(st));
    else
        snprintf(status, sizeof status, "signal=%d", WTERMSIG(st));
    printf("result mode=soak seconds=%.1f loops=%llu messages=%llu msgs_s=%.0f mb_s=%.2f "
           "exchanges=%llu p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f mismatched=%llu "
           "fds_start=%d fds_end=%d rss_start_kib=%ld rss_end_kib=%ld hwm_kib=%ld cpu_ms=%.0f "
           "extra=%lld %s\n",
           secs, (unsigned long long)loops, (unsigned long long)msgs, (double)msgs / secs,
           (double)bytes / 1e6 / secs, (unsigned long long)exchanges,
           sk_pct(hist, exchanges, 0.50, max_us), sk_pct(hist, exchanges, 0.90, max_us),
           sk_pct(hist, exchanges, 0.99, max_us), max_us, (unsigned long long)mismatched, fds_start,
           fds_end, rss_start, rss_end, hwm, cpu, extra, status);
    return !mismatched && !extra && WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : 1;
}
