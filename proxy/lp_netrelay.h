/*
 * lp_netrelay — `lsptap relay`: LSP or DAP over TCP and unix sockets.
 *
 *   relay --connect ADDR                 this process's stdio <-> ADDR
 *   relay --listen ADDR -- CMD...        each connection <-> a new CMD's stdio
 *   relay --listen ADDR --connect ADDR2  each connection <-> a new connection to ADDR2
 *
 * ADDR is host:port, [v6]:port or unix:PATH. Every connection is inspected
 * and recorded as its own session (role "relay"). A plain listener on an
 * address that is not loopback is refused unless --insecure (docs/design.md
 * principle 6).
 *
 * Keep-alive (docs/keep-alive.md): with --connect alone and LSP, a connection
 * that drops after the handshake is reconnected with backoff and the editor's
 * state replayed through resume/lp_keepalive; the editor's stdio stays open.
 */
#ifndef LSPTAP_PROXY_LP_NETRELAY_H
#define LSPTAP_PROXY_LP_NETRELAY_H

/* argv[0] is "relay". Returns the exit code. */
int lp_netrelay_main(int argc, char **argv);

#endif
