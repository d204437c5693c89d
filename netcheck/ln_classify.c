/*
 * Failure classes and their words. See ln_classify.h.
 */
#include "netcheck/ln_classify.h"

#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <openssl/x509_vfy.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "framing/lf.h"

/* ---- transport ---- */

/* Destination unreachable, code by code (RFC 792 and 1812; RFC 4443): the
 * words, and whether a filter sent it. Indexed by the kernel's constants
 * so that a row cannot drift from its code. */
struct unreach {
    const char *text;
    int prohibited;
};

static const struct unreach UNREACH4[] = {
    [ICMP_NET_UNREACH] = {"network unreachable", 0},
    [ICMP_HOST_UNREACH] = {"host unreachable", 0},
    [ICMP_PROT_UNREACH] = {"protocol unreachable", 0},
    [ICMP_PORT_UNREACH] = {"port unreachable", 0},
    [ICMP_FRAG_NEEDED] = {"fragmentation needed", 0},
    [ICMP_SR_FAILED] = {"source route failed", 0},
    [ICMP_NET_UNKNOWN] = {"destination network unknown", 0},
    [ICMP_HOST_UNKNOWN] = {"destination host unknown", 0},
    [ICMP_HOST_ISOLATED] = {"source host isolated", 0},
    [ICMP_NET_ANO] = {"network administratively prohibited", 1},
    [ICMP_HOST_ANO] = {"host administratively prohibited", 1},
    [ICMP_NET_UNR_TOS] = {"network unreachable for TOS", 0},
    [ICMP_HOST_UNR_TOS] = {"host unreachable for TOS", 0},
    [ICMP_PKT_FILTERED] = {"communication administratively prohibited", 1},
    [ICMP_PREC_VIOLATION] = {"host precedence violation", 0},
    [ICMP_PREC_CUTOFF] = {"precedence cutoff in effect", 0},
};

/* Codes 5 and 6 (RFC 4443) have no constant in <netinet/icmp6.h>. */
static const struct unreach UNREACH6[] = {
    [ICMP6_DST_UNREACH_NOROUTE] = {"no route to destination", 0},
    [ICMP6_DST_UNREACH_ADMIN] = {"communication administratively prohibited", 1},
    [ICMP6_DST_UNREACH_BEYONDSCOPE] = {"beyond scope of source address", 0},
    [ICMP6_DST_UNREACH_ADDR] = {"address unreachable", 0},
    [ICMP6_DST_UNREACH_NOPORT] = {"port unreachable", 0},
    [5] = {"source address failed ingress/egress policy", 1},
    [6] = {"reject route to destination", 1},
};

/* The row of a destination-unreachable message; NULL for another type or
 * a code without one. */
static const struct unreach *unreach(int family, int type, int code)
{
    const struct unreach *t = family == AF_INET6 ? UNREACH6 : UNREACH4;
    size_t n = family == AF_INET6 ? sizeof UNREACH6 / sizeof *t : sizeof UNREACH4 / sizeof *t;
    if (type != (family == AF_INET6 ? ICMP6_DST_UNREACH : ICMP_DEST_UNREACH)) return NULL;
    return code >= 0 && (size_t)code < n ? &t[code] : NULL;
}

int ln_icmp_prohibited(int family, int type, int code)
{
    const struct unreach *u = unreach(family, type, code);
    return u && u->prohibited;
}

const char *ln_icmp_text(int family, int type, int code)
{
    const struct unreach *u = unreach(family, type, code);
    if (u) return u->text;
    if (family == AF_INET6) {
        if (type == ICMP6_DST_UNREACH) return "destination unreachable";
        if (type == ICMP6_PACKET_TOO_BIG) return "packet too big";
        if (type == ICMP6_TIME_EXCEEDED)
            return code == ICMP6_TIME_EXCEED_TRANSIT ? "hop limit exceeded in transit"
                                                     : "time exceeded";
        if (type == ICMP6_PARAM_PROB) return "parameter problem";
        return "ICMPv6 error";
    }
    if (type == ICMP_DEST_UNREACH) return "destination unreachable";
    if (type == ICMP_TIME_EXCEEDED)
        return code == ICMP_EXC_TTL ? "TTL exceeded in transit"
                                    : "fragment reassembly time exceeded";
    if (type == ICMP_PARAMETERPROB) return "parameter problem";
    if (type == ICMP_SOURCE_QUENCH) return "source quench";
    return "ICMP error";
}

