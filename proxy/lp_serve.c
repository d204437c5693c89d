#include "proxy/lp_serve.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "framing/lf.h"
#include "inspect/li_buf.h"
#include "inspect/li_escape.h"
#include "inspect/li_redact.h"
#include "inspect/li_say.h"
#include "inspect/li_session.h"
#include "io/lp_stdio.h"
#include "proxy/lp_handshake.h"
#include "proxy/lp_log.h"
#include "proxy/lp_netwatch.h"
#include "proxy/lp_relay.h"
#include "proxy/lp_relay_stderr.h"
#include "proxy/lp_revive.h"

/* Variables that decide how gopls and go behave; recorded in the header so a
 * session can be understood (and replayed) later. Never secrets by name. */
static const char *const recorded_env[] = {
    "PATH",
    "GOROOT",
    "GOPATH",
    "GOBIN",
    "GOFLAGS",
    "GO111MODULE",
    "GOPROXY",
    "GONOPROXY",
    "GOPRIVATE",
    "GONOSUMDB",
    "GOSUMDB",
    "GOWORK",
    "GOENV",
    "GOMODCACHE",
    "GOCACHE",
    "GOTOOLCHAIN",
    "GOOS",
    "GOARCH",
    "CGO_ENABLED",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HOME",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    NULL,
};

static json_t *header_fields(const char *role, char **argv, const struct lp_config *cfg)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char when[64], stamp[40];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when, sizeof when, "%s.%03dZ", stamp, (int)(tv.tv_usec / 1000));
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, "?");
    json_t *av = json_array();
    for (char **a = argv; *a; a++)
        json_array_append_new(av, json_string(*a));
    json_t *env = json_object();
    for (const char *const *k = recorded_env; *k; k++) {
        const char *v = getenv(*k);
        if (!v) continue;
        char red[8192];
        li_redact_value(*k, v, environ, red, sizeof red);
        json_object_set_new(env, *k, json_string(red));
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:i, s:s, s:s, s:o}", "role", role, "start", when,
                     "lsptap_version", LSPTAP_VERSION, "server", argv[0], "argv", av, "pid",
                     (int)getpid(), "cwd", cwd, "record", lp_record_name(cfg->record), "env", env);
}

static void sink(void *ud, const char *line, size_t len)
{
    lp_log_line(ud, line, len);
}

static int name_is(const struct li_msg *m, const char *name)
{
    size_t n = strlen(name);
    return m->method.p && m->method.len == n + 2 && !memcmp(m->method.p + 1, name, n);
}

/* The editor's goodbye: from here on the file is written as lines come. */
static void session_msg(void *ud, enum li_dir dir, const struct li_msg *m, const char *body,
                        size_t len, int64_t latency_us)
{
    struct lp_session *s = ud;
    if (s->log && !s->lazy && dir == LI_C2S &&
        (s->proto == LI_DAP ? m->kind == LI_K_REQUEST && name_is(m, "disconnect")
                            : (m->kind == LI_K_REQUEST && name_is(m, "shutdown")) ||
                                  (m->kind == LI_K_NOTIFICATION && name_is(m, "exit"))))
        lp_log_eager(s->log);
    if (s->on_msg) s->on_msg(s->msg_ud, dir, m, body, len, latency_us);
}

int lp_session_open(struct lp_session *s, const struct lp_config *cfg, const char *role,
                    enum li_proto proto, char **argv, li_msg_fn on_msg, void *msg_ud)
{
    memset(s, 0, sizeof *s);
    s->hr_start = uv_hrtime();
    s->proto = proto;
    s->on_msg = on_msg;
    s->msg_ud = msg_ud;
    if (cfg->record != LI_REC_OFF) {
        char err[4600];
        int r = lp_log_open(cfg, role, &s->log, err, sizeof err);
        if (r)
            li_say("lsptap: recording is off for this session: %s. The relay is not "
                   "affected.\n",
                   err);
    }
    struct li_opts o = {
        .proto = proto,
        .record = s->log ? cfg->record : LI_REC_OFF,
        .max_inspect = cfg->max_inspect,
        .sink = s->log ? sink : NULL,
        .sink_ud = s->log,
        .on_msg = session_msg,
        .msg_ud = s,
        .sinkv = s->log ? lp_log_linev : NULL,
    };
    s->li = li_session_new(&o);
    if (!s->li) {
        fprintf(stderr, "lsptap: out of memory setting up the session\n");
        return -ENOMEM;
    }
    li_session_redact_with(s->li, environ);
    json_t *h = header_fields(role, argv, cfg);
    li_session_write_header(s->li, h);
    json_decref(h);
    return 0;
}

