#include "proxy/lp_netwatch.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "env/lp_diag.h"
#include "env/lp_netenv.h"
#include "inspect/li_redact.h"
#include "netcheck/ln_classify.h"
#include "netcheck/ln_connect.h"
#include "netcheck/ln_gofail.h"
#include "netcheck/ln_hostport.h"

#define SEEN_MAX 64 /* distinct targets remembered per session */

struct seen {
    char key[LN_HOST_MAX + 16];
    uint64_t at_ms; /* uv_now of the last check */
    int busy;       /* a check is in flight */
};

struct lp_netwatch {
    const struct lp_config *cfg;
    uv_loop_t *loop;
    struct lp_netwatch_hooks h;
    struct seen seen[SEEN_MAX];
    size_t nseen;
    int inflight;
};

/* One check on the thread pool. */
struct check {
    uv_work_t req;
    struct lp_netwatch *nw;
    struct seen *seen;
    struct ln_gofail g;
    char source[48]; /* the method it was seen in */
    struct ln_target t;
    char ca[4096];
    char role[48];
    char proxy[LN_HOST_MAX + 16]; /* "host:port" of the HTTP proxy go went through, or "" */
    struct lp_diag d;
    char *text; /* netcheck's rendered lines */
    int rc;
    /* Through an HTTP proxy: the CONNECT to the destination, when the
     * proxy is reachable (connect_tried 0: not tried; a proxy may answer
     * status 000). */
    char dest[LN_HOST_MAX];
    uint16_t dest_port;
    int connect_tried;
    int connect_code;
    char connect_status[160];
    int connect_reached;                        /* the TCP connection for the CONNECT was made */
    int connect_layer;                          /* what ln_connect_explain says failed (-1: none) */
    char connect_said[1024];                    /* its words on the answer, "it ..." */
    char userinfo[LN_CONNECT_USERINFO_MAX + 1]; /* HTTPS_PROXY's, sent as go does; a secret */
    int has_userinfo;
    const char *proxy_var; /* the variable go took the proxy from (a literal) */
};

/* The credentials of every URL in `in` masked: the userinfo of its
 * authority (before the first '/', '?', '#' or space), as
 * "REDACTED@host". (A module path's "/@v/" is a path, not userinfo.) */
extern char **environ;

static void redact(const char *in, char *out, size_t cap)
{
    li_redact_value(NULL, in, environ, out, cap);
}

/* ---- watching ---- */

struct lp_netwatch *lp_netwatch_new(const struct lp_config *cfg)
{
    if (!cfg->net_watch) return NULL;
    struct lp_netwatch *nw = calloc(1, sizeof *nw);
    if (nw) nw->cfg = cfg;
    return nw;
}

void lp_netwatch_bind(struct lp_netwatch *nw, uv_loop_t *loop, const struct lp_netwatch_hooks *h)
{
    nw->loop = loop;
    nw->h = *h;
}

void lp_netwatch_free(struct lp_netwatch *nw)
{
    free(nw);
}

static int span_is(const struct li_span *s, const char *name)
{
    size_t n = strlen(name);
    return s->p && s->len == n + 2 && !memcmp(s->p + 1, name, n);
}

/* The check's words: one sentence pair naming target, layer, verdict and
 * hint. */
