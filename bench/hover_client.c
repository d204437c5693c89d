/*
 * hover_client: the editor's side of the remote-hover benchmark. It spawns
 * CMD (a language server, or whatever stands between the editor and one) on
 * pipes, as VS Code would, and speaks real LSP to it:
 *
 *   hover_client --root DIR [--file REL] [--line L] [--char C] [-n N]
 *                [--warmup W] [--dump FILE] -- CMD...
 *
 * initialize (rootUri and one workspace folder DIR), initialized, didOpen REL
 * (default main.go), then textDocument/hover at L:C (0-based, default 17:14,
 * `greet.New` in tests/example/main.go) until the answer is not null: the
 * workspace has loaded. W more hovers (default 20) are not counted; then N
 * hovers (default 200), one at a time, each timed from the first byte of the
 * request written to the last byte of its response read. Requests the server
 * makes meanwhile are answered as VS Code would (settings: {}; everything
 * else: null), which a hover in steady state never waits for.
 *
 * Every timed answer must be non-null and equal to the first one (compared
 * as canonical JSON, keys sorted, so a forwarder that re-encodes JSON still
 * compares equal); the result line carries a 64-bit FNV-1a hash of it, so a
 * script can check that every configuration answered the same, and --dump
 * writes it to FILE. Before shutdown it samples CMD's peak RSS (VmHWM) and
 * CPU time from /proc; then shutdown, exit, stdin closed, CMD reaped.
 *
 *   hover_client --free-port
 *
 * prints a loopback TCP port that nothing listened on a moment ago, for a
 * server (gopls serve -listen) that cannot report the port it got for 0.
 *
 * The result is one line on stdout, `result mode=hover key=value ...`, for
 * scripts/bench-remote.sh, ending with CMD's own ending (`exit=N` or
 * `signal=N`): gopls's forwarder exits 2 after `exit` ("remote
 * disconnected"), which says nothing about the hovers. Exit status: 0 when
 * every hover was answered, non-null and identical; else 1; 2 for a usage
 * error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum {
    HC_IO_TIMEOUT_MS = 30000, /* no byte from the server for this long: it is stuck */
    HC_MAX_FRAME = 64 << 20,  /* a larger Content-Length is a broken stream */
};

struct hc_child {
    pid_t pid;
    int to_child;   /* its stdin */
    int from_child; /* its stdout */
};

/* Bytes read from the server and not yet consumed as frames. */
struct hc_in {
    char *buf;
    size_t len, cap;
};

static pid_t hc_child_pid; /* killed on any failure: a benchmark leaves no orphans */

static double hc_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static _Noreturn void hc_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("hover_client: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (hc_child_pid > 0) {
        kill(hc_child_pid, SIGKILL);
        waitpid(hc_child_pid, NULL, 0);
    }
    exit(1);
}

static _Noreturn void hc_die(const char *what)
{
    hc_fail("%s: %s", what, strerror(errno));
}

