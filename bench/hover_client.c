/*
 * hover_client: the editor's side of the remote-hover benchmark. It runs
 * one LSP session per configuration at once, each with its command (a
 * language server, or whatever stands between the editor and one) spawned
 * on pipes as VS Code would, and takes turns among them hover by hover:
 *
 *   hover_client --root DIR [--file REL] [--line L] [--char C] [-n N]
 *                [--warmup W] [--dump FILE] -- NAME CMD... [-- NAME CMD...]...
 *
 * Each session in turn: initialize (rootUri and one workspace folder DIR),
 * initialized, didOpen REL (default main.go), then textDocument/hover at L:C
 * (0-based, default 17:14, `greet.New` in tests/example/main.go) until the
 * answer is not null: its workspace has loaded. Then W rounds of warm-up
 * hovers (default 20) and N timed rounds (default 200); a round sends one
 * hover to every session, one at a time, starting with a different session
 * each round. Taking turns hover by hover is the point: on a shared machine
 * whatever else runs slows every configuration alike, which separate runs
 * one after another cannot promise. Each hover is timed from the first byte
 * of the request written to the last byte of its response read. Requests the
 * servers make meanwhile are answered as VS Code would (settings: {};
 * everything else: null).
 *
 * Every timed answer must be non-null and equal to the session's first one
 * (compared as canonical JSON, keys sorted, so a forwarder that re-encodes
 * JSON still compares equal); the result line carries a 64-bit FNV-1a hash of
 * it, so a script can check that every configuration answered the same, and
 * --dump writes the first session's to FILE. Before shutdown it samples each
 * command's peak RSS (VmHWM) and CPU time from /proc; then shutdown, exit,
 * stdin closed, the command reaped.
 *
 *   hover_client --free-port
 *
 * prints a loopback TCP port that nothing listened on a moment ago, for a
 * server (gopls serve -listen) that cannot report the port it got for 0.
 *
 * Output: one line per session on stdout, `result name=NAME key=value ...`
 * ending with the command's own ending (`exit=N` or `signal=N`: gopls's
 * forwarder exits 2 after `exit`, "remote disconnected", which says nothing
 * about the hovers), or `result name=NAME failed=1` for a session that broke
 * (the reason on stderr; the other sessions carry on). Exit status: 0 when
 * every hover of every session was answered, non-null and identical; else 1;
 * 2 for a usage error.
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
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_proc.h"

enum {
    HC_IO_TIMEOUT_MS = 30000, /* no byte from a server for this long: it is stuck */
    HC_LOAD_TIMEOUT_MS = 60000,
    HC_MAX_FRAME = 64 << 20, /* a larger Content-Length is a broken stream */
    HC_MAX_SESS = 16,
};

/* One editor session: the command, its pipes, what it answered. */
struct hc_sess {
    const char *name;
    char **cmd;
    pid_t pid;
    int to;   /* its stdin */
    int from; /* its stdout */
    char *in; /* bytes read and not yet consumed as frames */
    size_t in_len, in_cap;
    long id;
    int dead; /* broke; why[] says how; the others carry on */
    char why[512];
    char *want; /* canonical JSON of the first non-null hover */
    double load_ms;
    double *rtt;
    int nulls, differ;
    long hwm_kib;
    double cpu_ms;
    char status[32];
};

static double hc_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Marks s broken, kills its command and says why on stderr; returns -1. */
static int hc_break(struct hc_sess *s, const char *fmt, ...)
{
    if (s->dead) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->why, sizeof s->why, fmt, ap);
    va_end(ap);
    fprintf(stderr, "hover_client: %s: %s\n", s->name, s->why);
    s->dead = 1;
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
    return -1;
}