static int compose(const struct check *c, char *out, size_t cap)
{
    char cause[200];
    ln_escape(c->g.cause, strlen(c->g.cause), 160, cause, sizeof cause);
    char target[LN_HOST_MAX + 16];
    ln_hostport_format(target, sizeof target, c->t.host, c->t.port);
    char through[LN_HOST_MAX + 48] = "";
    /* The target is the proxy: say where go was going through it. */
    if (c->proxy[0] && c->g.url_host[0])
        snprintf(through, sizeof through, " on the way to %s", c->g.url_host);
    int type;
    const char *verdict = c->d.verdict;
    if (c->rc) {
        type = 2;
        snprintf(out, cap, "lsptap: gopls could not reach the %s %s%s (go: %s); %s", c->role,
                 target, through, cause, c->d.verdict);
    } else if (c->d.failed >= 0) {
        type = 1;
        /* netcheck's verdict starts with the layer's name: said once. */
        const char *ln = ln_layer_name((enum ln_layer)c->d.failed);
        size_t lnl = strlen(ln);
        if (!strncmp(verdict, ln, lnl) && verdict[lnl] == ':' && verdict[lnl + 1] == ' ')
            verdict += lnl + 2;
        snprintf(out, cap,
                 "lsptap: gopls could not reach the %s %s%s (go: %s). netcheck: %s layer "
                 "failed: %s",
                 c->role, target, through, cause, ln_layer_name((enum ln_layer)c->d.failed),
                 verdict);
    } else if (c->connect_code == 407) {
        type = 1;
        snprintf(out, cap,
                 "lsptap: gopls could not reach %s:%u through the HTTP proxy %s (go: %s). "
                 "netcheck: every layer to the proxy is fine, but it answers CONNECT %s:%u with "
                 "\"%s\": the proxy %s %s%s",
                 c->dest, c->dest_port, target, cause, c->dest, c->dest_port, c->connect_status,
                 c->has_userinfo ? "refuses the user name and password of"
                                 : "wants a user name and password, and",
                 c->proxy_var ? c->proxy_var : "HTTPS_PROXY",
                 c->has_userinfo ? " (check them; a character such as @ : / % in them is "
                                   "written %XX)"
                                 : " has none (put USER:PASSWORD and an @ before the host in "
                                   "its URL)");
    } else if (c->connect_tried && c->connect_code != 200) {
        /* Each answer its own words (a 403 is a refusal, a 502 the proxy's
         * own failure to reach the destination, a close or silence no
         * answer at all): telling a user the proxy refuses the destination
         * when it could not reach it sends them to the wrong person. */
        type = 1;
        snprintf(out, cap,
                 "lsptap: gopls could not reach %s:%u through the HTTP proxy %s (go: %s). "
                 "netcheck: every layer to the proxy %s, but %s",
                 c->dest, c->dest_port, target, cause,
                 c->connect_reached ? "is fine" : "was fine a moment ago", c->connect_said);
    } else {
        type = 2;
        snprintf(out, cap,
                 "lsptap: gopls could not reach the %s %s%s (go: %s). netcheck finds no "
                 "layer failing from here now (%s): the failure may be intermittent, or go took "
                 "another route (check HTTPS_PROXY / NO_PROXY and GOPROXY)",
                 c->role, target, through, cause, c->d.verdict);
    }
    char *red = malloc(cap);
    if (red) {
        redact(out, red, cap);
        memcpy(out, red, cap);
        free(red);
    }
    return type;
}

static void work(uv_work_t *req)
{
    struct check *c = req->data;
    c->rc = lp_diagnose_target(&c->t, &c->d, &c->text);
    /* The proxy answers: does it let go through to where it was going?
     * (An https proxy is not asked: the CONNECT would go inside TLS.) */
    if (!c->rc && c->d.failed < 0 && c->dest[0] && !c->t.tls) {
        c->connect_tried = 1;
        c->connect_code = ln_http_connect(
            c->t.host, c->t.port, c->dest, c->dest_port, c->has_userinfo ? c->userinfo : NULL,
            c->t.timeout_ms, c->connect_status, sizeof c->connect_status, &c->connect_reached);
        char dest[LN_HOST_MAX + 16];
        ln_hostport_format(dest, sizeof dest, c->dest, c->dest_port);
        c->connect_layer = ln_connect_explain(c->connect_code, c->connect_reached, "it", dest,
                                              c->connect_status, c->proxy_var, c->t.timeout_ms,
                                              c->connect_said, sizeof c->connect_said);
    }
    explicit_bzero(c->userinfo, sizeof c->userinfo);
}

