/*
 * ln_run: the layers in order, the verdict, the exit code.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "netcheck/ln.h"
#include "netcheck/ln_layers.h"
#include "netcheck/ln_pcap.h"

LN_DEFINE_NAME_FN(ln_layer_name, enum ln_layer, LN_LAYERS)
LN_DEFINE_NAME_FN(ln_status_name, enum ln_status, LN_STATUSES)

double ln_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double ln_round_ms(double ms)
{
    return (double)(long long)(ms * 1000 + 0.5) / 1000;
}

void ln_set(struct ln_layer_result *res, enum ln_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    res->status = st;
    vsnprintf(res->summary, sizeof(res->summary), fmt, ap);
    va_end(ap);
}

void ln_hint(struct ln_layer_result *res, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->hint, sizeof(res->hint), fmt, ap);
    va_end(ap);
}

int ln_skip_unresolved(const struct ln_ctx *c, struct ln_layer_result *res, const char *what)
{
    if (c->naddrs) return 0;
    ln_set(res, LN_SKIPPED, "no address to %s (the name did not resolve)", what);
    return 1;
}

void ln_ctx_init(struct ln_ctx *c)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

void ln_ctx_close(struct ln_ctx *c)
{
    if (c->ssl) SSL_free(c->ssl);
    if (c->sslctx) SSL_CTX_free(c->sslctx);
    if (c->fd >= 0) close(c->fd);
    ln_pcap_close(c->pcap);
    ln_ctx_init(c);
}

typedef int (*layer_fn)(const struct ln_target *, struct ln_ctx *, struct ln_layer_result *);

static int run_layer(layer_fn fn, enum ln_layer l, const struct ln_target *t, struct ln_ctx *c,
                     struct ln_report *rep, const struct ln_observer *obs)
{
    assert((unsigned)l < LN_NLAYERS); /* layers[] is indexed by the enum */
    struct ln_layer_result *res = &rep->layers[l];
    if (obs && obs->on_start) obs->on_start(obs->ud, l);
    double t0 = ln_now_ms();
    int rc = fn(t, c, res);
    res->ms = ln_now_ms() - t0;
    res->layer = l;
    return rc;
}

static void emit(struct ln_report *rep, enum ln_layer l, const struct ln_observer *obs)
{
    assert((unsigned)l < LN_NLAYERS);
    struct ln_layer_result *res = &rep->layers[l];
    if (res->status == LN_FAIL && rep->failed < 0) {
        rep->failed = (int)l;
        snprintf(rep->verdict, sizeof(rep->verdict), "%s: %.300s", ln_layer_name(l), res->summary);
        snprintf(rep->hint, sizeof(rep->hint), "%s", res->hint);
    }
    if (obs && obs->on_layer) obs->on_layer(obs->ud, rep, l);
}

int ln_run(const struct ln_target *t, struct ln_report *rep, const struct ln_observer *obs)
{
    memset(rep, 0, sizeof(*rep));
    rep->target = *t;
    rep->failed = -1;
    for (int i = 0; i < LN_NLAYERS; i++) {
        rep->layers[i].layer = (enum ln_layer)i;
        rep->layers[i].status = LN_SKIPPED;
        rep->layers[i].evidence = json_object();
        if (!rep->layers[i].evidence) return -ENOMEM;
    }
    struct ln_ctx c;
    ln_ctx_init(&c);
    int rc;
    /* dns first: link and network need an address; it is shown third. */
    if ((rc = run_layer(ln_layer_dns, LN_DNS, t, &c, rep, obs)) < 0) goto out;
    if ((rc = run_layer(ln_layer_link, LN_LINK, t, &c, rep, obs)) < 0) goto out;
    emit(rep, LN_LINK, obs);
    if ((rc = run_layer(ln_layer_network, LN_NETWORK, t, &c, rep, obs)) < 0) goto out;
    emit(rep, LN_NETWORK, obs);
    emit(rep, LN_DNS, obs);
    static const struct {
        layer_fn fn;
        enum ln_layer l;
    } rest[] = {{ln_layer_transport, LN_TRANSPORT}, {ln_layer_tls, LN_TLS}, {ln_layer_app, LN_APP}};
    for (size_t i = 0; i < sizeof(rest) / sizeof(rest[0]); i++) {
        if ((rc = run_layer(rest[i].fn, rest[i].l, t, &c, rep, obs)) < 0) goto out;
        emit(rep, rest[i].l, obs);
    }
    if (rep->failed < 0) {
        const struct ln_layer_result *app = &rep->layers[LN_APP];
        const struct ln_layer_result *tr = &rep->layers[LN_TRANSPORT];
        snprintf(rep->verdict, sizeof(rep->verdict), "no layer failed: %.300s",
                 app->status != LN_SKIPPED ? app->summary : tr->summary);
        int warned = 0;
        for (int i = 0; i < LN_NLAYERS; i++)
            if (rep->layers[i].status == LN_WARN && !warned++)
                snprintf(rep->hint, sizeof(rep->hint), "%.290s (%s)",
                         rep->layers[i].hint[0] ? rep->layers[i].hint : "see the warning",
                         ln_layer_name((enum ln_layer)i));
    }
    rc = 0;
out:
    ln_ctx_close(&c);
    return rc;
}

void ln_report_free(struct ln_report *rep)
{
    for (int i = 0; i < LN_NLAYERS; i++) {
        json_decref(rep->layers[i].evidence);
        rep->layers[i].evidence = NULL;
    }
}

int ln_exit_code(const struct ln_report *rep)
{
    return rep->failed < 0 ? LN_EXIT_OK : LN_EXIT_LINK + rep->failed;
}
