#include "io/lp_tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netcheck/ln_pem.h"

#define RAW_READ_SIZE (64 * 1024)

enum state { HANDSHAKE, CONFIRM, OPEN, FAILED };

struct lp_tls {
    union {
        uv_handle_t h;
        uv_stream_t s;
        uv_tcp_t tcp;
    } sock; /* first: lp_tls_stream's handle leads back to t */
    uv_timer_t timer;
    SSL *ssl;
    BIO *rbio, *wbio; /* owned by ssl */
    int server;
    enum state state;
    int cert_requested; /* a client: the server asked for our certificate */
    int confirm_bytes;  /* ciphertext that arrived after the handshake */
    unsigned timeout_ms, confirm_ms;
    int raw_reading; /* uv_read_start is in effect on the socket */
    int raw_end;     /* 0, or the socket's EOF / read error */
    int reading;     /* the pump wants plaintext */
    int in_drain;
    int eof_given;
    lp_tls_cb cb;
    void *data;
    uv_alloc_cb alloc_cb;
    uv_read_cb read_cb;
    int closing;
    void (*done)(void *);
    void *done_arg;
    char why[512];
    char rbuf[RAW_READ_SIZE];
};

/* A ciphertext write; `user` is the pump's request, completed with it. */
struct out {
    uv_write_t req;
    uv_write_t *user;
    uv_write_cb cb;
    char data[];
};

static struct lp_tls *from_handle(uv_handle_t *h)
{
    return (struct lp_tls *)(void *)h;
}

/* ---- contexts ---- */

static int cert_cb(SSL *ssl, void *arg)
{
    (void)arg;
    struct lp_tls *t = SSL_get_app_data(ssl);
    if (t) t->cert_requested = 1;
    return 1;
}

struct ssl_ctx_st *lp_tls_ctx_new(int server, const struct lp_tls_files *f, char *err,
                                  size_t errlen)
{
    char why[4400];
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!ctx) {
        snprintf(err, errlen, "cannot create a TLS context (out of memory)");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* The chain sent is the --cert file as given (leaf, then intermediates),
     * not one OpenSSL completes from the client CAs. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_NO_AUTO_CHAIN);
    if (server && (!f->cert || !f->key)) {
        snprintf(err, errlen,
                 "a tls:// listener needs its certificate and key: --cert FILE "
                 "--key FILE");
        goto fail;
    }
    if (!f->cert != !f->key) {
        snprintf(err, errlen, "--cert and --key go together: give both or neither");
        goto fail;
    }
    if (f->cert && SSL_CTX_use_certificate_chain_file(ctx, f->cert) != 1) {
        ln_pem_why(f->cert, why, sizeof why);
        snprintf(err, errlen, "cannot load the certificate %s", why);
        goto fail;
    }
    if (f->key && SSL_CTX_use_PrivateKey_file(ctx, f->key, SSL_FILETYPE_PEM) != 1) {
        ln_pem_why(f->key, why, sizeof why);
        snprintf(err, errlen, "cannot load the key %s", why);
        goto fail;
    }
    if (f->key && SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errlen, "the key %s does not belong to the certificate %s", f->key, f->cert);
        goto fail;
    }
    if (server) {
        if (f->client_ca) {
            STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(f->client_ca);
            if (!names || SSL_CTX_load_verify_locations(ctx, f->client_ca, NULL) != 1) {
                sk_X509_NAME_pop_free(names, X509_NAME_free);
                ln_pem_why(f->client_ca, why, sizeof why);
                snprintf(err, errlen, "cannot load the client CA file %s", why);
                goto fail;
            }
            SSL_CTX_set_client_CA_list(ctx, names);
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        }
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        if (f->ca) {
            if (SSL_CTX_load_verify_locations(ctx, f->ca, NULL) != 1) {
                ln_pem_why(f->ca, why, sizeof why);
                snprintf(err, errlen, "cannot load the CA file %s", why);
                goto fail;
            }
        } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
            snprintf(err, errlen, "cannot load the system's CA certificates; give --ca FILE");
            goto fail;
        }
        SSL_CTX_set_cert_cb(ctx, cert_cb, NULL);
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

