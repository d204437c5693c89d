/*
 * lp_netwatch — the connections gopls makes through go (module proxy,
 * checksum database, HTTP proxy, VCS hosts): when gopls reports that one
 * failed, netcheck that target and tell the user (docs/netcheck.md,
 * "gopls's own connections").
 *
 * It watches the server's messages as the inspector classifies them
 * (li_msg_fn): only window/logMessage, window/showMessage,
 * textDocument/publishDiagnostics and error replies, and only their bodies
 * that pass ln_gofail_maybe, are parsed. Each distinct target is checked
 * once per session (again after cfg->net_recheck_s), on libuv's thread pool:
 * the relay never waits. The result comes back on the loop as an stderr
 * line, a `netcheck` session event and (cfg->net_show) a window/showMessage,
 * through the hooks the relay gives.
 *
 * The environment is the one lsptap was started with (gopls's, unless a
 * repair changed it): HTTP(S)_PROXY / NO_PROXY tell whether go went through
 * a proxy, SSL_CERT_FILE / SSL_CERT_DIR are the trust store, GOPROXY and
 * GOSUMDB name the role of a target.
 */
#ifndef LSPTAP_PROXY_LP_NETWATCH_H
#define LSPTAP_PROXY_LP_NETWATCH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "env/lp_config.h"
#include "inspect/li_events.h"
#include "inspect/li_session.h"
#include "netcheck/ln.h"

struct lp_netwatch;

/* What the relay lets netwatch do, on the loop's thread. `show` must put the
 * message between frames of the editor's stream. */
struct lp_netwatch_hooks {
    void (*say)(void *ud, const char *line); /* one stderr line, ending in '\n' */
    void (*show)(void *ud, int type, const char *text);
    void (*event)(void *ud, enum li_event ev, json_t *fields); /* takes the reference */
    void *ud;
};

/* NULL when cfg->net_watch is off or out of memory (then nothing is
 * watched). The config is borrowed for the watcher's life. */
struct lp_netwatch *lp_netwatch_new(const struct lp_config *cfg);

/* Starts acting on what it sees (before this, messages are ignored). */
void lp_netwatch_bind(struct lp_netwatch *nw, uv_loop_t *loop, const struct lp_netwatch_hooks *h);

/* The li_msg_fn to give the inspector; ud is the struct lp_netwatch. */
void lp_netwatch_on_msg(void *ud, enum li_dir dir, const struct li_msg *m, const char *body,
                        size_t len, int64_t latency_us);

/* Frees the watcher; after the loop ended (no check in flight). NULL ok. */
void lp_netwatch_free(struct lp_netwatch *nw);

#endif