static void hc_spawn(struct hc_child *c, char **argv)
{
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) hc_die("pipe");
    c->pid = fork();
    if (c->pid < 0) hc_die("fork");
    if (c->pid == 0) {
        if (dup2(in[0], STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0) _exit(127);
        signal(SIGPIPE, SIG_DFL);
        execvp(argv[0], argv);
        fprintf(stderr, "hover_client: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    hc_child_pid = c->pid;
    close(in[0]);
    close(out[1]);
    c->to_child = in[1];
    c->from_child = out[0];
}

static void hc_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            hc_die("write to server");
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Writes one frame whose body is the printf-style text. */
static void hc_send(struct hc_child *c, const char *fmt, ...)
{
    static char body[1 << 16], frame[(1 << 16) + 64];
    va_list ap;
    va_start(ap, fmt);
    int blen = vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    if (blen < 0 || (size_t)blen >= sizeof body) hc_fail("message too long");
    int flen = snprintf(frame, sizeof frame, "Content-Length: %d\r\n\r\n%s", blen, body);
    hc_write_all(c->to_child, frame, (size_t)flen);
}

static void hc_send_json(struct hc_child *c, json_t *msg)
{
    char *s = json_dumps(msg, JSON_COMPACT);
    if (!s) hc_fail("json_dumps");
    hc_send(c, "%s", s);
    free(s);
}

/* Returns the next message from the server, or NULL when none came within
 * timeout_ms (-1: HC_IO_TIMEOUT_MS, and then it is an error). */
static json_t *hc_recv(struct hc_child *c, struct hc_in *in, int timeout_ms)
{
    int fatal = timeout_ms < 0;
    double deadline = hc_now_us() + (fatal ? HC_IO_TIMEOUT_MS : timeout_ms) * 1e3;
    for (;;) {
        const char *end = in->len ? memmem(in->buf, in->len, "\r\n\r\n", 4) : NULL;
        if (end) {
            size_t hlen = (size_t)(end - in->buf) + 4;
            const char *cl = memmem(in->buf, hlen, "Content-Length:", 15);
            if (!cl) hc_fail("a frame without Content-Length");
            long blen = strtol(cl + 15, NULL, 10);
            if (blen < 0 || blen > HC_MAX_FRAME) hc_fail("Content-Length %ld", blen);
            if (in->len >= hlen + (size_t)blen) {
                json_error_t jerr;
                json_t *msg = json_loadb(in->buf + hlen, (size_t)blen, 0, &jerr);
                if (!msg) hc_fail("server sent invalid JSON: %s", jerr.text);
                memmove(in->buf, in->buf + hlen + blen, in->len - hlen - (size_t)blen);
                in->len -= hlen + (size_t)blen;
                return msg;
            }
        }
        if (in->cap - in->len < 65536) {
            in->cap = in->cap ? in->cap * 2 : 1 << 20;
            if (in->cap > 2 * (size_t)HC_MAX_FRAME) hc_fail("input buffer overflow");
            in->buf = realloc(in->buf, in->cap);
            if (!in->buf) hc_die("realloc");
        }
        int left = (int)((deadline - hc_now_us()) / 1e3);
        if (left < 0) left = 0;
        struct pollfd p = {.fd = c->from_child, .events = POLLIN};
        int n = poll(&p, 1, left);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) hc_die("poll");
        if (n == 0) {
            if (fatal) hc_fail("no message from the server for %d ms", HC_IO_TIMEOUT_MS);
            return NULL;
        }
        ssize_t r = read(c->from_child, in->buf + in->len, in->cap - in->len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) hc_die("read from server");
        if (r == 0) hc_fail("the server closed its stdout");
        in->len += (size_t)r;
    }
}

/* Answers a request from the server the way VS Code does in the e2e tests'
 * editor (tests/e2e/lib/lsp.mjs): no settings, yes to everything else. */
static void hc_answer(struct hc_child *c, json_t *msg)
{
    const char *method = json_string_value(json_object_get(msg, "method"));
    json_t *result = json_null();
    if (method && !strcmp(method, "workspace/configuration")) {
        size_t n = json_array_size(json_object_get(json_object_get(msg, "params"), "items"));
        result = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(result, json_object());
    }
    json_t *reply = json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", json_object_get(msg, "id"),
                              "result", result);
    hc_send_json(c, reply);
    json_decref(reply);
}

/* Reads until the response to request `id` and returns it; answers server
 * requests and drops notifications on the way. */
static json_t *hc_wait_response(struct hc_child *c, struct hc_in *in, long id)
{
    for (;;) {
        json_t *msg = hc_recv(c, in, -1);
        json_t *mid = json_object_get(msg, "id");
        if (json_object_get(msg, "method")) {
            if (mid) hc_answer(c, msg);
        } else if (json_is_integer(mid) && json_integer_value(mid) == id) {
            return msg;
        }
        json_decref(msg);
    }
}

/* Handles whatever the server sends for ms milliseconds. */
static void hc_pump(struct hc_child *c, struct hc_in *in, int ms)
{
    double deadline = hc_now_us() + ms * 1e3;
    for (;;) {
        int left = (int)((deadline - hc_now_us()) / 1e3);
        if (left <= 0) return;
        json_t *msg = hc_recv(c, in, left);
        if (!msg) return;
        if (json_object_get(msg, "method") && json_object_get(msg, "id")) hc_answer(c, msg);
        json_decref(msg);
    }
}

static uint64_t hc_fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* The hover result of a response as canonical JSON (malloc'ed), or NULL
 * when it is null, missing or an error. */
static char *hc_canonical_result(json_t *resp)
{
    json_t *r = json_object_get(resp, "result");
    if (!r || json_is_null(r) || json_object_get(resp, "error")) return NULL;
    return json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
}

/* VmHWM from /proc/PID/status, in KiB; -1 when unreadable. */
static long hc_hwm_kib(pid_t pid)
{
    char path[64], line[256];
    long kib = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1) break;
    fclose(f);
    return kib;
}

