/*
 * lp_relay_stderr — lsptap's own lines on the stdio relay's stderr, for
 * code outside the relay's loop. The relay itself writes its lines between
 * the server's through proxy/lp_relay_int.h; this is the one service other
 * threads may call.
 */
#ifndef LSPTAP_PROXY_LP_RELAY_STDERR_H
#define LSPTAP_PROXY_LP_RELAY_STDERR_H

/* Thread-safe: hands one line for stderr to the running relay's loop, so
 * it goes out with lsptap's other lines. Returns 0 when taken, -1 when no
 * relay is running or a line is already waiting. */
int lp_relay_notify(const char *line);

#endif
