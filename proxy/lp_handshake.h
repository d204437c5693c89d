/*
 * lp_handshake — the gopls stand-in's handshake supervision (docs/repair.md):
 * it judges the start of an LSP session (initialize, its result, the first
 * workspace load), and when that fails checks the environment and restarts
 * gopls with a repaired one behind the same editor (replaying what the
 * editor sent, remapping the new server's request ids), or tells the
 * editor in words why it could not.
 *
 * It is a supervisor of the relay: pass lp_handshake_ops with a context
 * from lp_handshake_new as lp_relay_opts's super / super_ctx. It uses only
 * the relay's public services (proxy/lp_relay.h).
 */
#ifndef LSPTAP_PROXY_LP_HANDSHAKE_H
#define LSPTAP_PROXY_LP_HANDSHAKE_H

#include "env/lp_config.h"
#include "proxy/lp_relay.h"

struct lp_handshake;

extern const struct lp_relay_super_ops lp_handshake_ops;

/* A supervision for one lp_relay_run. cfg and argv0 (the server's name in
 * what lsptap says) are borrowed and must outlive it; env is the server's
 * environment (NULL: lsptap's), the one the repair starts from. NULL when
 * out of memory. */
struct lp_handshake *lp_handshake_new(const struct lp_config *cfg, const char *argv0, char **env);

/* 1 when the handshake failed and could not be repaired (the editor was
 * told). Valid after lp_relay_run returned. */
int lp_handshake_gave_up(const struct lp_handshake *h);

/* The environment of the server the handshake ended with: the repaired one
 * after a repair, else the one given to lp_handshake_new (NULL: lsptap's).
 * Owned by h; valid until lp_relay_run returns. For a supervisor that
 * starts gopls again later (proxy/lp_revive.h). */
char **lp_handshake_env(const struct lp_handshake *h);

/* After lp_relay_run returned. NULL is ignored. */
void lp_handshake_free(struct lp_handshake *h);

#endif
