/*
 * lp_revive — the gopls stand-in's supervisor: the handshake supervision
 * (proxy/lp_handshake.h) until the handshake is over, then keep-alive
 * (resume/lp_keepalive.h, docs/keep-alive.md): when gopls is lost after the
 * handshake (it exits, is killed, closes its stdout) before the editor said
 * shutdown/exit, a new gopls is started behind the same editor with the
 * current generation's environment (the repaired one after a repair) and
 * brought to where the lost one was.
 *
 * The relay takes one supervision table (proxy/lp_relay.h): lp_revive_ops
 * dispatches to lp_handshake_ops until keep-alive first takes over a loss,
 * and to the keep-alive engine from then on. With keep-alive off
 * (LSPTAP_KEEPALIVE=off) it is the handshake supervision alone.
 */
#ifndef LSPTAP_PROXY_LP_REVIVE_H
#define LSPTAP_PROXY_LP_REVIVE_H

#include "env/lp_config.h"
#include "inspect/li_session.h"
#include "proxy/lp_handshake.h"
#include "proxy/lp_relay.h"

struct lp_revive;

extern const struct lp_relay_super_ops lp_revive_ops;

/* A supervisor for one lp_relay_run. cfg, argv0 (the server's name in what
 * lsptap says), hs (the handshake supervision it composes) and res (the
 * relay's result, read for the server's stderr tail while it runs) are
 * borrowed and must outlive it. NULL when out of memory. */
struct lp_revive *lp_revive_new(const struct lp_config *cfg, const char *argv0,
                                struct lp_handshake *hs, const struct lp_relay_result *res);

/* The li_msg_fn to open the session with (ud: the lp_revive): feeds the
 * keep-alive tracker, then calls next(next_ud, ...) when next is set (the
 * network watch). */
void lp_revive_on_msg(void *ud, enum li_dir dir, const struct li_msg *m, const char *body,
                      size_t len, int64_t latency_us);
void lp_revive_chain(struct lp_revive *v, li_msg_fn next, void *next_ud);

/* The session the relay feeds (whether the editor's stream is between
 * frames at a loss). Before lp_relay_run. */
void lp_revive_attach(struct lp_revive *v, struct li_session *sess);

/* After lp_relay_run returned. NULL is ignored. */
void lp_revive_free(struct lp_revive *v);

#endif
