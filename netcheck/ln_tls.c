/*
 * tls layer: an OpenSSL handshake with verification on. The verify callback
 * records every error and lets the handshake go on, so the report lists all
 * of them (an expired certificate from an unknown CA is both), then the
 * verdict picks the one to fix first (ln_classify_verify).
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "netcheck/ln_classify.h"
#include "netcheck/ln_layers.h"
#include "netcheck/ln_pem.h"

#define MAX_VERIFY_ERRS 16

struct verify_log {
    int cert_requested; /* the server sent a CertificateRequest */
    int n;
    int errs[MAX_VERIFY_ERRS];
    int depth[MAX_VERIFY_ERRS];
    char subject[MAX_VERIFY_ERRS][160];
    char when[MAX_VERIFY_ERRS][40]; /* notAfter for expiry, notBefore for not-yet-valid */
};

static void asn1_time_str(const ASN1_TIME *t, char *buf, size_t len)
{
    BIO *b = BIO_new(BIO_s_mem());
    buf[0] = '\0';
    if (!b) return;
    if (ASN1_TIME_print(b, t)) {
        int n = BIO_read(b, buf, (int)len - 1);
        buf[n > 0 ? n : 0] = '\0';
    }
    BIO_free(b);
}

static void name_str(X509_NAME *nm, char *buf, size_t len)
{
    BIO *b = BIO_new(BIO_s_mem());
    buf[0] = '\0';
    if (!b) return;
    X509_NAME_print_ex(b, nm, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
    int n = BIO_read(b, buf, (int)len - 1);
    buf[n > 0 ? n : 0] = '\0';
    BIO_free(b);
}

static int verify_cb(int ok, X509_STORE_CTX *xs)
{
    if (ok) return 1;
    SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct verify_log *log = SSL_get_app_data(ssl);
    int e = X509_STORE_CTX_get_error(xs);
    if (log && log->n < MAX_VERIFY_ERRS) {
        int i = log->n++;
        X509 *cert = X509_STORE_CTX_get_current_cert(xs);
        log->errs[i] = e;
        log->depth[i] = X509_STORE_CTX_get_error_depth(xs);
        log->subject[i][0] = log->when[i][0] = '\0';
        if (cert) {
            name_str(X509_get_subject_name(cert), log->subject[i], sizeof(log->subject[i]));
            if (e == X509_V_ERR_CERT_NOT_YET_VALID)
                asn1_time_str(X509_get0_notBefore(cert), log->when[i], sizeof(log->when[i]));
            else
                asn1_time_str(X509_get0_notAfter(cert), log->when[i], sizeof(log->when[i]));
        }
    }
    return 1; /* go on: collect every error, judge after the handshake */
}

/* Called when the server asks for a client certificate (and on none else). */
static int cert_cb(SSL *ssl, void *arg)
{
    (void)arg;
    struct verify_log *log = SSL_get_app_data(ssl);
    if (log) log->cert_requested = 1;
    return 1;
}

/* The server's answer to our certificate, as an alert reason, or 0.
 * TLS 1.2 servers judge it inside the handshake; a TLS 1.3 server judges
 * it after the client has finished, and says so in its first record: an
 * alert, or (when it accepts) session tickets. Peek at that record without
 * taking application data; wait at most wait_ms for it. */
static int post_handshake_alert(SSL *ssl, int fd, int wait_ms)
{
    if (SSL_version(ssl) != TLS1_3_VERSION) return 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, wait_ms) != 1) return 0; /* no word: it accepted us */
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    char c;
    ERR_clear_error();
    int r = SSL_peek(ssl, &c, 1);
    int e = r > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl, r);
    unsigned long err = ERR_peek_last_error();
    fcntl(fd, F_SETFL, fl);
    /* Data, a session ticket (want-read), or a clean close: accepted. */
    if (e != SSL_ERROR_SSL) return 0;
    return err ? ERR_GET_REASON(err) : 0;
}

static int is_cert_alert(int reason)
{
    switch (reason) {
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
    case SSL_R_TLSV1_ALERT_DECRYPT_ERROR:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
        return 1;
    }
    return 0;
}