/* utime+stime from /proc/PID/stat (fields 14 and 15), in ms; -1 when unreadable. */
static double hc_cpu_ms(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

/* Closes CMD's stdin, drains its stdout to EOF and reaps it (SIGKILL after
 * the I/O timeout); writes "exit=N" or "signal=N". */
static void hc_reap(struct hc_child *c, char *status, size_t len)
{
    char buf[65536];
    close(c->to_child);
    for (;;) {
        struct pollfd p = {.fd = c->from_child, .events = POLLIN};
        if (poll(&p, 1, HC_IO_TIMEOUT_MS) <= 0) break;
        ssize_t r = read(c->from_child, buf, sizeof buf);
        if (r == 0 || (r < 0 && errno != EINTR)) break;
    }
    close(c->from_child);
    int st = 0;
    double deadline = hc_now_us() + HC_IO_TIMEOUT_MS * 1e3;
    for (;;) {
        pid_t w = waitpid(c->pid, &st, WNOHANG);
        if (w == c->pid) break;
        if (w < 0 && errno != EINTR) hc_die("waitpid");
        if (hc_now_us() > deadline) {
            fprintf(stderr, "hover_client: server %d did not exit after exit; killing it\n",
                    (int)c->pid);
            kill(c->pid, SIGKILL);
            deadline = hc_now_us() + 60e6;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    hc_child_pid = 0;
    if (WIFEXITED(st))
        snprintf(status, len, "exit=%d", WEXITSTATUS(st));
    else
        snprintf(status, len, "signal=%d", WTERMSIG(st));
}

static int hc_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double hc_pct(const double *sorted, int n, double p)
{
    return sorted[(int)(p * (n - 1) + 0.5)];
}

/* Writes s as a JSON string body: the paths come from the command line. */
static char *hc_json_str(const char *s)
{
    json_t *j = json_string(s);
    char *out = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    if (!out) hc_fail("not UTF-8: %s", s);
    return out;
}

struct hc_opts {
    const char *root, *file, *dump;
    int line, character, n, warmup;
};

static int hc_run(const struct hc_opts *o, char **cmd)
{
    char rooturi[4200], docuri[4400];
    snprintf(rooturi, sizeof rooturi, "file://%s", o->root);
    snprintf(docuri, sizeof docuri, "%s/%s", rooturi, o->file);
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", o->root, o->file);
    FILE *f = fopen(path, "r");
    if (!f) hc_die(path);
    static char text[1 << 15];
    size_t tlen = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[tlen] = '\0';
    char *jroot = hc_json_str(rooturi), *jdoc = hc_json_str(docuri), *jtext = hc_json_str(text);

    struct hc_child c;
    struct hc_in in = {0};
    hc_spawn(&c, cmd);
    double t_start = hc_now_us();
    long id = 0;
    /* The capabilities the e2e tests' editor announces (tests/e2e/lib/lsp.mjs). */
    hc_send(&c,
            "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"initialize\",\"params\":{"
            "\"processId\":%d,\"clientInfo\":{\"name\":\"lsptap-bench\"},\"rootUri\":%s,"
            "\"workspaceFolders\":[{\"uri\":%s,\"name\":\"ws\"}],\"capabilities\":{"
            "\"workspace\":{\"configuration\":true,\"workspaceFolders\":true,"
            "\"didChangeConfiguration\":{\"dynamicRegistration\":true}},"
            "\"textDocument\":{\"synchronization\":{\"dynamicRegistration\":true,\"didSave\":true},"
            "\"hover\":{\"contentFormat\":[\"markdown\",\"plaintext\"]}},"
            "\"window\":{\"workDoneProgress\":true}},\"initializationOptions\":{}}}",
            ++id, (int)getpid(), jroot, jroot);
    json_t *init = hc_wait_response(&c, &in, id);
    if (!json_object_get(init, "result")) {
        char *s = json_dumps(init, JSON_COMPACT);
        hc_fail("initialize failed: %s", s ? s : "?");
    }
    json_decref(init);
    hc_send(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"initialized\",\"params\":{}}");
    hc_send(&c,
            "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didOpen\",\"params\":{\"textDocument\":"
            "{\"uri\":%s,\"languageId\":\"go\",\"version\":1,\"text\":%s}}}",
            jdoc, jtext);

    static char hover[8192];
    snprintf(hover, sizeof hover,
             "{\"jsonrpc\":\"2.0\",\"id\":%%ld,\"method\":\"textDocument/hover\",\"params\":{"
             "\"textDocument\":{\"uri\":%s},\"position\":{\"line\":%d,\"character\":%d}}}",
             jdoc, o->line, o->character);

    /* The workspace has loaded when the hover has an answer. */
    char *want = NULL;
    int tries = 0;
    while (!want) {
        if (hc_now_us() - t_start > 60e6) hc_fail("hover still null after 60 s: no workspace");
        if (tries++) hc_pump(&c, &in, 100);
        hc_send(&c, hover, ++id);
        json_t *r = hc_wait_response(&c, &in, id);
        want = hc_canonical_result(r);
        json_decref(r);
    }
    double load_ms = (hc_now_us() - t_start) / 1e3;

    double *rtt = calloc((size_t)o->n, sizeof *rtt);
    if (!rtt) hc_die("calloc");
    int nulls = 0, differ = 0;
    for (int i = -o->warmup; i < o->n; i++) {
        double t0 = hc_now_us();
        hc_send(&c, hover, ++id);
        json_t *r = hc_wait_response(&c, &in, id);
        double t1 = hc_now_us();
        if (i < 0) {
            json_decref(r);
            continue;
        }
        rtt[i] = t1 - t0;
        char *got = hc_canonical_result(r);
        json_decref(r);
        if (!got)
            nulls++;
        else if (strcmp(got, want))
            differ++;
        free(got);
    }

    long hwm = hc_hwm_kib(c.pid);
    double cpu = hc_cpu_ms(c.pid);
    hc_send(&c, "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"shutdown\"}", ++id);
    json_decref(hc_wait_response(&c, &in, id));
    hc_send(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"exit\"}");
    char status[32];
    hc_reap(&c, status, sizeof status);

    if (o->dump) {
        FILE *d = fopen(o->dump, "w");
        if (!d || fprintf(d, "%s\n", want) < 0 || fclose(d)) hc_die(o->dump);
    }
    double sum = 0;
    for (int i = 0; i < o->n; i++)
        sum += rtt[i];
    qsort(rtt, (size_t)o->n, sizeof *rtt, hc_cmp_double);
    printf("result mode=hover n=%d p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f mean_us=%.1f "
           "load_ms=%.0f hover_hash=%016llx hover_bytes=%zu nulls=%d differ=%d hwm_kib=%ld "
           "cpu_ms=%.0f %s\n",
           o->n, hc_pct(rtt, o->n, 0.50), hc_pct(rtt, o->n, 0.90), hc_pct(rtt, o->n, 0.99),
           rtt[o->n - 1], sum / o->n, load_ms, (unsigned long long)hc_fnv1a(want), strlen(want),
           nulls, differ, hwm, cpu, status);
    free(rtt);
    free(want);
    free(in.buf);
    free(jroot);
    free(jdoc);
    free(jtext);
    return nulls == 0 && differ == 0 ? 0 : 1;
}

/* Binds 127.0.0.1:0, reads the port the kernel chose, and lets it go. */
static int hc_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        hc_die("free port");
    printf("%d\n", ntohs(a.sin_port));
    close(fd);
    return 0;
}

static int hc_usage(void)
{
    fprintf(stderr, "usage: hover_client --root DIR [--file REL] [--line L] [--char C] [-n N]\n"
                    "                    [--warmup W] [--dump FILE] -- CMD...\n"
                    "       hover_client --free-port\n");
    return 2;
}

static int hc_int(const char *s, int min, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < min || v > 1000000) return -1;
    *out = (int)v;
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc == 2 && !strcmp(argv[1], "--free-port")) return hc_free_port();
    struct hc_opts o = {.file = "main.go", .line = 17, .character = 14, .n = 200, .warmup = 20};
    int i;
    for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return hc_usage();
        i++;
        if (!strcmp(a, "--root"))
            o.root = v;
        else if (!strcmp(a, "--file"))
            o.file = v;
        else if (!strcmp(a, "--dump"))
            o.dump = v;
        else if ((!strcmp(a, "--line") && !hc_int(v, 0, &o.line)) ||
                 (!strcmp(a, "--char") && !hc_int(v, 0, &o.character)) ||
                 (!strcmp(a, "-n") && !hc_int(v, 1, &o.n)) ||
                 (!strcmp(a, "--warmup") && !hc_int(v, 0, &o.warmup)))
            continue;
        else
            return hc_usage();
    }
    if (!o.root || o.root[0] != '/' || i + 1 >= argc) return hc_usage();
    return hc_run(&o, argv + i + 1);
}