enum ln_conn_class ln_classify_connect(int err, const struct ln_icmp *icmp)
{
    if (err == 0) return LN_CONN_OK;
    if (icmp && icmp->present) {
        if (ln_icmp_prohibited(icmp->family, icmp->type, icmp->code)) return LN_CONN_PROHIBITED;
        return LN_CONN_UNREACHABLE;
    }
    switch (err) {
    case ECONNREFUSED:
        return LN_CONN_REFUSED;
    case ETIMEDOUT:
        return LN_CONN_FILTERED;
    case ENETUNREACH:
        return LN_CONN_NOROUTE;
    case EHOSTUNREACH:
    case EHOSTDOWN:
        return LN_CONN_UNREACHABLE;
    case EPERM:
    case EACCES:
        return LN_CONN_POLICY;
    case EADDRNOTAVAIL:
        return LN_CONN_NOSRC;
    default:
        return LN_CONN_OTHER;
    }
}

LN_DEFINE_NAME_FN(ln_conn_class_name, enum ln_conn_class, LN_CONN_CLASSES)

static const char *server_words(enum ln_probe p)
{
    if (p == LN_PROBE_DAP) return "the dlv DAP server is not running or listens on another port";
    if (p == LN_PROBE_LSP)
        return "the language server (gopls -listen=...) is not running or listens on another "
               "port";
    return "the server is not running or listens on another port";
}

void ln_explain_connect(enum ln_conn_class c, int err, const struct ln_icmp *icmp, const char *addr,
                        enum ln_probe probe, int syns, int timeout_ms, char *s, size_t sl, char *h,
                        size_t hl)
{
    const char *from = icmp && icmp->present && icmp->from[0] ? icmp->from : "an unknown router";
    const char *what =
        icmp && icmp->present ? ln_icmp_text(icmp->family, icmp->type, icmp->code) : "";
    int it = icmp ? icmp->type : 0, ic = icmp ? icmp->code : 0;
    switch (c) {
    case LN_CONN_OK:
        snprintf(s, sl, "connected to %s", addr);
        h[0] = '\0';
        break;
    case LN_CONN_REFUSED:
        snprintf(s, sl, "connection refused by %s (RST): nothing listens on that port", addr);
        snprintf(h, hl, "nothing listens on %s — %s", addr, server_words(probe));
        break;
    case LN_CONN_FILTERED:
        if (syns > 0)
            snprintf(s, sl, "no answer from %s: %d SYN%s went out unanswered in %.1f s", addr, syns,
                     syns == 1 ? "" : "s", timeout_ms / 1000.0);
        else
            snprintf(s, sl, "no answer from %s within %.1f s: SYNs unanswered", addr,
                     timeout_ms / 1000.0);
        snprintf(h, hl,
                 "a firewall between here and %s silently drops the connection (or the host is "
                 "down): check nftables/iptables rules and security groups for this port",
                 addr);
        break;
    case LN_CONN_UNREACHABLE:
        if (icmp && icmp->present) {
            snprintf(s, sl, "%s unreachable: ICMP%s %s (type %d code %d) from %s", addr,
                     icmp->family == AF_INET6 ? "v6" : "", what, it, ic, from);
            snprintf(h, hl,
                     "router %s cannot deliver to %s (%s): check the routes and the "
                     "host beyond it",
                     from, addr, what);
        } else {
            snprintf(s, sl, "%s unreachable: %s (no answer to ARP/neighbour discovery)", addr,
                     strerror(err));
            snprintf(h, hl,
                     "the host %s is down or not on the link: check that it is up and "
                     "its address",
                     addr);
        }
        break;
    case LN_CONN_PROHIBITED:
        snprintf(s, sl, "connection to %s rejected: ICMP%s %s (type %d code %d) from %s%s", addr,
                 icmp && icmp->family == AF_INET6 ? "v6" : "", what, it, ic, from,
                 icmp && icmp->local ? " (this host)" : "");
        if (icmp && icmp->local) {
            snprintf(h, hl,
                     "this host's own firewall (nftables/iptables output chain) rejects "
                     "connections to %s: see nft list ruleset",
                     addr);
            break;
        }
        snprintf(h, hl,
                 "a firewall on %s rejects connections to %s: ask whoever runs it to "
                 "allow this port",
                 from, addr);
        break;
    case LN_CONN_NOROUTE:
        snprintf(s, sl, "no route to %s (%s)", addr, strerror(err));
        snprintf(h, hl, "this host has no route to %s: bring its interface up or add a route",
                 addr);
        break;
    case LN_CONN_POLICY:
        snprintf(s, sl, "connect to %s forbidden on this host (%s)", addr,
                 err == EPERM ? "EPERM" : "EACCES");
        snprintf(h, hl,
                 "a local firewall rule (nftables/iptables output chain) or a security "
                 "module blocks outgoing connections to %s",
                 addr);
        break;
    case LN_CONN_LOCALDROP:
        snprintf(s, sl,
                 "connect to %s dropped on this host: %d SYN%s sent, none reached the interface",
                 addr, syns, syns == 1 ? "" : "s");
        snprintf(h, hl,
                 "a local firewall rule (nftables/iptables output chain) drops outgoing "
                 "connections to %s: see nft list ruleset",
                 addr);
        break;
    case LN_CONN_NONEIGH:
        snprintf(s, sl,
                 "%s unreachable: ARP / neighbour solicitations for the next hop went "
                 "unanswered, so no SYN could be sent",
                 addr);
        snprintf(h, hl,
                 "the next hop (the host itself on this link, or the gateway) does not "
                 "answer ARP: it is down, or not on this link, or has no address there");
        break;
    case LN_CONN_NOSRC:
        snprintf(s, sl, "no usable source address to reach %s (EADDRNOTAVAIL)", addr);
        snprintf(h, hl,
                 "the output interface has no address of this family, or local ports "
                 "are exhausted");
        break;
    default:
        snprintf(s, sl, "connect to %s failed: %s", addr, strerror(err));
        snprintf(h, hl, "the connection failed with an unexpected error (%s)", strerror(err));
        break;
    }
}

