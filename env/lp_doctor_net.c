/*
 * `lsptap doctor --net`: netcheck on what go connects to when gopls loads a
 * workspace — every GOPROXY entry, GOSUMDB's host, the HTTP proxies of the
 * environment — without gopls (docs/doctor.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "env/lp_diag.h"
#include "env/lp_doctor.h"
#include "env/lp_netenv.h"
#include "inspect/li_redact.h"
#include "netcheck/ln.h"
#include "netcheck/ln_connect.h"
#include "netcheck/ln_hostport.h"

/* go env's value (it includes the GOENV file), else the environment's,
 * else go's default. */
extern char **environ;

static const char *go_value(const json_t *rep, const char *key, const char *dflt)
{
    const char *v =
        json_string_value(json_object_get(json_object_get(json_object_get(rep, "go"), "env"), key));
    if (!v || !*v) v = getenv(key);
    return v && *v ? v : dflt;
}

/* host and port of an http(s) URL; 0 when it is not one. */
static int url_target(const char *url, char *host, size_t cap, uint16_t *port, int *tls)
{
    const char *h = strstr(url, "://");
    if (!h) return 0;
    if (!strncasecmp(url, "https://", 8))
        *tls = 1;
    else if (!strncasecmp(url, "http://", 7))
        *tls = 0;
    else
        return 0;
    return lp_net_authority(h + 3, *tls, host, cap, port);
}

struct netctx {
    json_t *checks;
    size_t failed;
};

/* A target go reaches through an HTTP proxy: go never connects to it (nor
 * resolves its name) itself, so neither does the doctor. The proxy has its
 * own check; here, the CONNECT go asks the proxy for (an https target
 * through a plain proxy), or nothing lsptap can try. */
static json_t *check_proxied(const char *phost, uint16_t pport, int ptls, const char *host,
                             uint16_t port, int tls, int *ok)
{
    char p[LN_HOST_MAX + 16], st[160], verdict[2 * sizeof p + sizeof st + 200];
    snprintf(p, sizeof p, "%s:%u", phost, pport);
    /* The variable the proxy came from, as the user spelled it: a message
     * naming HTTPS_PROXY when https_proxy is the one set sends them looking
     * for a setting they never made. */
    const char *var = lp_net_proxy_variable(tls);
    if (!var) var = tls ? "HTTPS_PROXY" : "HTTP_PROXY";
    json_t *o = json_pack("{s:s, s:s, s:o}", "through_proxy", p, "proxy_variable", var, "netcheck",
                          json_null());
    if (!tls || ptls) {
        *ok = 1;
        snprintf(verdict, sizeof verdict,
                 "reached through the HTTP proxy %s (not checked "
                 "further: %s)",
                 p, tls ? "an https proxy" : "plain HTTP goes through as a request");
        json_object_set_new(o, "verdict", json_string(verdict));
        json_object_set_new(o, "failed_layer", json_null());
        return o;
    }
    /* With the proxy URL's credentials, as go sends them: a proxy that wants
     * them answers 407 to a CONNECT without. */
    char ui[LN_CONNECT_USERINFO_MAX + 1];
    int cred = lp_net_proxy_userinfo(tls, ui, sizeof ui);
    int reached;
    int code =
        ln_http_connect(phost, pport, host, port, cred ? ui : NULL, 3000, st, sizeof st, &reached);
    explicit_bzero(ui, sizeof ui);
    json_object_set_new(o, "connect", json_pack("{s:i, s:s}", "code", code, "status", st));
    json_object_set_new(o, "proxy_credentials", json_boolean(cred));
    *ok = code == 200;
    if (*ok)
        snprintf(verdict, sizeof verdict, "the HTTP proxy %s opens a tunnel to it (\"%s\")", p, st);
    else if (code == 407 && cred)
        snprintf(verdict, sizeof verdict,
                 "the HTTP proxy %s refuses the user name and password of %s (\"%s\"): "
                 "check them (a character such as @ : / %% in them is written %%XX)",
                 p, var, st);
    else if (code == 407)
        snprintf(verdict, sizeof verdict,
                 "the HTTP proxy %s wants a user name and password (\"%s\"), and %s has "
                 "none: put USER:PASSWORD and an @ before the host in its URL",
                 p, st, var);
    int layer = *ok ? -1 : LN_APP;
    if (!*ok && code != 407) {
        /* The words netwatch uses for the same answer, and their layer: once
         * the connection to the proxy is made, a refusal, a reply that is not
         * HTTP, a close without a reply and silence are the application
         * layer's, as netcheck names them (a wrong protocol, "closes the
         * connection at once", "silent"); transport is for a proxy that could
         * not be reached. */
        char who[sizeof p + 16];
        snprintf(who, sizeof who, "the HTTP proxy %s", p);
        layer =
            ln_connect_explain(code, reached, who, NULL, st, var, 3000, verdict, sizeof verdict);
    }
    json_object_set_new(o, "verdict", json_string(verdict));
    json_object_set_new(o, "failed_layer",
                        layer < 0 ? json_null() : json_string(ln_layer_name((enum ln_layer)layer)));
    return o;
}