static void after_work(uv_work_t *req, int status)
{
    struct check *c = req->data;
    struct lp_netwatch *nw = c->nw;
    nw->inflight--;
    c->seen->busy = 0;
    c->seen->at_ms = uv_now(nw->loop);
    if (status == 0) {
        char msg[2048];
        int type = compose(c, msg, sizeof msg);
        char line[2100];
        snprintf(line, sizeof line, "%s\n", msg);
        nw->h.say(nw->h.ud, line);
        /* netcheck's layer lines follow on stderr, one lp_relay_say each. */
        for (char *l = c->text, *nl; l && *l; l = nl ? nl + 1 : NULL) {
            nl = strchr(l, '\n');
            char one[1024];
            snprintf(one, sizeof one, "%.*s\n", (int)(nl ? nl - l : (long)strlen(l)), l);
            char red[1100];
            redact(one, red, sizeof red);
            nw->h.say(nw->h.ud, red);
        }
        char target[LN_HOST_MAX + 16];
        snprintf(target, sizeof target, "%s:%u", c->t.host, c->t.port);
        char cause[LN_TEXT_MAX], url[LN_TEXT_MAX];
        redact(c->g.cause, cause, sizeof cause);
        redact(c->g.url, url, sizeof url);
        json_t *f =
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:i, s:s}", "target", target, "role", c->role,
                      "source", c->source, "class", ln_gofail_class_name(c->g.cls), "cause", cause,
                      "tls", c->t.tls, "message_type", type, "message", msg);
        if (url[0]) json_object_set_new(f, "url", json_string(url));
        if (c->proxy[0]) json_object_set_new(f, "proxy", json_string(c->proxy));
        if (c->connect_tried)
            json_object_set_new(f, "connect",
                                json_pack("{s:s, s:i, s:s}", "to", c->dest, "code", c->connect_code,
                                          "status", c->connect_status));
        json_object_set_new(f, "failed_layer",
                            c->d.failed >= 0
                                ? json_string(ln_layer_name((enum ln_layer)c->d.failed))
                                : json_null());
        if (c->connect_tried && c->connect_code != 200 && c->connect_layer >= 0)
            json_object_set_new(f, "failed_layer",
                                json_string(ln_layer_name((enum ln_layer)c->connect_layer)));
        if (c->d.report) json_object_set(f, "report", c->d.report);
        nw->h.event(nw->h.ud, LI_EV_NETCHECK, f);
        if (nw->cfg->net_show) nw->h.show(nw->h.ud, type, msg);
    }
    json_decref(c->d.report);
    free(c->text);
    free(c);
}

static struct seen *remember(struct lp_netwatch *nw, const char *key)
{
    uint64_t now = uv_now(nw->loop);
    for (size_t i = 0; i < nw->nseen; i++) {
        struct seen *s = &nw->seen[i];
        if (strcmp(s->key, key)) continue;
        if (s->busy || now - s->at_ms < nw->cfg->net_recheck_s * 1000) return NULL;
        return s;
    }
    if (nw->nseen == SEEN_MAX) return NULL; /* enough said for one session */
    struct seen *s = &nw->seen[nw->nseen++];
    snprintf(s->key, sizeof s->key, "%s", key);
    return s;
}