/* ---- dns ---- */

enum ln_dns_class ln_classify_gai(int eai)
{
    switch (eai) {
    case 0:
        return LN_DNS_OK;
    case EAI_NONAME:
        return LN_DNS_NXDOMAIN;
#ifdef EAI_NODATA
    case EAI_NODATA:
        return LN_DNS_NODATA;
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
        return LN_DNS_NODATA;
#endif
    case EAI_AGAIN:
        return LN_DNS_TEMPFAIL;
    case EAI_FAIL:
        return LN_DNS_FAIL;
    default:
        return LN_DNS_OTHER;
    }
}

LN_DEFINE_NAME_FN(ln_dns_class_name, enum ln_dns_class, LN_DNS_CLASSES)

/* ---- tls ---- */

static enum ln_tls_class verify_one(int e)
{
    switch (e) {
    case X509_V_OK:
        return LN_TLS_OK;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        return LN_TLS_SELF_SIGNED;
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: /* a root sent along, not trusted here */
        return LN_TLS_UNKNOWN_CA;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
        return LN_TLS_UNKNOWN_CA;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CRL_HAS_EXPIRED:
        return LN_TLS_EXPIRED;
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_CRL_NOT_YET_VALID:
        return LN_TLS_NOT_YET_VALID;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
    case X509_V_ERR_EMAIL_MISMATCH:
        return LN_TLS_NAME_MISMATCH;
    default:
        return LN_TLS_OTHER;
    }
}

enum ln_tls_class ln_classify_verify(const int *errs, size_t n)
{
    static const enum ln_tls_class order[] = {LN_TLS_SELF_SIGNED,   LN_TLS_UNKNOWN_CA,
                                              LN_TLS_EXPIRED,       LN_TLS_NOT_YET_VALID,
                                              LN_TLS_NAME_MISMATCH, LN_TLS_OTHER};
    for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++)
        for (size_t i = 0; i < n; i++)
            if (verify_one(errs[i]) == order[k]) return order[k];
    return LN_TLS_OK;
}

LN_DEFINE_NAME_FN(ln_tls_class_name, enum ln_tls_class, LN_TLS_CLASSES)