void lp_session_event(struct lp_session *s, enum li_event ev, json_t *fields)
{
    li_session_event(s->li, lp_session_now(s), ev, fields);
    json_decref(fields);
}

uint64_t lp_session_now(const struct lp_session *s)
{
    return (uv_hrtime() - s->hr_start) / 1000;
}

static void fmt_age(uint64_t us, char *out, size_t len)
{
    if (us < 1000)
        snprintf(out, len, "%llu µs", (unsigned long long)us);
    else if (us < 1000000)
        snprintf(out, len, "%.1f ms", us / 1e3);
    else
        snprintf(out, len, "%.1f s", us / 1e6);
}

/* Names the requests left unanswered on stderr: after a crash that is what
 * a bug report needs. */
static void say_pending(const struct lp_session *s, const char *role, int crashed)
{
    struct li_pending p[16];
    size_t n = li_session_pending(s->li, p, 16);
    if (!n) return;
    uint64_t now = lp_session_now(s);
    li_say("lsptap: %s %s with %zu request%s pending:\n", role, crashed ? "died" : "ended", n,
           n == 1 ? "" : "s");
    for (size_t i = 0; i < n && i < 16; i++) {
        char age[32];
        fmt_age(now - p[i].t_us, age, sizeof age);
        /* The method and id are the peer's words: escaped, NUL and all. */
        char m[600], id[300];
        li_escape(p[i].method, p[i].method_len, 0, m, sizeof m);
        li_escape(p[i].id, strlen(p[i].id), 0, id, sizeof id);
        li_say("lsptap:   %s id %s (%s, sent %s ago%s)\n", p[i].method_len ? m : "(unknown method)",
               id, p[i].dir == LI_C2S ? "editor to server" : "server to editor", age,
               p[i].cancelled ? ", cancelled" : "");
    }
    if (n > 16) li_say("lsptap:   ... and %zu more (see the session file)\n", n - 16);
}

/* What the one-line summary needs once the file is complete. */
struct closing {
    struct li_counts c;
    uint64_t dropped;
    char *role, *ending;
    char path[4096];
    void (*done)(void *ud);
    void *ud;
};

/* Counts, pending requests and the closing lines: everything of the close
 * but the file's own. Frees the inspector; s->log stays for the caller. */
static void close_begin(struct lp_session *s, const char *role, json_t *extra, int crashed,
                        struct closing *k)
{
    li_session_counts(s->li, &k->c);
    say_pending(s, role, crashed);
    k->dropped = 0;
    k->path[0] = '\0';
    if (s->log) {
        k->dropped = lp_log_finish(s->log);
        json_object_set_new(extra, "dropped_lines", json_integer((json_int_t)k->dropped));
        snprintf(k->path, sizeof k->path, "%s", lp_log_path(s->log));
    }
    li_session_write_summary(s->li, lp_session_now(s), extra);
    li_session_free(s->li);
    s->li = NULL;
}

/* The user's line, after the file is complete: r is lp_log_close's. */
static void say_ended(const struct closing *k, const char *role, const char *ending, int recorded,
                      int r)
{
    char where[4200] = "not recorded";
    if (recorded && r == -ENOENT)
        snprintf(where, sizeof where,
                 "not recorded: the session file %s was removed while it was written", k->path);
    else if (recorded && r)
        snprintf(where, sizeof where, "recording failed (%s)", strerror(-r));
    else if (recorded)
        snprintf(where, sizeof where, "recorded in %s", k->path);
    char drops[96] = "";
    if (k->dropped)
        snprintf(drops, sizeof drops, "; %llu session lines dropped (disk too slow or failing)",
                 (unsigned long long)k->dropped);
    li_say("lsptap: %s session ended: %s; %llu messages editor->server, %llu server->editor, "
           "%llu error replies, %zu pending, %llu framing errors; %s%s\n",
           role, ending, (unsigned long long)k->c.messages[LI_C2S],
           (unsigned long long)k->c.messages[LI_S2C], (unsigned long long)k->c.error_replies,
           k->c.pending[LI_C2S] + k->c.pending[LI_S2C],
           (unsigned long long)(k->c.framing_errors[0] + k->c.framing_errors[1]), where, drops);
}

void lp_session_close(struct lp_session *s, const char *role, json_t *extra, const char *ending,
                      int crashed)
{
    static struct closing k; /* 4 KiB of path: not on the stack; one loop thread */
    close_begin(s, role, extra, crashed, &k);
    int r = s->log ? lp_log_close(s->log) : 0;
    say_ended(&k, role, ending, s->log != NULL, r);
    s->log = NULL;
}