/* ---- a connection ---- */

struct lp_tls *lp_tls_new(uv_loop_t *loop, struct ssl_ctx_st *ctx, int server, const char *name)
{
    struct lp_tls *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->server = server;
    t->ssl = SSL_new(ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (!t->ssl || !t->rbio || !t->wbio) goto fail;
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_app_data(t->ssl, t);
    if (server) {
        SSL_set_accept_state(t->ssl);
    } else {
        SSL_set_connect_state(t->ssl);
        unsigned char ip[16];
        if (name && (inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1)) {
            if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), name) != 1) goto fail;
        } else if (name) {
            if (SSL_set_tlsext_host_name(t->ssl, name) != 1 || SSL_set1_host(t->ssl, name) != 1)
                goto fail;
        }
    }
    uv_tcp_init(loop, &t->sock.tcp);
    uv_timer_init(loop, &t->timer);
    return t;
fail:
    if (t->ssl) {
        SSL_free(t->ssl);
    } else {
        BIO_free(t->rbio);
        BIO_free(t->wbio);
    }
    free(t);
    return NULL;
}

uv_stream_t *lp_tls_stream(struct lp_tls *t)
{
    return &t->sock.s;
}

void *lp_tls_data(const struct lp_tls *t)
{
    return t->data;
}

const char *lp_tls_error(const struct lp_tls *t)
{
    return t->why;
}

const char *lp_tls_describe(const struct lp_tls *t, char *buf, size_t len)
{
    snprintf(buf, len, "%s %s", SSL_get_version(t->ssl), SSL_get_cipher_name(t->ssl));
    return buf;
}

const char *lp_tls_peer_subject(const struct lp_tls *t, char *buf, size_t len)
{
    X509 *x = SSL_get0_peer_certificate(t->ssl);
    buf[0] = '\0';
    if (x) X509_NAME_oneline(X509_get_subject_name(x), buf, (int)len);
    return buf;
}

/* ---- ciphertext out ---- */

static void out_done(uv_write_t *req, int status)
{
    struct out *o = (struct out *)req;
    uv_write_t *user = o->user;
    uv_write_cb cb = o->cb;
    free(o);
    if (cb) cb(user, status);
}

/* Sends what OpenSSL wrote into the write BIO; user (with cb) completes
 * when it is on the wire. */
static int flush(struct lp_tls *t, uv_write_t *user, uv_write_cb cb)
{
    size_t n = BIO_ctrl_pending(t->wbio);
    if (!n && !user) return 0;
    struct out *o = malloc(sizeof *o + n);
    if (!o) return UV_ENOMEM;
    o->user = user;
    o->cb = cb;
    if (n && BIO_read(t->wbio, o->data, (int)n) != (int)n) {
        free(o);
        return UV_EIO;
    }
    uv_buf_t b = uv_buf_init(o->data, (unsigned)n);
    int r = uv_write(&o->req, &t->sock.s, &b, 1, out_done);
    if (r) free(o);
    return r;
}

/* ---- why it failed ---- */

static int reason_in(int r, const int *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == r) return 1;
    return 0;
}