const char *ln_tls_hint(enum ln_tls_class c)
{
    switch (c) {
    case LN_TLS_OK:
        return "";
    case LN_TLS_NOT_TLS:
        return "the port does not speak TLS: drop --tls (and tls:// from the address), or use "
               "the server's TLS port";
    case LN_TLS_UNKNOWN_CA:
        return "the certificate's issuer is not trusted here: pass its CA with --ca FILE "
               "(LSPTAP_TLS_CA) or add it to the system store";
    case LN_TLS_SELF_SIGNED:
        return "the server presents a self-signed certificate: trust it explicitly with --ca "
               "CERT, or give the server a certificate from a CA you trust";
    case LN_TLS_EXPIRED:
        return "the server's certificate has expired: renew it (and check both machines' "
               "clocks)";
    case LN_TLS_NOT_YET_VALID:
        return "the certificate is not valid yet: a clock is wrong on this machine or the "
               "server, or the certificate was issued for a future date";
    case LN_TLS_NAME_MISMATCH:
        return "the certificate does not name the host you dialled: connect by a name it "
               "carries, pass --sni NAME, or reissue it with this name in subjectAltName";
    case LN_TLS_CLIENT_CERT_REQUIRED:
        return "the server accepts only clients with a certificate: give --cert FILE --key FILE "
               "(LSPTAP_TLS_CERT, LSPTAP_TLS_KEY), signed by a CA the server trusts";
    case LN_TLS_CLIENT_CERT_REJECTED:
        return "the server refused this client certificate: it must be signed by a CA in the "
               "server's --client-ca and be valid today";
    case LN_TLS_HANDSHAKE:
        return "the TLS handshake failed: compare the protocol versions and ciphers both sides "
               "allow, and whether the server requires a client certificate";
    default:
        return "the certificate failed verification: see the errors listed";
    }
}

/* ---- application ---- */

/* "..." at out[o] and the NUL, cut to fit in outlen (o < outlen). */
static void end_with_dots(char *out, size_t o, size_t outlen)
{
    for (int k = 0; k < 3 && o + 1 < outlen; k++)
        out[o++] = '.';
    out[o] = '\0';
}

void ln_escape(const char *s, size_t n, size_t max, char *out, size_t outlen)
{
    size_t o = 0;
    if (!outlen) return;
    for (size_t i = 0; i < n && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        char tmp[8];
        if (c == '\r')
            strcpy(tmp, "\\r");
        else if (c == '\n')
            strcpy(tmp, "\\n");
        else if (c == '\t')
            strcpy(tmp, "\\t");
        else if (c == '\\')
            strcpy(tmp, "\\\\");
        else if (c < 0x20 || c >= 0x7f)
            snprintf(tmp, sizeof(tmp), "\\x%02x", c);
        else {
            tmp[0] = (char)c;
            tmp[1] = '\0';
        }
        size_t tl = strlen(tmp);
        if (o + tl + 4 >= outlen) {
            end_with_dots(out, o, outlen);
            return;
        }
        memcpy(out + o, tmp, tl);
        o += tl;
    }
    if (n > max && o + 4 < outlen) {
        strcpy(out + o, "...");
        return;
    }
    out[o] = '\0';
}

/* A string the server sent, for a terminal: escaped (ln_escape), NUL and
 * all, since a server can put any byte in its name. */
static void copy_str(char *dst, size_t cap, json_t *v)
{
    const char *s = json_string_value(v);
    if (s) ln_escape(s, json_string_length(v), cap, dst, cap);
}

/* gopls puts its build info, as JSON, in serverInfo.version: show the
 * module version, or the Go version when it was built without one. */
static void version_str(char *dst, size_t cap, json_t *v)
{
    const char *s = json_string_value(v);
    if (!s) return;
    char raw[512];
    json_t *bi = s[0] == '{' ? json_loads(s, 0, NULL) : NULL;
    const char *mv = json_string_value(json_object_get(json_object_get(bi, "Main"), "Version"));
    const char *gv = json_string_value(json_object_get(bi, "GoVersion"));
    if (!bi)
        snprintf(raw, sizeof raw, "%s", s);
    else if (mv && mv[0])
        snprintf(raw, sizeof raw, "%s", mv);
    else
        snprintf(raw, sizeof raw, "(devel, %s)", gv ? gv : "unknown Go");
    json_decref(bi);
    ln_escape(raw, strlen(raw), cap, dst, cap); /* the server's words */
}

/* What one complete frame body says: 1 the reply to initialize, 2 a message
 * of the other protocol, 0 a message of this protocol but not the reply,
 * -1 not JSON-RPC or DAP at all. */