/* A client certificate problem, judged by the server: its class, or OK. */
static enum ln_tls_class client_cert_class(const struct ln_target *t, const struct verify_log *log,
                                           int reason)
{
    if (reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED) return LN_TLS_CLIENT_CERT_REQUIRED;
    if (!log->cert_requested) return LN_TLS_OK;
    if (!t->cert && (reason == SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE || is_cert_alert(reason)))
        return LN_TLS_CLIENT_CERT_REQUIRED;
    if (t->cert && is_cert_alert(reason)) return LN_TLS_CLIENT_CERT_REJECTED;
    return LN_TLS_OK;
}

static void client_cert_failed(struct ln_ctx *c, struct ln_layer_result *res, enum ln_tls_class cls,
                               int reason)
{
    char addr[80];
    ln_addrport_str((struct sockaddr *)&c->peer, addr, sizeof(addr));
    c->tls_failed = 1;
    json_object_set_new(res->evidence, "class", json_string(ln_tls_class_name(cls)));
    const char *alert = ERR_reason_error_string(ERR_PACK(ERR_LIB_SSL, 0, reason));
    if (!alert) alert = "no alert";
    json_object_set_new(res->evidence, "alert", json_string(alert));
    if (cls == LN_TLS_CLIENT_CERT_REQUIRED)
        ln_set(res, LN_FAIL, "%s requires a client certificate and none was given (%s)", addr,
               alert);
    else
        ln_set(res, LN_FAIL, "%s refused the client certificate (%s)", addr, alert);
    snprintf(res->hint, sizeof(res->hint), "%s", ln_tls_hint(cls));
}

/* "DNS:a, DNS:b, IP:1.2.3.4" of the leaf, or its CN. */
static void cert_names(X509 *cert, char *buf, size_t len)
{
    buf[0] = '\0';
    GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        size_t l = strlen(buf);
        if (g->type == GEN_DNS) {
            snprintf(buf + l, len - l, "%sDNS:%s", l ? ", " : "",
                     (const char *)ASN1_STRING_get0_data(g->d.dNSName));
        } else if (g->type == GEN_IPADD) {
            const unsigned char *p = ASN1_STRING_get0_data(g->d.iPAddress);
            if (ASN1_STRING_length(g->d.iPAddress) == 4)
                snprintf(buf + l, len - l, "%sIP:%u.%u.%u.%u", l ? ", " : "", p[0], p[1], p[2],
                         p[3]);
            else
                snprintf(buf + l, len - l, "%sIP:(v6)", l ? ", " : "");
        }
    }
    GENERAL_NAMES_free(gens);
    if (!buf[0]) {
        char cn[128] = "";
        X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
        snprintf(buf, len, "CN=%s", cn[0] ? cn : "(none)");
    }
}

static json_t *chain_json(SSL *ssl)
{
    json_t *arr = json_array();
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
    for (int i = 0; chain && i < sk_X509_num(chain); i++) {
        X509 *x = sk_X509_value(chain, i);
        char s[256], is[256], nb[40], na[40];
        name_str(X509_get_subject_name(x), s, sizeof(s));
        name_str(X509_get_issuer_name(x), is, sizeof(is));
        asn1_time_str(X509_get0_notBefore(x), nb, sizeof(nb));
        asn1_time_str(X509_get0_notAfter(x), na, sizeof(na));
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s}", "subject", s, "issuer", is,
                                             "not_before", nb, "not_after", na));
    }
    return arr;
}

static void handshake_failed(const struct ln_target *t, struct ln_ctx *c,
                             struct ln_layer_result *res, int sslerr, int sys_errno,
                             unsigned long e)
{
    char addr[80], reason[160] = "";
    ln_addrport_str((struct sockaddr *)&c->peer, addr, sizeof(addr));
    if (e) ERR_error_string_n(e, reason, sizeof(reason));
    json_object_set_new(res->evidence, "openssl_error", json_string(reason[0] ? reason : "none"));
    int lib_reason = e ? ERR_GET_REASON(e) : 0;
    enum ln_tls_class cls = LN_TLS_HANDSHAKE;
    const char *why;
    if (lib_reason == SSL_R_WRONG_VERSION_NUMBER || lib_reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
        lib_reason == SSL_R_HTTP_REQUEST) {
        cls = LN_TLS_NOT_TLS;
        why = "answered the ClientHello with something that is not TLS";
    } else if (sslerr == SSL_ERROR_SYSCALL && (sys_errno == EAGAIN || sys_errno == EWOULDBLOCK)) {
        cls = LN_TLS_NOT_TLS;
        why = "did not answer the ClientHello in time";
    } else if ((sslerr == SSL_ERROR_SYSCALL && sys_errno == 0) ||
               lib_reason == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        cls = LN_TLS_NOT_TLS;
        why = "closed the connection on the ClientHello";
    } else {
        why = "failed the TLS handshake";
    }
    json_object_set_new(res->evidence, "class", json_string(ln_tls_class_name(cls)));
    if (cls == LN_TLS_NOT_TLS)
        ln_set(res, LN_FAIL, "%s does not speak TLS: it %s", addr, why);
    else
        ln_set(res, LN_FAIL, "%s %s: %s", addr, why, reason);
    snprintf(res->hint, sizeof(res->hint), "%s", ln_tls_hint(cls));
    (void)t;
}

