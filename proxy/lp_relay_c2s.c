/* The stdio relay's editor stream, framed once for a supervisor
 * (proxy/lp_relay_int.h). */
#include <stddef.h>
#include <uv.h>

#include "inspect/li_msg.h"
#include "inspect/li_session.h"
#include "proxy/lp_relay_int.h"
#include "resume/lp_gate.h"

/* The session's t_us, as lp_relay_now_us counts it. */
static uint64_t now_us(const struct lp_relay_c2s *c)
{
    return (uv_hrtime() - c->hr_start) / 1000;
}

/* Someone wants the editor's stream piece by piece: a watcher or a filter. */
static int wanted(const struct lp_relay_c2s *c)
{
    return c->watch || c->filtering;
}

/* One piece of the editor's stream: inspected, then the supervisor's. */
static void piece(struct lp_relay_c2s *c, const char *data, size_t len, size_t hdr)
{
    struct li_msg m;
    const struct li_msg *mp = NULL;
    if (hdr) {
        li_classify(LI_LSP, data + hdr, len - hdr, 0, &m);
        mp = &m;
        li_session_feed_frame(c->sess, LI_C2S, data, len, hdr, now_us(c), mp);
    } else if (!c->tail_seen) {
        li_session_feed(c->sess, LI_C2S, data, len, now_us(c));
    }
    if (c->filtering)
        c->filtered(c->ud, data, len, hdr, mp);
    else if (c->watch && c->watched)
        c->watched(c->ud, data, len, hdr, mp);
    /* Nobody wants the pieces any more: chunks again from the next frame
     * boundary, even inside this chunk. */
    if (!wanted(c)) lp_gate_stop(&c->gate, 1);
}

static void gate_frame(void *ud, const char *frame, size_t len, size_t hdr)
{
    piece(ud, frame, len, hdr);
}

static void gate_raw(void *ud, const char *data, size_t len)
{
    piece(ud, data, len, 0);
}

/* Framing stops at the frame boundary where nobody wants the pieces any
 * more (lp_gate_stop): the rest of the chunk goes to the inspector as
 * read, whose framer is at that boundary too. */
void lp_relay_c2s_bytes(struct lp_relay_c2s *c, const char *data, size_t len)
{
    size_t n = 0;
    if (c->framing) {
        n = lp_gate_feed(&c->gate, data, len, gate_frame, gate_raw, c);
        if (n == len && (wanted(c) || !lp_gate_idle(&c->gate))) return;
        c->framing = 0;
        lp_gate_stop(&c->gate, 0);
    }
    if (n < len) li_session_feed(c->sess, LI_C2S, data + n, len - n, now_us(c));
}

void lp_relay_c2s_watch(struct lp_relay_c2s *c, int on)
{
    c->watch = on;
    if (on) {
        c->framing = 1;
        lp_gate_stop(&c->gate, 0);
    } else if (!c->filtering) {
        lp_gate_stop(&c->gate, 1); /* at the next frame boundary */
        if (lp_gate_idle(&c->gate)) c->framing = 0;
    }
}

void lp_relay_c2s_filter(struct lp_relay_c2s *c)
{
    c->filtering = 1;
    c->framing = 1;
    lp_gate_stop(&c->gate, 0);
}

void lp_relay_c2s_input_end(struct lp_relay_c2s *c)
{
    if (!c->framing) return;
    /* A frame cut short: the session's stream ends with it. */
    size_t n;
    const char *held = lp_gate_pending(&c->gate, &n);
    if (n) li_session_feed(c->sess, LI_C2S, held, n, now_us(c));
    c->tail_seen = 1;
}

/* The editor's input ended while filtered: a frame it cut short goes to
 * the supervisor as bytes (inspected already), then the end. */
void lp_relay_c2s_end(struct lp_relay_c2s *c)
{
    if (!c->filtering) return;
    lp_gate_flush(&c->gate, gate_raw, c);
    c->filtering = 0;
    if (c->ended) c->ended(c->ud);
}

void lp_relay_c2s_free(struct lp_relay_c2s *c)
{
    lp_gate_free(&c->gate);
}