static int judge_body(enum ln_probe probe, const char *body, size_t len, struct ln_app_info *info)
{
    json_t *j = json_loadb(body, len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return -1;
    }
    int lsp = json_object_get(j, "jsonrpc") != NULL;
    int dap = json_is_string(json_object_get(j, "type")) && json_object_get(j, "seq");
    int rc = -1;
    if (probe == LN_PROBE_LSP) {
        if (lsp) {
            json_t *id = json_object_get(j, "id");
            int is_reply = json_integer_value(id) == 1 && !json_object_get(j, "method");
            rc = is_reply ? 1 : 0;
            if (is_reply) {
                json_t *res = json_object_get(j, "result");
                json_t *si = json_object_get(res, "serverInfo");
                copy_str(info->name, sizeof(info->name), json_object_get(si, "name"));
                version_str(info->version, sizeof(info->version), json_object_get(si, "version"));
                info->capabilities = (int)json_object_size(json_object_get(res, "capabilities"));
                json_t *err = json_object_get(j, "error");
                if (err) {
                    info->error = 1;
                    copy_str(info->error_msg, sizeof(info->error_msg),
                             json_object_get(err, "message"));
                }
            }
        } else if (dap) {
            rc = 2;
        }
    } else {
        if (dap) {
            const char *type = json_string_value(json_object_get(j, "type"));
            const char *cmd = json_string_value(json_object_get(j, "command"));
            int is_reply = type && !strcmp(type, "response") && cmd && !strcmp(cmd, "initialize");
            rc = is_reply ? 1 : 0;
            if (is_reply) {
                info->capabilities = (int)json_object_size(json_object_get(j, "body"));
                if (json_is_false(json_object_get(j, "success"))) {
                    info->error = 1;
                    copy_str(info->error_msg, sizeof(info->error_msg),
                             json_object_get(j, "message"));
                }
            }
        } else if (lsp) {
            rc = 2;
        }
    }
    json_decref(j);
    return rc;
}

/* The frames of a probe's reply, judged in order until one decides. */
struct reply_scan {
    enum ln_probe probe;
    const char *buf;
    struct ln_app_info *info;
    size_t body_off, body_len; /* the current frame's body in buf */
    size_t done;               /* where the last whole frame ends */
    int saw_frame, other;
    int verdict; /* 0 undecided, 1 speaks, -1 garbage */
};

static void scan_header(void *ud, const struct lf_frame *f, uint64_t off)
{
    struct reply_scan *rs = ud;
    rs->body_off = (size_t)off + f->header_len;
    rs->body_len = (size_t)f->content_length;
}

static void scan_end(void *ud)
{
    struct reply_scan *rs = ud;
    if (rs->verdict) return;
    int v = judge_body(rs->probe, rs->buf + rs->body_off, rs->body_len, rs->info);
    if (v == 1) rs->verdict = 1;
    if (v < 0) rs->verdict = -1;
    if (v == 2) rs->other = 1;
    rs->saw_frame = 1;
    rs->done = rs->body_off + rs->body_len;
}

static void scan_error(void *ud, int code, uint64_t off)
{
    struct reply_scan *rs = ud;
    (void)code;
    (void)off;
    if (!rs->verdict) rs->verdict = -1;
}

enum ln_app_class ln_classify_reply(enum ln_probe probe, const char *buf, size_t len,
                                    enum ln_app_end end, struct ln_app_info *info)
{
    memset(info, 0, sizeof(*info));
    ln_escape(buf, len, 48, info->first, sizeof(info->first));
    if (len == 0) {
        if (end == LN_END_EOF) return LN_APP_CLOSED;
        if (end == LN_END_TIMEOUT) return LN_APP_SILENT;
        return LN_APP_MORE;
    }
    if (len >= 5 && !memcmp(buf, "HTTP/", 5)) return LN_APP_HTTP;
    if (len < 5 && !memcmp(buf, "HTTP/", len) && end == LN_END_NONE) return LN_APP_MORE;

    /* The reply is framed by lf_stream like every other reader; it is fed
     * whole, so each body lies in buf at its header's end. */
    struct reply_scan rs = {.probe = probe, .buf = buf, .info = info};
    static const struct lf_stream_cb cb = {
        .on_header = scan_header, .on_end = scan_end, .on_error = scan_error};
    struct lf_stream st;
    lf_stream_init(&st, 0, &cb, &rs);
    lf_stream_feed(&st, buf, len);
    if (rs.verdict) return rs.verdict == 1 ? LN_APP_SPEAKS : LN_APP_GARBAGE;
    if (rs.other) return LN_APP_OTHER_RPC;
    if (rs.done < len && !rs.saw_frame) {
        /* The bytes so far must still be able to become a header block
         * (the framer reported no error in them). */
        static const char cl[] = "content-";
        size_t k = len - rs.done < 8 ? len - rs.done : 8;
        if (strncasecmp(buf + rs.done, cl, k) != 0) return LN_APP_GARBAGE;
    }
    if (end != LN_END_NONE) return rs.saw_frame ? LN_APP_NO_ANSWER : LN_APP_GARBAGE;
    return LN_APP_MORE;
}

LN_DEFINE_NAME_FN(ln_app_class_name, enum ln_app_class, LN_APP_CLASSES)