static void closed_async(void *ud, int r)
{
    struct closing *k = ud;
    say_ended(k, k->role, k->ending, 1, r);
    void (*done)(void *) = k->done;
    void *done_ud = k->ud;
    free(k->role);
    free(k->ending);
    free(k);
    done(done_ud);
}

int lp_session_close_async(struct lp_session *s, uv_loop_t *loop, const char *role, json_t *extra,
                           const char *ending, int crashed, void (*done)(void *ud), void *ud)
{
    struct closing *k = s->log ? calloc(1, sizeof *k) : NULL;
    if (k) {
        k->role = strdup(role);
        k->ending = strdup(ending);
    }
    if (!k || !k->role || !k->ending) {
        if (k) {
            free(k->role);
            free(k->ending);
            free(k);
        }
        lp_session_close(s, role, extra, ending, crashed); /* nothing recorded, or no memory */
        return 0;
    }
    close_begin(s, role, extra, crashed, k);
    k->done = done;
    k->ud = ud;
    if (lp_log_close_async(s->log, loop, closed_async, k)) {
        int r = lp_log_close(s->log); /* no handle to wake the loop: wait, as before */
        say_ended(k, role, ending, 1, r);
        free(k->role);
        free(k->ending);
        free(k);
        s->log = NULL;
        return 0;
    }
    s->log = NULL;
    return 1;
}

void lp_session_wait_closes(void)
{
    lp_log_wait_closes();
}

int lp_serve_stdio(const struct lp_config *cfg, const char *role, enum li_proto proto, char **argv)
{
    struct lp_session s;
    int gopls = proto == LI_LSP && !strcmp(role, "gopls");
    struct lp_netwatch *nw = gopls ? lp_netwatch_new(cfg) : NULL;
    /* The gopls stand-in supervises the handshake (docs/repair.md). */
    struct lp_handshake *hs = gopls ? lp_handshake_new(cfg, argv[0], NULL) : NULL;
    if (gopls && !hs) {
        li_say("lsptap: out of memory starting the handshake supervision\n");
        lp_netwatch_free(nw);
        return 70;
    }
    static struct lp_relay_result res; /* 64 KiB of stderr tail: not on the stack */
    /* After the handshake, keep-alive restarts a lost gopls (docs/keep-alive.md). */
    struct lp_revive *rv = hs && cfg->keepalive ? lp_revive_new(cfg, role, hs, &res) : NULL;
    if (hs && cfg->keepalive && !rv) {
        li_say("lsptap: out of memory starting keep-alive\n");
        lp_handshake_free(hs);
        lp_netwatch_free(nw);
        return 70;
    }
    if (rv) lp_revive_chain(rv, nw ? lp_netwatch_on_msg : NULL, nw);
    if (lp_session_open(&s, cfg, role, proto, argv,
                        rv ? lp_revive_on_msg : (nw ? lp_netwatch_on_msg : NULL),
                        rv ? (void *)rv : nw)) {
        lp_revive_free(rv);
        lp_handshake_free(hs);
        lp_netwatch_free(nw);
        return 70;
    }
    if (rv) lp_revive_attach(rv, s.li);
    if (s.log) lp_log_set_notify(s.log, lp_relay_notify);
    struct lp_relay_opts o = {.argv = argv,
                              .sess = s.li,
                              .hr_start = s.hr_start,
                              .cfg = cfg,
                              .super = rv ? &lp_revive_ops : (hs ? &lp_handshake_ops : NULL),
                              .super_ctx = rv ? (void *)rv : hs,
                              .netwatch = nw};
    int rc = lp_relay_run(&o, &res);
    char ending[256];
    int crashed = 0;
    if (res.spawn_error) {
        snprintf(ending, sizeof ending, "could not start %s: %s", argv[0],
                 uv_strerror(res.spawn_error));
    } else if (rc) {
        snprintf(ending, sizeof ending, "relay failed: %s", uv_strerror(rc));
    } else if (res.term_signal) {
        crashed = 1;
        snprintf(ending, sizeof ending, "%s killed by signal %d (%s)", role, res.term_signal,
                 strsignal(res.term_signal));
    } else {
        crashed = res.exit_status != 0;
        snprintf(ending, sizeof ending, "%s exited with status %d", role, res.exit_status);
    }
    int code = rc && !res.spawn_error ? 70 : lp_relay_exit_code(&res);
    json_t *extra = json_pack(
        "{s:s, s:i, s:{s:I, s:I}, s:{s:I, s:I}}", "ending", ending, "exit_code", code, "read",
        "c2s", (json_int_t)res.read[LI_C2S], "s2c", (json_int_t)res.read[LI_S2C], "written", "c2s",
        (json_int_t)res.written[LI_C2S], "s2c", (json_int_t)res.written[LI_S2C]);
    if (res.stderr_bytes) json_object_set_new(extra, "stderr_tail", json_string(res.stderr_tail));
    if (res.restarts) json_object_set_new(extra, "restarts", json_integer(res.restarts));
    if (hs && lp_handshake_gave_up(hs))
        json_object_set_new(extra, "handshake", json_string("failed, not repaired"));
    lp_revive_free(rv);
    lp_handshake_free(hs);
    if (res.stderr_mid_line) fputc('\n', stderr); /* lsptap's lines start lines */
    if (res.spawn_error)
        li_say("lsptap: cannot start %s: %s\n", argv[0], uv_strerror(res.spawn_error));
    lp_session_close(&s, role, extra, ending, crashed);
    json_decref(extra);
    lp_netwatch_free(nw);
    return code;
}

