/*
 * ln_connect — the CONNECT an HTTP proxy is asked for when a client such
 * as go reaches an https server through it (HTTPS_PROXY): netcheck's layers
 * say whether the proxy is reachable; this says whether it lets the client
 * through to the destination.
 */
#ifndef LSPTAP_NETCHECK_LN_CONNECT_H
#define LSPTAP_NETCHECK_LN_CONNECT_H

#include <stddef.h>
#include <stdint.h>

/* Connects to proxy:pport (plain TCP; each address in turn, timeout_ms
 * each), sends "CONNECT host:port HTTP/1.1" and reads the status line.
 * userinfo, when not NULL, is "USER:PASSWORD" as go's net/http sends it:
 * base64 in a "Proxy-Authorization: Basic" header (at most
 * LN_CONNECT_USERINFO_MAX bytes; longer is -EINVAL). Returns the status
 * code (200: the tunnel is open; 407: the proxy wants other credentials),
 * or a negative errno when there was no answer (-ETIMEDOUT, -ECONNREFUSED,
 * -EPROTO for an answer that is not HTTP, -EAI_* mapped to -EHOSTUNREACH).
 * `status` gets the status line ("HTTP/1.1 403 Forbidden", escaped) or what
 * went wrong, never the credentials; the request is cleared from memory
 * after it is sent. `reached` (may be NULL) is set to 1 once the TCP
 * connection to the proxy is made, 0 before: what follows a connection
 * (-ETIMEDOUT for silence, -ECONNRESET for a close without a reply, -EIO
 * when the proxy hung up before the request was sent, -EPROTO) is the
 * proxy's answer, what precedes it is the network's, and -ETIMEDOUT alone
 * cannot say which. Blocking. */
#define LN_CONNECT_USERINFO_MAX 1024

/* What the proxy's reply says: buf[0..n) is what was read of it (the
 * status line and what came with it; any bytes, from the network). Returns
 * the status code when its first line is a status line as go's
 * http.ReadResponse reads one (HTTP/X.Y, blanks, three digits ended by a
 * space or the line's end), -EPROTO when it is not, -ECONNRESET when n is 0
 * (the proxy closed without a word). `status` (cap >= 1) gets the first line
 * escaped (ln_escape, at most 120 of its bytes) or what went wrong; always
 * terminated. Pure: what ln_http_connect does with the bytes it reads. */
int ln_connect_reply(const char *buf, size_t n, char *status, size_t cap);
int ln_http_connect(const char *proxy, uint16_t pport, const char *host, uint16_t port,
                    const char *userinfo, int timeout_ms, char *status, size_t cap, int *reached);

/* What ln_http_connect's result means, in words a person acts on: `out`
 * gets one clause whose subject is `who` ("it", "the HTTP proxy H:P"),
 * naming `dest` ("host:port" as CONNECT asked for it; NULL: not repeated):
 *   a status:     <who> answers CONNECT <dest> with "<status>": <meaning>,
 *                 the meaning by code (4xx: it refuses this destination;
 *                 502/504: it could not reach the destination itself; 503,
 *                 other 5xx; 3xx, 2xx other than 200 and 000: go wants
 *                 200); a code of 0 is status "000", an answer like another;
 *   -EPROTO:      ... with something that is not HTTP ("<status>"): check
 *                 that <var> names an HTTP proxy;
 *   reached, -ETIMEDOUT: <who> accepted the connection but did not answer
 *                 CONNECT <dest> within <timeout_ms> (in seconds);
 *   reached, any other: <who> accepted the connection and closed it without
 *                 answering CONNECT <dest>;
 *   not reached:  <who> could not be reached to ask for CONNECT <dest>
 *                 (<status>);
 *   -EINVAL:      <who> was not asked for CONNECT <dest>: <status> (the
 *                 request could not be made, e.g. credentials over the limit;
 *                 no layer failed: returns -1).
 * 407 gets a generic clause: the callers name the credentials themselves.
 * Returns the layer that failed, as netcheck's layers divide it: LN_APP
 * once the proxy was reached (a refusal, a wrong protocol, a close without
 * a reply and silence are its application layer's), LN_TRANSPORT when it
 * was not; -1 for 200 (then `out` says the tunnel is open). `out` (cap >= 1)
 * is always terminated. Pure. */
int ln_connect_explain(int code, int reached, const char *who, const char *dest, const char *status,
                       const char *var, int timeout_ms, char *out, size_t cap);

#endif
