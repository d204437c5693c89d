/*
 * The relay's --connect target: resolving and dialling it (plain TCP, unix
 * or TLS), the "tls" event once a handshake is done, and netcheck on it when
 * a connection fails. Used by the relay (lp_netrelay.c) for its first
 * connection and by keep-alive (lp_netrelay_ka.c) for each reconnection;
 * lp_netrelay_int.h states the contracts.
 */
#include <netdb.h>
#include <stdio.h>
#include <sys/socket.h>
#include <uv.h>

#include "env/lp_diag.h"
#include "proxy/lp_netrelay_int.h"

int lp_nr_resolve(const struct lp_addr *a, int passive, struct addrinfo **res)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = passive ? AI_PASSIVE : 0};
    return getaddrinfo(*a->host ? a->host : NULL, a->port, &hints, res);
}

int lp_nr_dial(struct lp_nr *nr, union lp_nr_stream *s, struct lp_tls **tls, uv_connect_t *req,
               uv_connect_cb cb, char *err, size_t errlen)
{
    if (nr->connect.kind == LP_ADDR_UNIX) {
        uv_pipe_init(nr->loop, &s->pipe, 0);
        uv_pipe_connect(req, &s->pipe, nr->connect.path, cb);
        return 0;
    }
    struct addrinfo *res;
    int g = lp_nr_resolve(&nr->connect, 0, &res);
    if (g) {
        snprintf(err, errlen, "cannot resolve %s: %s", nr->connect.host, gai_strerror(g));
        return UV_EAI_NONAME;
    }
    uv_tcp_t *tcp = &s->tcp;
    if (nr->connect.kind == LP_ADDR_TLS) {
        *tls = lp_tls_new(nr->loop, nr->connect_ctx, 0, nr->connect.host);
        if (!*tls) {
            freeaddrinfo(res);
            snprintf(err, errlen, "cannot connect to %s: %s", nr->connect.text,
                     uv_strerror(UV_ENOMEM));
            return UV_ENOMEM;
        }
        tcp = (uv_tcp_t *)lp_tls_stream(*tls);
    } else {
        uv_tcp_init(nr->loop, tcp);
    }
    /* LSP frames are small and answered one at a time: without NODELAY, a
     * frame that arrives in two reads (gopls writes its header and body
     * separately) waits for the peer's delayed ACK, 40 ms on Linux. */
    uv_tcp_nodelay(tcp, 1);
    int r = uv_tcp_connect(req, tcp, res->ai_addr, cb);
    freeaddrinfo(res);
    if (r) snprintf(err, errlen, "cannot connect to %s: %s", nr->connect.text, uv_strerror(r));
    return r;
}

void lp_nr_tls_event(struct lp_nr_conn *c, struct lp_tls *t, const char *side)
{
    char how[128], subj[256];
    lp_tls_describe(t, how, sizeof how);
    lp_tls_peer_subject(t, subj, sizeof subj);
    json_t *f = json_pack("{s:s, s:s}", "side", side, "protocol", how);
    if (*subj) json_object_set_new(f, "peer_certificate", json_string(subj));
    lp_nr_event(c, LI_EV_TLS, f);
}

int lp_nr_netcheck(struct lp_nr_conn *c, struct lp_diag *d)
{
    struct lp_nr *nr = c->nr;
    if (nr->connect.kind == LP_ADDR_UNIX) return -1;
    struct lp_diag_tls tls = {nr->connect.kind == LP_ADDR_TLS, nr->connect_files.ca,
                              nr->connect_files.cert, nr->connect_files.key};
    lp_diagnose_tls(nr->connect.host, nr->connect.port,
                    nr->proto == LI_DAP ? LN_PROBE_DAP : LN_PROBE_LSP, &tls, d);
    if (d->report) lp_nr_event(c, LI_EV_NETCHECK, d->report);
    uv_update_time(nr->loop); /* netcheck blocked the loop for a while */
    return 0;
}
