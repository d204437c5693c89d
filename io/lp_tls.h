/*
 * lp_tls — TLS on a libuv TCP stream, through OpenSSL memory BIOs.
 *
 * OpenSSL never touches the socket: ciphertext read by libuv is written
 * into the session's read BIO, and what OpenSSL puts in its write BIO is
 * handed to uv_write. The event loop stays the only thing doing I/O, and a
 * TLS connection is driven exactly like a plain one.
 *
 * A struct lp_tls owns its TCP handle (lp_tls_stream gives it to libuv
 * calls such as uv_accept or uv_tcp_connect). After the handshake a pump
 * reads and writes it through lp_tls_ops (io/lp_pump.h): the pump sees
 * plaintext, the socket carries ciphertext, and the pump's read callback
 * gets the same (stream, nread, buf) calls it would get from libuv, with
 * nread UV_EOF at the peer's close_notify or TCP EOF.
 *
 * Defaults follow docs/design.md: TLS 1.2 at least, the peer's certificate
 * verified (the system's CAs or --ca), the host name (or IP address)
 * checked and sent as SNI; a listener with a client CA refuses a client
 * without a valid certificate during the handshake, before any byte is
 * relayed.
 */
#ifndef LSPTAP_IO_LP_TLS_H
#define LSPTAP_IO_LP_TLS_H

#include <stddef.h>
#include <uv.h>

#include "io/lp_pump.h"

struct ssl_ctx_st;

/* File names (PEM); NULL when not given. */
struct lp_tls_files {
    const char *cert, *key; /* our certificate chain and its key */
    const char *ca;         /* client: CAs trusted for the server (NULL: the system's) */
    const char *client_ca;  /* listener: clients must present a certificate from these */
};

/* A context for a listener (server = 1) or a client. Returns NULL with a
 * sentence in err naming the file and what is wrong with it. A context lives
 * as long as the process: `lsptap relay` makes at most two, before its loop
 * runs, and every connection made from one holds its own reference to it
 * (SSL_new), so there is no point at which freeing it would return memory. */
struct ssl_ctx_st *lp_tls_ctx_new(int server, const struct lp_tls_files *f, char *err,
                                  size_t errlen);

struct lp_tls;

typedef void (*lp_tls_cb)(struct lp_tls *t, int status);

/* A TLS connection on a new TCP handle of loop; NULL when out of memory.
 * name: the client checks the server's certificate against it (a DNS name,
 * also sent as SNI, or an IP address literal); NULL for a listener. */
struct lp_tls *lp_tls_new(uv_loop_t *loop, struct ssl_ctx_st *ctx, int server, const char *name);

/* The TCP handle, for uv_accept, uv_tcp_connect, uv_tcp_getpeername, and
 * as the stream a pump reads and writes (with lp_tls_ops). */
uv_stream_t *lp_tls_stream(struct lp_tls *t);

/* Runs the handshake on the connected stream. cb runs once: status 0, or a
 * negative error with lp_tls_error saying why. timeout_ms bounds the whole
 * handshake (a silent peer must not hold a connection slot). A client
 * whose certificate the server asked for waits, under TLS 1.3, for the
 * server's first record after the handshake (at most confirm_ms): under TLS
 * 1.3 a server judges the client's certificate after the client considers
 * the handshake done, and its refusal must be reported as a handshake
 * failure, not as a connection that closes later. Returns 0, or a libuv
 * error (cb will not run). */
int lp_tls_handshake(struct lp_tls *t, unsigned timeout_ms, unsigned confirm_ms, lp_tls_cb cb,
                     void *data);

void *lp_tls_data(const struct lp_tls *t);

/* Why the handshake or a read failed, in one sentence ("" if it did not). */
const char *lp_tls_error(const struct lp_tls *t);

/* "TLSv1.3 TLS_AES_256_GCM_SHA384", and the peer certificate's subject
 * ("" when the peer sent none). Valid after a successful handshake. */
const char *lp_tls_describe(const struct lp_tls *t, char *buf, size_t len);
const char *lp_tls_peer_subject(const struct lp_tls *t, char *buf, size_t len);

/* The pump operations (read_start, read_stop, write, shutdown) over t. */
extern const struct lp_stream_ops lp_tls_ops;

/* Closes the handle and timer, frees t, then calls done(arg). */
void lp_tls_close(struct lp_tls *t, void (*done)(void *arg), void *arg);

#endif