static void explain(struct lp_tls *t, int sslerr)
{
    static const int not_tls[] = {SSL_R_WRONG_VERSION_NUMBER, SSL_R_HTTP_REQUEST,
                                  SSL_R_PACKET_LENGTH_TOO_LONG, SSL_R_RECORD_LENGTH_MISMATCH};
    static const int cert_refused[] = {
        SSL_R_SSLV3_ALERT_BAD_CERTIFICATE,     SSL_R_TLSV1_ALERT_UNKNOWN_CA,
        SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED, SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN,
        SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED, SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE,
        SSL_R_TLSV1_ALERT_DECRYPT_ERROR,       SSL_R_TLSV1_ALERT_ACCESS_DENIED};
    unsigned long e = ERR_peek_last_error();
    int reason = e ? ERR_GET_REASON(e) : 0;
    const char *rs = e ? ERR_reason_error_string(e) : NULL;
    long vr = SSL_get_verify_result(t->ssl);
    const char *peer = t->server ? "client" : "server";
    if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED && vr != X509_V_OK) {
        snprintf(t->why, sizeof t->why, "the %s's certificate failed verification: %s", peer,
                 X509_verify_cert_error_string(vr));
    } else if (t->server && reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
        snprintf(t->why, sizeof t->why,
                 "the client sent no certificate, and this listener requires one signed by "
                 "its --client-ca");
    } else if (!t->server && reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED) {
        snprintf(t->why, sizeof t->why,
                 "the server requires a client certificate: give --cert FILE --key FILE "
                 "(LSPTAP_TLS_CERT, LSPTAP_TLS_KEY)");
    } else if (!t->server && t->cert_requested && reason_in(reason, cert_refused, 8)) {
        snprintf(t->why, sizeof t->why,
                 "the server refused this client's certificate (its alert: %s): it must be "
                 "signed by a CA the server's --client-ca trusts, and be valid today",
                 rs ? rs : "?");
    } else if (!t->server && t->cert_requested && SSL_get_certificate(t->ssl) == NULL) {
        snprintf(t->why, sizeof t->why,
                 "the server asked for a client certificate and none was given (%s): give "
                 "--cert FILE --key FILE",
                 rs ? rs : "handshake failed");
    } else if (reason_in(reason, not_tls, 4)) {
        snprintf(t->why, sizeof t->why, "the %s does not speak TLS (%s)", peer, rs);
    } else if (reason == SSL_R_UNSUPPORTED_PROTOCOL || reason == SSL_R_NO_PROTOCOLS_AVAILABLE ||
               reason == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION) {
        snprintf(t->why, sizeof t->why,
                 "the %s offers no TLS version lsptap accepts (1.2 or later): %s", peer, rs);
    } else if (rs) {
        snprintf(t->why, sizeof t->why, "TLS handshake with the %s failed: %s", peer, rs);
    } else if (t->raw_end && t->raw_end != UV_EOF) {
        snprintf(t->why, sizeof t->why, "the connection failed during the TLS handshake: %s",
                 uv_strerror(t->raw_end));
    } else {
        snprintf(t->why, sizeof t->why, "the %s closed the connection during the TLS handshake%s",
                 peer, sslerr == SSL_ERROR_SSL ? " (a protocol error)" : "");
    }
}

/* ---- reading ---- */

static void raw_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct lp_tls *t = from_handle(h);
    *buf = uv_buf_init(t->rbuf, sizeof t->rbuf);
}

static void raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

/* The socket is read while the handshake runs, and afterwards only while
 * the pump wants plaintext and nothing undelivered is buffered: a paused
 * pump holds back the peer through TCP, as with a plain stream. */
static void raw_update(struct lp_tls *t)
{
    int want = !t->raw_end && !t->closing &&
               (t->state == HANDSHAKE || t->state == CONFIRM ||
                (t->state == OPEN && t->reading && !t->eof_given));
    if (want && !t->raw_reading) {
        if (!uv_read_start(&t->sock.s, raw_alloc, raw_read)) t->raw_reading = 1;
    } else if (!want && t->raw_reading) {
        uv_read_stop(&t->sock.s);
        t->raw_reading = 0;
    }
}

static void finish(struct lp_tls *t, int status)
{
    uv_timer_stop(&t->timer);
    t->state = status ? FAILED : OPEN;
    raw_update(t);
    t->cb(t, status);
}

static void fail(struct lp_tls *t, int sslerr)
{
    explain(t, sslerr);
    flush(t, NULL, NULL); /* the alert, if OpenSSL wrote one */
    finish(t, UV_EPROTO);
}

static void timer_fired(uv_timer_t *timer);
static void confirm_step(struct lp_tls *t);