/* One check: netcheck on host:port (or, when go goes through an HTTP
 * proxy, the CONNECT through it), recorded under "checks". */
static void check(struct netctx *c, const char *role, const char *variable, const char *entry,
                  const char *host, uint16_t port, int tls)
{
    char ent[1024], target[LN_HOST_MAX + 16];
    li_redact_value(NULL, entry, environ, ent, sizeof ent);
    ln_hostport_format(target, sizeof target, host, port);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:b}", "role", role, "variable", variable, "entry",
                          ent, "target", target, "tls", tls);
    char phost[LN_HOST_MAX];
    uint16_t pport;
    int ptls, ok;
    if (strcmp(role, "HTTP proxy") &&
        lp_net_proxy_for(tls, host, phost, sizeof phost, &pport, &ptls)) {
        json_t *pr = check_proxied(phost, pport, ptls, host, port, tls, &ok);
        json_object_update(o, pr);
        json_decref(pr);
    } else {
        struct ln_target t;
        ln_target_init(&t);
        snprintf(t.host, sizeof t.host, "%s", host);
        t.port = port;
        t.tls = tls;
        t.probe = LN_PROBE_NONE; /* module proxies and proxies speak HTTP */
        const char *ca = getenv("SSL_CERT_FILE");
        if (ca && *ca) t.ca = ca;
        struct lp_diag d;
        char *text = NULL;
        int rc = lp_diagnose_target(&t, &d, &text);
        free(text);
        char red[LN_TEXT_MAX * 2 + 16];
        li_redact_value(NULL, d.verdict, environ, red, sizeof red);
        ok = !rc && d.failed < 0;
        json_object_set_new(o, "verdict", json_string(red));
        json_object_set_new(o, "failed_layer",
                            d.failed >= 0 ? json_string(ln_layer_name((enum ln_layer)d.failed))
                                          : json_null());
        json_object_set_new(o, "netcheck", d.report ? d.report : json_null());
    }
    json_object_set_new(o, "ok", json_boolean(ok));
    json_array_append_new(c->checks, o);
    if (!ok) c->failed++;
}