static _Noreturn void hc_die(const char *what)
{
    fprintf(stderr, "hover_client: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int hc_spawn(struct hc_sess *s)
{
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) hc_die("pipe");
    s->pid = fork();
    if (s->pid < 0) hc_die("fork");
    if (s->pid == 0) {
        if (dup2(in[0], STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0) _exit(127);
        signal(SIGPIPE, SIG_DFL);
        execvp(s->cmd[0], s->cmd);
        fprintf(stderr, "hover_client: exec %s: %s\n", s->cmd[0], strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    s->to = in[1];
    s->from = out[0];
    return 0;
}

/* Writes one frame whose body is the printf-style text. */
static int hc_send(struct hc_sess *s, const char *fmt, ...)
{
    static char body[1 << 16], frame[(1 << 16) + 64];
    if (s->dead) return -1;
    va_list ap;
    va_start(ap, fmt);
    int blen = vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    if (blen < 0 || (size_t)blen >= sizeof body) return hc_break(s, "message too long");
    int flen = snprintf(frame, sizeof frame, "Content-Length: %d\r\n\r\n%s", blen, body);
    for (const char *p = frame; flen > 0;) {
        ssize_t w = write(s->to, p, (size_t)flen);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return hc_break(s, "write: %s", strerror(errno));
        p += w;
        flen -= (int)w;
    }
    return 0;
}

/* Next message from the server into *out: 0, or 1 when none came within
 * timeout_ms, or -1 when the session broke (the I/O timeout included). */
static int hc_recv(struct hc_sess *s, int timeout_ms, json_t **out)
{
    if (s->dead) return -1;
    double deadline = hc_now_us() + timeout_ms * 1e3;
    for (;;) {
        const char *end = s->in_len ? memmem(s->in, s->in_len, "\r\n\r\n", 4) : NULL;
        if (end) {
            size_t hlen = (size_t)(end - s->in) + 4;
            const char *cl = memmem(s->in, hlen, "Content-Length:", 15);
            if (!cl) return hc_break(s, "a frame without Content-Length");
            long blen = strtol(cl + 15, NULL, 10);
            if (blen < 0 || blen > HC_MAX_FRAME) return hc_break(s, "Content-Length %ld", blen);
            size_t flen = hlen + (size_t)blen;
            if (s->in_len >= flen) {
                json_error_t jerr;
                *out = json_loadb(s->in + hlen, (size_t)blen, 0, &jerr);
                if (!*out) return hc_break(s, "invalid JSON: %s", jerr.text);
                memmove(s->in, s->in + flen, s->in_len - flen);
                s->in_len -= flen;
                return 0;
            }
        }
        if (s->in_cap - s->in_len < 65536) {
            if (s->in_cap > 2 * (size_t)HC_MAX_FRAME) return hc_break(s, "input overflow");
            s->in_cap = s->in_cap ? s->in_cap * 2 : 1 << 20;
            s->in = realloc(s->in, s->in_cap);
            if (!s->in) hc_die("realloc");
        }
        int left = (int)((deadline - hc_now_us()) / 1e3);
        struct pollfd p = {.fd = s->from, .events = POLLIN};
        int n = poll(&p, 1, left > 0 ? left : 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) hc_die("poll");
        if (n == 0) return 1;
        ssize_t r = read(s->from, s->in + s->in_len, s->in_cap - s->in_len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return hc_break(s, "read: %s", strerror(errno));
        if (r == 0) return hc_break(s, "the server closed its stdout");
        s->in_len += (size_t)r;
    }
}

/* Answers a request from the server the way the e2e tests' editor does
 * (tests/e2e/lib/lsp.mjs, after VS Code): no settings, yes to the rest. */
static void hc_answer(struct hc_sess *s, json_t *msg)
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
    char *txt = json_dumps(reply, JSON_COMPACT);
    if (txt) hc_send(s, "%s", txt);
    free(txt);
    json_decref(reply);
}

/* Reads until the response to request `id` and returns it (NULL when the
 * session broke); answers server requests and drops notifications. */
static json_t *hc_wait_response(struct hc_sess *s, long id)
{
    for (;;) {
        json_t *msg;
        int r = hc_recv(s, HC_IO_TIMEOUT_MS, &msg);
        if (r == 1) hc_break(s, "no answer to request %ld in %d ms", id, HC_IO_TIMEOUT_MS);
        if (r) return NULL;
        json_t *mid = json_object_get(msg, "id");
        if (json_object_get(msg, "method")) {
            if (mid) hc_answer(s, msg);
        } else if (json_is_integer(mid) && json_integer_value(mid) == id) {
            return msg;
        }
        json_decref(msg);
    }
}

/* Handles whatever the server sends for ms milliseconds. */
static void hc_pump(struct hc_sess *s, int ms)
{
    double deadline = hc_now_us() + ms * 1e3;
    for (;;) {
        int left = (int)((deadline - hc_now_us()) / 1e3);
        json_t *msg;
        if (left <= 0 || hc_recv(s, left, &msg)) return;
        if (json_object_get(msg, "method") && json_object_get(msg, "id")) hc_answer(s, msg);
        json_decref(msg);
    }
}

static uint64_t hc_fnv1a(const char *p)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
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

/* Closes the command's stdin, drains its stdout to EOF and reaps it
 * (SIGKILL after the I/O timeout) into s->status. */
static void hc_reap(struct hc_sess *s)
{
    char buf[65536];
    close(s->to);
    for (;;) {
        struct pollfd p = {.fd = s->from, .events = POLLIN};
        if (poll(&p, 1, HC_IO_TIMEOUT_MS) <= 0) break;
        ssize_t r = read(s->from, buf, sizeof buf);
        if (r == 0 || (r < 0 && errno != EINTR)) break;
    }
    close(s->from);
    int st = 0;
    double deadline = hc_now_us() + HC_IO_TIMEOUT_MS * 1e3;
    for (;;) {
        pid_t w = waitpid(s->pid, &st, WNOHANG);
        if (w == s->pid) break;
        if (w < 0 && errno != EINTR) hc_die("waitpid");
        if (hc_now_us() > deadline) {
            fprintf(stderr, "hover_client: %s: did not exit after exit; killing it\n", s->name);
            kill(s->pid, SIGKILL);
            deadline = hc_now_us() + 60e6;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    s->pid = 0;
    if (WIFEXITED(st))
        snprintf(s->status, sizeof s->status, "exit=%d", WEXITSTATUS(st));
    else
        snprintf(s->status, sizeof s->status, "signal=%d", WTERMSIG(st));
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

/* s as a JSON string (malloc'ed): the paths come from the command line. */
static char *hc_json_str(const char *s)
{
    json_t *j = json_string(s);
    char *out = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    if (!out) {
        fprintf(stderr, "hover_client: not UTF-8: %s\n", s);
        exit(2);
    }
    return out;
}

struct hc_opts {
    const char *root, *file, *dump;
    int line, character, n, warmup;
};

/* The request texts every session sends; hover has a %ld for its id. */
static char hc_init[16384], hc_open[40000], hc_hover[8192];

static void hc_build_requests(const struct hc_opts *o)
{
    char rooturi[4200], docuri[4400], path[4300];
    snprintf(rooturi, sizeof rooturi, "file://%s", o->root);
    snprintf(docuri, sizeof docuri, "%s/%s", rooturi, o->file);
    snprintf(path, sizeof path, "%s/%s", o->root, o->file);
    FILE *f = fopen(path, "r");
    if (!f) hc_die(path);
    static char text[1 << 14];
    size_t tlen = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[tlen] = '\0';
    char *jroot = hc_json_str(rooturi), *jdoc = hc_json_str(docuri), *jtext = hc_json_str(text);
    /* The capabilities the e2e tests' editor announces (tests/e2e/lib/lsp.mjs). */
    snprintf(
        hc_init, sizeof hc_init,
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
        "\"processId\":%d,\"clientInfo\":{\"name\":\"lsptap-bench\"},\"rootUri\":%s,"
        "\"workspaceFolders\":[{\"uri\":%s,\"name\":\"ws\"}],\"capabilities\":{"
        "\"workspace\":{\"configuration\":true,\"workspaceFolders\":true,"
        "\"didChangeConfiguration\":{\"dynamicRegistration\":true}},"
        "\"textDocument\":{\"synchronization\":{\"dynamicRegistration\":true,\"didSave\":true},"
        "\"hover\":{\"contentFormat\":[\"markdown\",\"plaintext\"]}},"
        "\"window\":{\"workDoneProgress\":true}},\"initializationOptions\":{}}}",
        (int)getpid(), jroot, jroot);
    int olen = snprintf(hc_open, sizeof hc_open,
                        "{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didOpen\",\"params\":{"
                        "\"textDocument\":{\"uri\":%s,\"languageId\":\"go\",\"version\":1,"
                        "\"text\":%s}}}",
                        jdoc, jtext);
    if (tlen == sizeof text - 1 || olen < 0 || (size_t)olen >= sizeof hc_open) {
        fprintf(stderr, "hover_client: %s is too large for this benchmark\n", path);
        exit(2);
    }
    snprintf(hc_hover, sizeof hc_hover,
             "{\"jsonrpc\":\"2.0\",\"id\":%%ld,\"method\":\"textDocument/hover\",\"params\":{"
             "\"textDocument\":{\"uri\":%s},\"position\":{\"line\":%d,\"character\":%d}}}",
             jdoc, o->line, o->character);
    free(jroot);
    free(jdoc);
    free(jtext);
}

/* Starts s and waits until its hover has an answer: the workspace loaded. */
static void hc_load(struct hc_sess *s)
{
    double t0 = hc_now_us();
    hc_spawn(s);
    s->id = 1;
    if (hc_send(s, "%s", hc_init)) return;
    json_t *init = hc_wait_response(s, 1);
    if (!init) return;
    if (!json_object_get(init, "result")) {
        /* A relay that could not connect says why here (lsptap's diagnosis). */
        const char *why =
            json_string_value(json_object_get(json_object_get(init, "error"), "message"));
        hc_break(s, "initialize failed: %.400s", why ? why : "no result and no error message");
        json_decref(init);
        return;
    }
    json_decref(init);
    hc_send(s, "{\"jsonrpc\":\"2.0\",\"method\":\"initialized\",\"params\":{}}");
    hc_send(s, "%s", hc_open);
    for (int tries = 0; !s->want && !s->dead; tries++) {
        if (hc_now_us() - t0 > HC_LOAD_TIMEOUT_MS * 1e3) {
            hc_break(s, "hover still null after %d ms: no workspace", HC_LOAD_TIMEOUT_MS);
            return;
        }
        if (tries) hc_pump(s, 100);
        hc_send(s, hc_hover, ++s->id);
        json_t *r = hc_wait_response(s, s->id);
        if (r) s->want = hc_canonical_result(r);
        json_decref(r);
    }
    s->load_ms = (hc_now_us() - t0) / 1e3;
}

/* One timed hover; i < 0 is a warm-up. */
static void hc_hover_once(struct hc_sess *s, int i)
{
    double t0 = hc_now_us();
    if (hc_send(s, hc_hover, ++s->id)) return;
    json_t *r = hc_wait_response(s, s->id);
    double t1 = hc_now_us();
    if (!r || i < 0) {
        json_decref(r);
        return;
    }
    s->rtt[i] = t1 - t0;
    char *got = hc_canonical_result(r);
    json_decref(r);
    if (!got)
        s->nulls++;
    else if (strcmp(got, s->want))
        s->differ++;
    free(got);
}

static void hc_finish(struct hc_sess *s)
{
    if (s->dead) return;
    s->hwm_kib = bench_status_kib(s->pid, "VmHWM");
    s->cpu_ms = bench_cpu_ms(s->pid);
    if (!hc_send(s, "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"shutdown\"}", ++s->id))
        json_decref(hc_wait_response(s, s->id));
    hc_send(s, "{\"jsonrpc\":\"2.0\",\"method\":\"exit\"}");
    if (!s->dead) hc_reap(s);
}

static void hc_report(struct hc_sess *s, int n)
{
    if (s->dead) {
        printf("result name=%s failed=1\n", s->name);
        return;
    }
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += s->rtt[i];
    qsort(s->rtt, (size_t)n, sizeof *s->rtt, hc_cmp_double);
    printf("result name=%s mode=hover n=%d p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f "
           "mean_us=%.1f load_ms=%.0f hover_hash=%016llx hover_bytes=%zu nulls=%d differ=%d "
           "hwm_kib=%ld cpu_ms=%.0f %s\n",
           s->name, n, hc_pct(s->rtt, n, 0.50), hc_pct(s->rtt, n, 0.90), hc_pct(s->rtt, n, 0.99),
           s->rtt[n - 1], sum / n, s->load_ms, (unsigned long long)hc_fnv1a(s->want),
           strlen(s->want), s->nulls, s->differ, s->hwm_kib, s->cpu_ms, s->status);
}

static int hc_run(const struct hc_opts *o, struct hc_sess *ss, int k)
{
    hc_build_requests(o);
    /* One at a time: seven gopls loading at once on two CPUs would measure
     * the queue, and the load time is reported per session. */
    for (int j = 0; j < k; j++) {
        ss[j].rtt = calloc((size_t)o->n, sizeof *ss[j].rtt);
        if (!ss[j].rtt) hc_die("calloc");
        hc_load(&ss[j]);
    }
    for (int i = -o->warmup; i < o->n; i++) {
        int first = (i + o->warmup) % k;
        for (int j = 0; j < k; j++) {
            struct hc_sess *s = &ss[(first + j) % k];
            if (!s->dead) hc_hover_once(s, i);
        }
    }
    for (int j = 0; j < k; j++)
        hc_finish(&ss[j]);
    int bad = 0;
    for (int j = 0; j < k; j++) {
        hc_report(&ss[j], o->n);
        bad |= ss[j].dead || ss[j].nulls || ss[j].differ;
    }
    for (int j = 0; j < k && o->dump; j++) {
        if (!ss[j].want) continue;
        FILE *d = fopen(o->dump, "w");
        if (!d || fprintf(d, "%s\n", ss[j].want) < 0 || fclose(d)) hc_die(o->dump);
        break;
    }
    return bad;
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
                    "           [--warmup W] [--dump FILE] -- NAME CMD... [-- NAME CMD...]...\n"
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
    if (!o.root || o.root[0] != '/') return hc_usage();
    /* Sessions: each `--` starts NAME CMD...; the `--` become the NULLs that
     * end each command's argv. */
    static struct hc_sess ss[HC_MAX_SESS];
    int k = 0;
    while (i < argc) {
        argv[i++] = NULL;
        if (k == HC_MAX_SESS || i + 1 >= argc || !strcmp(argv[i], "--") ||
            !strcmp(argv[i + 1], "--"))
            return hc_usage();
        ss[k].name = argv[i];
        ss[k].cmd = argv + i + 1;
        k++;
        for (i += 2; i < argc && strcmp(argv[i], "--"); i++)
            ;
    }
    if (k == 0) return hc_usage();
    return hc_run(&o, ss, k);
}