static void handshake_step(struct lp_tls *t)
{
    ERR_clear_error();
    int r = SSL_do_handshake(t->ssl);
    int e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_NONE || e == SSL_ERROR_WANT_READ) flush(t, NULL, NULL);
    if (e == SSL_ERROR_NONE) {
        if (!t->server && t->cert_requested && SSL_version(t->ssl) == TLS1_3_VERSION &&
            t->confirm_ms) {
            t->state = CONFIRM;
            uv_timer_start(&t->timer, timer_fired, t->confirm_ms, 0);
            if (BIO_ctrl_pending(t->rbio)) {
                t->confirm_bytes = 1;
                confirm_step(t);
            }
            return;
        }
        finish(t, 0);
    } else if (e == SSL_ERROR_WANT_READ && !t->raw_end) {
        return;
    } else {
        fail(t, e);
    }
}

static void confirm_step(struct lp_tls *t)
{
    char c;
    ERR_clear_error();
    int r = SSL_peek(t->ssl, &c, 1);
    int e = r > 0 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, r);
    flush(t, NULL, NULL);
    if (e == SSL_ERROR_NONE || e == SSL_ERROR_ZERO_RETURN) {
        finish(t, 0); /* it spoke, or closed cleanly: the pumps will see it */
    } else if (e == SSL_ERROR_WANT_READ) {
        /* A whole record was taken without complaint (a session ticket):
         * the server accepted the certificate. */
        if (t->confirm_bytes && !BIO_ctrl_pending(t->rbio))
            finish(t, 0);
        else if (t->raw_end)
            finish(t, 0);
    } else {
        fail(t, e);
    }
}

static void deliver_end(struct lp_tls *t, ssize_t status, uv_buf_t *b)
{
    t->eof_given = 1;
    t->read_cb(&t->sock.s, status, b);
}

/* Gives the pump the plaintext OpenSSL can produce now, in buffers of the
 * pump's own allocator, until it pauses or OpenSSL needs more input. */
static void drain(struct lp_tls *t)
{
    if (t->in_drain) return;
    t->in_drain = 1;
    while (t->reading && !t->eof_given) {
        uv_buf_t b;
        t->alloc_cb(&t->sock.h, RAW_READ_SIZE, &b);
        if (!b.base || !b.len) {
            deliver_end(t, UV_ENOBUFS, &b);
            break;
        }
        ERR_clear_error();
        int n = SSL_read(t->ssl, b.base, (int)b.len);
        if (n > 0) {
            t->read_cb(&t->sock.s, n, &b);
            continue;
        }
        int e = SSL_get_error(t->ssl, n);
        flush(t, NULL, NULL); /* a key update answer, say */
        if (e == SSL_ERROR_WANT_READ && !t->raw_end) {
            t->read_cb(&t->sock.s, 0, &b); /* the buffer goes back */
            break;
        } else if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_ZERO_RETURN) {
            deliver_end(t,
                        t->raw_end && t->raw_end != UV_EOF && e != SSL_ERROR_ZERO_RETURN
                            ? t->raw_end
                            : UV_EOF,
                        &b);
        } else {
            unsigned long err = ERR_peek_last_error();
            snprintf(t->why, sizeof t->why, "TLS error on the connection: %s",
                     err ? ERR_reason_error_string(err) : "protocol error");
            deliver_end(t, UV_EPROTO, &b);
        }
    }
    t->in_drain = 0;
    raw_update(t);
}

static void raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct lp_tls *t = from_handle((uv_handle_t *)s);
    if (n > 0) {
        if (BIO_write(t->rbio, buf->base, (int)n) != (int)n) {
            t->raw_end = UV_ENOMEM;
        } else if (t->state == CONFIRM) {
            t->confirm_bytes = 1;
        }
    } else if (n < 0) {
        t->raw_end = (int)n;
        uv_read_stop(s);
        t->raw_reading = 0;
    }
    if (n == 0) return;
    switch (t->state) {
    case HANDSHAKE:
        handshake_step(t);
        break;
    case CONFIRM:
        confirm_step(t);
        break;
    case OPEN:
        drain(t);
        break;
    case FAILED:
        break;
    }
}