/* ---- the server that is not there ---- */

struct unavailable {
    const char *why;
    int done;
    struct li_buf out; /* replies waiting to be written and recorded */
};

static void queue(struct unavailable *u, const char *p, size_t n)
{
    if (li_buf_reserve(&u->out, n) == 0) li_buf_put(&u->out, p, n); /* all of it or none */
}

static void reply(struct unavailable *u, json_t *msg)
{
    char *body = json_dumps(msg, JSON_COMPACT);
    if (!body) return;
    char hdr[LF_HEADER_MAX_OUT];
    size_t blen = strlen(body);
    size_t hlen = lf_write_header(hdr, sizeof hdr, blen);
    queue(u, hdr, hlen);
    queue(u, body, blen);
    free(body);
}

static void unavailable_msg(void *ud, enum li_dir dir, const struct li_msg *m, const char *body,
                            size_t len, int64_t latency_us)
{
    struct unavailable *u = ud;
    (void)body;
    (void)len;
    (void)latency_us;
    if (dir != LI_C2S || !m->method.p) return;
    int is = 0;
#define METHOD_IS(name)                                                                            \
    (m->method.len == sizeof(name) + 1 && !memcmp(m->method.p + 1, name, sizeof(name) - 1))
    if (m->kind == LI_K_NOTIFICATION && METHOD_IS("exit")) {
        u->done = 1;
        return;
    }
    if (m->kind != LI_K_REQUEST) return;
    json_error_t jerr;
    json_t *id = json_loadb(m->id.p, m->id.len, JSON_DECODE_ANY, &jerr);
    if (!id) return;
    json_t *out;
    if (METHOD_IS("shutdown")) {
        out = json_pack("{s:s, s:o, s:n}", "jsonrpc", "2.0", "id", id, "result");
    } else {
        is = METHOD_IS("initialize");
        out = json_pack("{s:s, s:o, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id, "error", "code",
                        is ? -32603 : -32002, "message", u->why);
        if (is)
            json_object_set_new(json_object_get(out, "error"), "data",
                                json_pack("{s:b}", "retry", 0));
    }
#undef METHOD_IS
    reply(u, out);
    json_decref(out);
}

int lp_serve_unavailable(const struct lp_config *cfg, const char *role, char **argv,
                         const char *why)
{
    /* The reason goes to the editor: redacted like all lsptap says (it may
     * quote an address or a path the user typed with a credential in it). */
    char *shown = li_redact(why, strlen(why), environ, NULL);
    struct unavailable u = {.why = shown ? shown : "the server is unavailable"};
    struct lp_session s;
    if (lp_session_open(&s, cfg, role, LI_LSP, argv, unavailable_msg, &u)) {
        free(shown);
        return 127;
    }
    json_t *f = json_pack("{s:s}", "error", why);
    li_session_event(s.li, lp_session_now(&s), LI_EV_SPAWN_FAILED, f);
    json_decref(f);
    signal(SIGPIPE, SIG_IGN);
    char buf[65536];
    while (!u.done) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        li_session_feed(s.li, LI_C2S, buf, (size_t)n, lp_session_now(&s));
        /* Replies are written after the feed returns, then recorded as what
         * the editor received. */
        if (u.out.len) {
            (void)lp_write_all(1, u.out.p, u.out.len);
            li_session_feed(s.li, LI_S2C, u.out.p, u.out.len, lp_session_now(&s));
            li_buf_reset(&u.out);
        }
    }
    li_buf_free(&u.out);
    li_session_eof(s.li, LI_C2S, lp_session_now(&s));
    json_t *extra = json_pack("{s:s, s:i}", "ending", "server unavailable", "exit_code", 127);
    lp_session_close(&s, role, extra, "the real server could not be started", 0);
    json_decref(extra);
    free(shown);
    return 127;
}