static void start_check(struct lp_netwatch *nw, const struct ln_gofail *g, const char *source)
{
    struct check *c = calloc(1, sizeof *c);
    if (!c) return;
    c->nw = nw;
    c->g = *g;
    snprintf(c->source, sizeof c->source, "%s", source);
    ln_target_init(&c->t);
    c->t.probe = LN_PROBE_NONE; /* go's servers speak HTTP, not LSP */
    c->t.timeout_ms = 3000;
    const char *host = g->host;
    uint16_t port = g->port;
    int tls = g->tls, is_proxy = g->via_proxy;
    char phost[LN_HOST_MAX];
    uint16_t pport = 0;
    int ptls = 0;
    if (g->cls == LN_GOFAIL_PROXY_STATUS) {
        /* The proxy refused CONNECT: the proxy is the setting's. */
        if (!lp_net_proxy_for(1, g->url_host, phost, sizeof phost, &pport, &ptls)) {
            free(c);
            return;
        }
        host = phost;
        port = pport;
        tls = ptls;
    } else if (g->via_proxy) {
        /* The text names the proxy; its port (when the name did not
         * resolve) and scheme are the setting's. */
        if (lp_net_proxy_for(g->url_https, g->url_host[0] ? g->url_host : "x.invalid", phost,
                             sizeof phost, &pport, &ptls)) {
            if (!port) port = pport;
            tls = ptls;
        }
        if (!port) port = 80;
    } else if (g->url_host[0] &&
               lp_net_proxy_for(g->url_https, g->url_host, phost, sizeof phost, &pport, &ptls)) {
        /* go went through the proxy: that is the connection that failed
         * (the failure past it is the proxy's to report). */
        snprintf(c->proxy, sizeof c->proxy, "%s:%u", phost, pport);
        host = phost;
        port = pport;
        tls = ptls;
        is_proxy = 1;
    }
    if (g->via_proxy) snprintf(c->proxy, sizeof c->proxy, "%s:%u", host, port);
    if (is_proxy && g->url_host[0] && g->url_https) {
        snprintf(c->dest, sizeof c->dest, "%s", g->url_host);
        c->dest_port = g->url_port;
        c->has_userinfo = lp_net_proxy_userinfo(1, c->userinfo, sizeof c->userinfo);
        c->proxy_var = lp_net_proxy_variable(1);
        if (!c->proxy_var) c->proxy_var = "HTTPS_PROXY";
    }
    snprintf(c->t.host, sizeof c->t.host, "%s", host);
    c->t.port = port;
    c->t.tls = tls;
    /* go's trust store on Linux: SSL_CERT_FILE, SSL_CERT_DIR (OpenSSL reads
     * the latter itself when no file is given). */
    const char *ca = getenv("SSL_CERT_FILE");
    if (ca && *ca) {
        snprintf(c->ca, sizeof c->ca, "%s", ca);
        c->t.ca = c->ca;
    }
    snprintf(c->role, sizeof c->role, "%s",
             lp_net_role(g->url_host[0] && !is_proxy ? g->url_host : c->t.host, is_proxy));
    char key[LN_HOST_MAX + 16];
    snprintf(key, sizeof key, "%s:%u%s", c->t.host, c->t.port, c->t.tls ? "/tls" : "");
    struct seen *s = remember(nw, key);
    if (!s) {
        free(c);
        return;
    }
    c->seen = s;
    c->req.data = c;
    if (uv_queue_work(nw->loop, &c->req, work, after_work)) {
        free(c);
        return;
    }
    s->busy = 1;
    nw->inflight++;
}

/* The first text of the message that reports a network failure. */
static int scan_json(json_t *j, const char *what, struct ln_gofail *g)
{
    json_t *params = json_object_get(j, "params");
    const char *s;
    if (!strcmp(what, "textDocument/publishDiagnostics")) {
        size_t i;
        json_t *d;
        json_array_foreach(json_object_get(params, "diagnostics"), i, d)
        {
            json_t *m = json_object_get(d, "message");
            if (json_is_string(m) &&
                ln_gofail_parse(json_string_value(m), json_string_length(m), g))
                return 1;
        }
        return 0;
    }
    json_t *m = json_object_get(strcmp(what, "error reply") ? params : json_object_get(j, "error"),
                                "message");
    if (!json_is_string(m)) return 0;
    s = json_string_value(m);
    if (!strncmp(s, "lsptap:", 7)) return 0; /* our own message, recorded as it went out */
    return ln_gofail_parse(s, json_string_length(m), g);
}

void lp_netwatch_on_msg(void *ud, enum li_dir dir, const struct li_msg *m, const char *body,
                        size_t len, int64_t latency_us)
{
    struct lp_netwatch *nw = ud;
    (void)latency_us;
    if (!nw || !nw->loop || dir != LI_S2C || !body) return;
    const char *what;
    if (m->kind == LI_K_NOTIFICATION && span_is(&m->method, "window/logMessage"))
        what = "window/logMessage";
    else if (m->kind == LI_K_NOTIFICATION && span_is(&m->method, "window/showMessage"))
        what = "window/showMessage";
    else if (m->kind == LI_K_NOTIFICATION && span_is(&m->method, "textDocument/publishDiagnostics"))
        what = "textDocument/publishDiagnostics";
    else if (m->kind == LI_K_RESPONSE && m->is_error)
        what = "error reply";
    else
        return;
    if (!ln_gofail_maybe(body, len)) return;
    json_error_t e;
    json_t *j = json_loadb(body, len, 0, &e);
    struct ln_gofail g;
    if (j && scan_json(j, what, &g)) start_check(nw, &g, what);
    json_decref(j);
}