static void timer_fired(uv_timer_t *timer)
{
    struct lp_tls *t = (struct lp_tls *)(void *)((char *)timer - offsetof(struct lp_tls, timer));
    if (t->state == CONFIRM) {
        finish(t, 0); /* no word from the server: it accepted us */
    } else if (t->state == HANDSHAKE) {
        snprintf(t->why, sizeof t->why, "no TLS handshake from the %s within %.1f s",
                 t->server ? "client" : "server", t->timeout_ms / 1000.0);
        finish(t, UV_ETIMEDOUT);
    }
}

int lp_tls_handshake(struct lp_tls *t, unsigned timeout_ms, unsigned confirm_ms, lp_tls_cb cb,
                     void *data)
{
    t->cb = cb;
    t->data = data;
    t->state = HANDSHAKE;
    t->timeout_ms = timeout_ms;
    t->confirm_ms = confirm_ms;
    /* One timer: the handshake's deadline, then the wait for the server's
     * verdict on our certificate. */
    raw_update(t);
    if (!t->raw_reading) return UV_EBADF;
    uv_timer_start(&t->timer, timer_fired, timeout_ms, 0);
    if (!t->server) handshake_step(t); /* the ClientHello */
    return 0;
}

/* ---- the pump's operations ---- */

static int tls_read_start(void *io, uv_alloc_cb alloc_cb, uv_read_cb read_cb)
{
    struct lp_tls *t = io;
    if (t->state != OPEN) return UV_EINVAL;
    t->alloc_cb = alloc_cb;
    t->read_cb = read_cb;
    t->reading = 1;
    drain(t); /* what arrived with the handshake, or before a pause */
    return 0;
}

static int tls_read_stop(void *io)
{
    struct lp_tls *t = io;
    t->reading = 0;
    raw_update(t);
    return 0;
}

static int tls_write(void *io, uv_write_t *req, const uv_buf_t *buf, uv_write_cb cb)
{
    struct lp_tls *t = io;
    if (t->state != OPEN || SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN) return UV_EPIPE;
    if (!buf->len) return flush(t, req, cb);
    ERR_clear_error();
    if (SSL_write(t->ssl, buf->base, (int)buf->len) <= 0) {
        unsigned long err = ERR_peek_last_error();
        snprintf(t->why, sizeof t->why, "TLS error on the connection: %s",
                 err ? ERR_reason_error_string(err) : "write failed");
        return UV_EPROTO;
    }
    return flush(t, req, cb);
}

static int tls_shutdown(void *io, uv_shutdown_t *req, uv_shutdown_cb cb)
{
    struct lp_tls *t = io;
    if (t->state == OPEN) {
        /* close_notify, then the TCP half-close: the peer may still send. */
        ERR_clear_error();
        SSL_shutdown(t->ssl);
        flush(t, NULL, NULL);
    }
    return uv_shutdown(req, &t->sock.s, cb);
}

const struct lp_stream_ops lp_tls_ops = {tls_read_start, tls_read_stop, tls_write, tls_shutdown};

/* ---- closing ---- */

static void closed(uv_handle_t *h)
{
    struct lp_tls *t = h->data;
    if (--t->closing > 0) return;
    void (*done)(void *) = t->done;
    void *arg = t->done_arg;
    SSL_free(t->ssl);
    free(t);
    if (done) done(arg);
}

void lp_tls_close(struct lp_tls *t, void (*done)(void *arg), void *arg)
{
    if (t->closing) return;
    t->done = done;
    t->done_arg = arg;
    t->reading = 0;
    t->closing = 2;
    t->sock.h.data = t;
    t->timer.data = t;
    uv_close(&t->sock.h, closed);
    uv_close((uv_handle_t *)&t->timer, closed);
}
