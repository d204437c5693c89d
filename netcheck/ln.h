/*
 * ln — netcheck: why a connection to HOST:PORT fails, layer by layer.
 *
 * Layers run in the order link, network, dns, transport, tls, application
 * (docs/design.md, netcheck/). Each is one unit with one interface,
 * ln_layer_<name>(target, ctx, result), after curl's connection filters: it
 * reads what the earlier layers left in the context, fills its result, and
 * returns 0 or a negative errno when it could not run at all (out of
 * memory); a failed check is a result, not an error.
 *
 * The library never prints. ln_run() fills a report and tells an observer
 * about each layer as it starts and ends, in display order, so a caller can
 * stream it; callers render with ln_render_layer() / ln_report_json()
 * (ln_render.h).
 *
 * Host names are resolved before link and network are checked (those need
 * an address), but the dns result is reported in its place, third.
 */
#ifndef LSPTAP_NETCHECK_LN_H
#define LSPTAP_NETCHECK_LN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* The layers and statuses as X-macro lists of (value, name): the enums and
 * ln_layer_name / ln_status_name are generated from the same list, so a
 * value cannot be added without its name. The names are the JSON's. */
#define LN_LAYERS(X)                                                                               \
    X(LN_LINK, "link")                                                                             \
    X(LN_NETWORK, "network")                                                                       \
    X(LN_DNS, "dns")                                                                               \
    X(LN_TRANSPORT, "transport")                                                                   \
    X(LN_TLS, "tls")                                                                               \
    X(LN_APP, "application")
#define LN_STATUSES(X) X(LN_OK, "ok") X(LN_WARN, "warn") X(LN_FAIL, "fail") X(LN_SKIPPED, "skipped")
#define LN_ENUM_VALUE(v, name) v,
#define LN_ENUM_COUNT(v, name) +1
#define LN_NAME_ENTRY(v, name) [v] = name,
/* Defines `const char *fn(type v)`: the name of v in the X-macro LIST, "?"
 * for a value outside it. */
#define LN_DEFINE_NAME_FN(fn, type, LIST)                                                          \
    const char *fn(type v)                                                                         \
    {                                                                                              \
        static const char *const names[] = {LIST(LN_NAME_ENTRY)};                                  \
        return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "?";                    \
    }
enum ln_layer { LN_LAYERS(LN_ENUM_VALUE) };
enum { LN_NLAYERS = 0 LN_LAYERS(LN_ENUM_COUNT) };
enum ln_status { LN_STATUSES(LN_ENUM_VALUE) };
enum { LN_NSTATUSES = 0 LN_STATUSES(LN_ENUM_COUNT) };
enum ln_probe { LN_PROBE_LSP, LN_PROBE_DAP, LN_PROBE_NONE };

/* Exit codes of `lsptap netcheck` (stable, documented in docs/netcheck.md):
 * 0 when no layer failed, otherwise one code per first failing layer. */
enum {
    LN_EXIT_OK = 0,
    LN_EXIT_INTERNAL = 1, /* netcheck itself could not run (out of memory) */
    LN_EXIT_USAGE = 2,
    LN_EXIT_LINK = 3,
    LN_EXIT_NETWORK = 4,
    LN_EXIT_DNS = 5,
    LN_EXIT_TRANSPORT = 6,
    LN_EXIT_TLS = 7,
    LN_EXIT_APP = 8,
};

#define LN_HOST_MAX 256
#define LN_TEXT_MAX 320

struct ln_target {
    char host[LN_HOST_MAX]; /* name or address literal, without brackets */
    uint16_t port;
    int tls;               /* run the tls layer */
    const char *sni;       /* name sent and checked; NULL: host (when not a literal) */
    const char *ca;        /* CA file; NULL: the system's store */
    const char *cert;      /* client certificate (PEM) for servers that ask; NULL: none */
    const char *key;       /* its key */
    enum ln_probe probe;   /* application probe */
    int timeout_ms;        /* per attempt (per address, per handshake, per probe) */
    const char *pcap_path; /* write the captured packets here; NULL: don't */
};

struct ln_layer_result {
    enum ln_layer layer;
    enum ln_status status;
    char summary[LN_TEXT_MAX]; /* one line */
    char hint[LN_TEXT_MAX];    /* what to do, when this layer is the verdict */
    json_t *evidence;          /* an object, owned by the result */
    double ms;
};

struct ln_report {
    struct ln_target target;
    struct ln_layer_result layers[LN_NLAYERS]; /* indexed by enum ln_layer */
    int failed;                                /* first failing layer, or -1 */
    char verdict[LN_TEXT_MAX];
    char hint[LN_TEXT_MAX];
};

/* Sets defaults (probe lsp, timeout 3 s) and parses "HOST:PORT",
 * "[V6]:PORT" or "V6ADDR" is refused (ambiguous). Returns 0, or -EINVAL with
 * err saying what is wrong. */
void ln_target_init(struct ln_target *t);
int ln_target_parse(struct ln_target *t, const char *hostport, char *err, size_t errlen);

/* Who watches a run: on_start before a layer runs, on_layer when its result
 * is final (in display order: link, network, dns, ...). Either may be NULL. */
struct ln_observer {
    void (*on_start)(void *ud, enum ln_layer layer);
    void (*on_layer)(void *ud, const struct ln_report *rep, enum ln_layer layer);
    void *ud;
};

/* Runs every layer on `t` into `rep` (free with ln_report_free, also after
 * an error). `obs` may be NULL. Returns 0, or a negative errno when
 * netcheck itself failed. */
int ln_run(const struct ln_target *t, struct ln_report *rep, const struct ln_observer *obs);
void ln_report_free(struct ln_report *rep);

/* The exit code for a report (above). */
int ln_exit_code(const struct ln_report *rep);

/* The stable names ("transport", "fail"); "?" for a value outside the enum. */
const char *ln_layer_name(enum ln_layer l);
const char *ln_status_name(enum ln_status s);

#endif