int ln_layer_tls(const struct ln_target *t, struct ln_ctx *c, struct ln_layer_result *res)
{
    json_t *ev = res->evidence;
    if (!t->tls) {
        ln_set(res, LN_SKIPPED, "not requested (--tls not given)");
        return 0;
    }
    if (c->fd < 0) {
        ln_set(res, LN_SKIPPED, "no connection to secure (transport did not connect)");
        return 0;
    }
    ERR_clear_error();
    c->sslctx = SSL_CTX_new(TLS_client_method());
    if (!c->sslctx) return -ENOMEM;
    SSL_CTX_set_verify(c->sslctx, SSL_VERIFY_PEER, verify_cb);
    SSL_CTX_set_cert_cb(c->sslctx, cert_cb, NULL);
    char why[LN_TEXT_MAX];
    if (t->cert) {
        json_object_set_new(ev, "client_cert", json_string(t->cert));
        const char *what = NULL, *file = NULL;
        if (SSL_CTX_use_certificate_chain_file(c->sslctx, t->cert) != 1) {
            what = "client certificate";
            file = t->cert;
        } else if (SSL_CTX_use_PrivateKey_file(c->sslctx, t->key, SSL_FILETYPE_PEM) != 1) {
            what = "key";
            file = t->key;
        }
        if (file) {
            c->tls_failed = 1;
            ln_pem_why(file, why, sizeof why);
            ln_set(res, LN_FAIL, "cannot load the %s %s", what, why);
            ln_hint(res, "--cert and --key must name a readable PEM certificate and its key");
            return 0;
        }
        if (SSL_CTX_check_private_key(c->sslctx) != 1) {
            c->tls_failed = 1;
            ln_set(res, LN_FAIL, "the key %s does not belong to the client certificate %s", t->key,
                   t->cert);
            ln_hint(res, "--cert and --key must name a readable PEM certificate and its key");
            return 0;
        }
    }
    if (t->ca) {
        json_object_set_new(ev, "ca_file", json_string(t->ca));
        if (SSL_CTX_load_verify_locations(c->sslctx, t->ca, NULL) != 1) {
            c->tls_failed = 1;
            ln_pem_why(t->ca, why, sizeof why);
            ln_set(res, LN_FAIL, "cannot load the CA file %s", why);
            ln_hint(res, "--ca must name a readable PEM file with the CA certificate(s)");
            return 0;
        }
    } else {
        SSL_CTX_set_default_verify_paths(c->sslctx);
    }
    c->ssl = SSL_new(c->sslctx);
    if (!c->ssl) return -ENOMEM;
    /* Per call, so that threads may each run netcheck; used only during
     * SSL_connect, freed before returning. */
    struct verify_log *log = calloc(1, sizeof(*log));
    if (!log) return -ENOMEM;
    SSL_set_app_data(c->ssl, log);
    const char *name = t->sni ? t->sni : (c->literal ? NULL : t->host);
    X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
    if (name) {
        SSL_set_tlsext_host_name(c->ssl, name);
        X509_VERIFY_PARAM_set1_host(vp, name, 0);
    } else {
        X509_VERIFY_PARAM_set1_ip_asc(vp, t->host);
    }
    const char *checked = name ? name : t->host;
    json_object_set_new(ev, "name_checked", json_string(checked));
    if (name) json_object_set_new(ev, "sni", json_string(name));

    /* Blocking, with the timeout on each read and write. */
    int fl = 0;
    struct timeval tv = {.tv_sec = t->timeout_ms / 1000, .tv_usec = (t->timeout_ms % 1000) * 1000};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    fl = fcntl(c->fd, F_GETFL);
    fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK);
    SSL_set_fd(c->ssl, c->fd);
    errno = 0;
    int rc = SSL_connect(c->ssl);
    if (rc != 1) {
        int se = SSL_get_error(c->ssl, rc), sys = errno;
        unsigned long e = ERR_peek_last_error();
        enum ln_tls_class cc = client_cert_class(t, log, e ? ERR_GET_REASON(e) : 0);
        if (cc != LN_TLS_OK)
            client_cert_failed(c, res, cc, ERR_GET_REASON(e));
        else
            handshake_failed(t, c, res, se, sys, e);
        c->tls_failed = 1;
        SSL_set_app_data(c->ssl, NULL);
        free(log);
        return 0;
    }
    json_object_set_new(ev, "protocol", json_string(SSL_get_version(c->ssl)));
    json_object_set_new(ev, "cipher", json_string(SSL_get_cipher_name(c->ssl)));
    json_object_set_new(ev, "chain", chain_json(c->ssl));
    X509 *leaf = SSL_get1_peer_certificate(c->ssl);
    char names[200] = "", subj[160] = "";
    if (leaf) {
        cert_names(leaf, names, sizeof(names));
        name_str(X509_get_subject_name(leaf), subj, sizeof(subj));
        json_object_set_new(ev, "certificate_names", json_string(names));
    }
    json_t *errs = json_array();
    for (int i = 0; i < log->n; i++)
        json_array_append_new(errs, json_pack("{s:i,s:s,s:i,s:s}", "code", log->errs[i], "error",
                                              X509_verify_cert_error_string(log->errs[i]), "depth",
                                              log->depth[i], "subject", log->subject[i]));
    json_object_set_new(ev, "verify_errors", errs);
    enum ln_tls_class cls = ln_classify_verify(log->errs, (size_t)log->n);
    json_object_set_new(ev, "class", json_string(ln_tls_class_name(cls)));
    int at = 0; /* the error that decided the class */
    for (int i = 0; i < log->n; i++) {
        int one = log->errs[i];
        if (ln_classify_verify(&one, 1) == cls) {
            at = i;
            break;
        }
    }
    const char *proto = SSL_get_version(c->ssl), *cipher = SSL_get_cipher_name(c->ssl);
    if (cls == LN_TLS_OK && log->cert_requested) {
        int wait = t->timeout_ms < 1000 ? t->timeout_ms : 1000;
        int reason = post_handshake_alert(c->ssl, c->fd, wait);
        enum ln_tls_class cc = client_cert_class(t, log, reason);
        json_object_set_new(ev, "client_cert_requested", json_true());
        if (cc != LN_TLS_OK) {
            client_cert_failed(c, res, cc, reason);
            X509_free(leaf);
            SSL_set_app_data(c->ssl, NULL);
            free(log);
            return 0;
        }
    }
    switch (cls) {
    case LN_TLS_OK:
        ln_set(res, LN_OK, "%s %s; certificate %s verified for %s", proto, cipher, subj, checked);
        break;
    case LN_TLS_SELF_SIGNED:
        ln_set(res, LN_FAIL, "self-signed certificate (%s) is not trusted", log->subject[at]);
        break;
    case LN_TLS_UNKNOWN_CA:
        ln_set(res, LN_FAIL, "certificate %s is issued by an unknown CA (%s)", subj,
               X509_verify_cert_error_string(log->errs[at]));
        break;
    case LN_TLS_EXPIRED:
        ln_set(res, LN_FAIL, "certificate %s expired on %s", log->subject[at], log->when[at]);
        break;
    case LN_TLS_NOT_YET_VALID:
        ln_set(res, LN_FAIL, "certificate %s is not valid until %s", log->subject[at],
               log->when[at]);
        break;
    case LN_TLS_NAME_MISMATCH:
        ln_set(res, LN_FAIL, "certificate is for %s, not %s (name mismatch)", names, checked);
        break;
    default:
        ln_set(res, LN_FAIL, "certificate verification failed: %s",
               X509_verify_cert_error_string(log->errs[at]));
        break;
    }
    if (cls != LN_TLS_OK) {
        c->tls_failed = 1;
        if (log->n > 1) {
            size_t l = strlen(res->summary);
            snprintf(res->summary + l, sizeof(res->summary) - l, " (+%d more verify error%s)",
                     log->n - 1, log->n > 2 ? "s" : "");
        }
        snprintf(res->hint, sizeof(res->hint), "%s", ln_tls_hint(cls));
    }
    X509_free(leaf);
    SSL_set_app_data(c->ssl, NULL);
    free(log);
    return 0;
}