static const char *s_of(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

/* What to do, from the checks taken together. */
static json_t *hints(const json_t *checks)
{
    json_t *h = json_array();
    const char *works = NULL;
    size_t i;
    json_t *c;
    json_array_foreach(checks, i, c)
    {
        if (!works && !strcmp(s_of(c, "variable"), "GOPROXY") &&
            json_is_true(json_object_get(c, "ok")))
            works = s_of(c, "entry");
    }
    json_array_foreach(checks, i, c)
    {
        if (json_is_true(json_object_get(c, "ok"))) continue;
        char line[1400];
        const char *var = s_of(c, "variable"), *proxy = s_of(c, "through_proxy");
        char via[LN_HOST_MAX + 80] = "";
        if (*proxy) snprintf(via, sizeof via, " through the HTTP proxy %s", proxy);
        if (!strcmp(var, "GOPROXY"))
            snprintf(line, sizeof line, "module proxy %s unreachable from this network%s: %s; %s",
                     s_of(c, "entry"), via, s_of(c, "verdict"),
                     works ? "" : "no configured module proxy works here");
        else if (!strcmp(var, "GOSUMDB"))
            snprintf(line, sizeof line,
                     "checksum database %s unreachable from this network%s: %s; go cannot verify "
                     "modules missing from go.sum (GONOSUMDB or GOPRIVATE for private modules, "
                     "or a GOPROXY that proxies the checksum database)",
                     s_of(c, "target"), via, s_of(c, "verdict"));
        else
            snprintf(line, sizeof line,
                     "the HTTP proxy %s (%s) is unreachable: %s; everything go fetches through it "
                     "fails (fix the proxy setting, or NO_PROXY for hosts reached directly)",
                     s_of(c, "target"), var, s_of(c, "verdict"));
        if (!strcmp(var, "GOPROXY") && works) {
            size_t n = strlen(line);
            snprintf(line + n, sizeof line - n, "%s works", works);
        }
        json_array_append_new(h, json_string(line));
    }
    return h;
}

size_t lp_doctor_net(json_t *rep)
{
    struct netctx c = {.checks = json_array()};
    const char *gp = go_value(rep, "GOPROXY", "https://proxy.golang.org,direct");
    char *list = strdup(gp);
    for (char *save = NULL, *e = list ? strtok_r(list, ",|", &save) : NULL; e;
         e = strtok_r(NULL, ",|", &save)) {
        while (*e == ' ')
            e++;
        if (!*e || !strcmp(e, "direct") || !strcmp(e, "off")) continue;
        char host[LN_HOST_MAX];
        uint16_t port;
        int tls;
        if (url_target(e, host, sizeof host, &port, &tls))
            check(&c, "module proxy (GOPROXY)", "GOPROXY", e, host, port, tls);
    }
    free(list);
    /* GOSUMDB: "off", "name", "name+key" or "name+key url". */
    const char *sd = go_value(rep, "GOSUMDB", "sum.golang.org");
    if (strcmp(sd, "off")) {
        char host[LN_HOST_MAX];
        uint16_t port = 443;
        int tls = 1;
        const char *sp = strchr(sd, ' ');
        if (!sp || !url_target(sp + 1, host, sizeof host, &port, &tls)) {
            size_t n = strcspn(sd, "+ ");
            if (n >= sizeof host) n = sizeof host - 1;
            memcpy(host, sd, n);
            host[n] = 0;
        }
        if (*host) check(&c, "checksum database (GOSUMDB)", "GOSUMDB", sd, host, port, tls);
    }
    static const char *const proxies[] = {"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy",
                                          NULL};
    char seen[4][LN_HOST_MAX + 16] = {{0}};
    for (int i = 0; proxies[i]; i++) {
        const char *v = getenv(proxies[i]);
        if (!v || !*v) continue;
        char url[2048];
        snprintf(url, sizeof url, "%s%s", strstr(v, "://") ? "" : "http://", v);
        char host[LN_HOST_MAX];
        uint16_t port;
        int tls;
        if (!url_target(url, host, sizeof host, &port, &tls)) continue;
        char key[LN_HOST_MAX + 16];
        snprintf(key, sizeof key, "%s:%u", host, port);
        int dup = 0;
        for (int j = 0; j < i; j++)
            dup |= !strcmp(seen[j], key);
        snprintf(seen[i], sizeof seen[i], "%s", key);
        if (!dup) check(&c, "HTTP proxy", proxies[i], v, host, port, tls);
    }
    json_t *net = json_pack("{s:o, s:o}", "hints", hints(c.checks), "checks", c.checks);
    json_object_set_new(rep, "net", net);
    return c.failed;
}
