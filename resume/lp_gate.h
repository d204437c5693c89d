/*
 * lp_gate — message-at-a-time forwarding, for the moments when lsptap must
 * decide about a message before the editor sees it (the gopls handshake,
 * and a session whose server was restarted).
 *
 * lp_gate_feed() accumulates bytes and hands out each complete frame
 * (header and body, exactly as received). Bytes that do not frame — garbage,
 * a bad header — are handed out unchanged as "raw", up to the next
 * "Content-Length:", so nothing is lost or altered for not parsing
 * (docs/design.md principle 2). A frame larger than LP_GATE_MAX_FRAME is passed
 * through raw as it arrives instead of being held whole.
 *
 * Also here: rewriting a message's top-level "id", and a small set of ids.
 */
#ifndef LSPTAP_RESUME_LP_GATE_H
#define LSPTAP_RESUME_LP_GATE_H

#include <stddef.h>
#include <stdint.h>

#include "inspect/li_buf.h"
#include "inspect/li_msg.h"

#define LP_GATE_MAX_FRAME ((size_t)16 << 20)

/* frame: the whole frame; hdr_len: bytes of its header block. */
typedef void (*lp_gate_frame_fn)(void *ud, const char *frame, size_t len, size_t hdr_len);
typedef void (*lp_gate_raw_fn)(void *ud, const char *data, size_t len);

struct lp_gate {
    struct li_buf buf; /* the start of a frame not yet whole */
    uint64_t raw_left; /* bytes of an oversized frame still to pass through raw */
    size_t rest;       /* during lp_gate_feed: the chunk's bytes after the piece handed out */
    int stop;          /* lp_gate_stop: return at the next frame boundary */
};

/* Feeds bytes; calls on_frame / on_raw synchronously, in stream order. The
 * frames and raw runs are parsed in `data` and handed out from there (zero
 * copy); only a frame the chunk ends inside is copied, to be completed by
 * the next chunk. Returns the bytes taken: len, unless lp_gate_stop was
 * called, when it returns at the next frame boundary (nothing held) and
 * data[taken..len) is the caller's, the gate empty. A callback must not
 * feed, flush or free this gate. */
size_t lp_gate_feed(struct lp_gate *g, const char *data, size_t len, lp_gate_frame_fn on_frame,
                    lp_gate_raw_fn on_raw, void *ud);

/* stop 1: the caller stops framing through g (from a callback too): the
 * running or next lp_gate_feed returns at the first frame boundary, leaving
 * the rest of its chunk to the caller; until that boundary the gate goes on
 * handing out pieces. stop 0 withdraws a request not yet met. */
void lp_gate_stop(struct lp_gate *g, int stop);

/* Hands out whatever is buffered (a partial frame) as raw and empties the
 * gate: for turning it off, or at end of stream. */
void lp_gate_flush(struct lp_gate *g, lp_gate_raw_fn on_raw, void *ud);

/* The bytes held (the start of a frame not yet whole), without taking
 * them: valid until the next call on g. *len 0 when none. */
const char *lp_gate_pending(const struct lp_gate *g, size_t *len);

/* 1 when nothing is buffered: the stream is at a frame boundary. From a
 * callback: 1 when nothing follows the piece being handed out, neither
 * buffered nor in the rest of the chunk, so the stream is at a frame
 * boundary once that piece has gone on. */
int lp_gate_idle(const struct lp_gate *g);

void lp_gate_free(struct lp_gate *g);

/* A new frame (header included) equal to `body` with the top-level id value
 * at `id` (a span inside body) replaced by `new_id` (JSON text). Returns a
 * malloc'd buffer and its length in *out_len, or NULL when out of memory. */
char *lp_rewrite_id(const char *body, size_t len, struct li_span id, const char *new_id,
                    size_t new_len, size_t *out_len);

/* A set of JSON id tokens (exact text: 1 and "1" differ), with an optional
 * value per key (the original id, for remapping). */
struct lp_idset {
    struct lp_identry {
        char *key;
        char *val;
    } * e;
    size_t n, cap;
};

int lp_idset_add(struct lp_idset *s, const char *key, size_t klen, const char *val, size_t vlen);
/* The entry's value ("" when none), or NULL when key is absent. */
const char *lp_idset_get(const struct lp_idset *s, const char *key, size_t klen);
int lp_idset_del(struct lp_idset *s, const char *key, size_t klen);
void lp_idset_free(struct lp_idset *s);

/* The longest id lp_idset_remap makes, quotes included, plus one. */
#define LP_IDSET_REMAP_MAX 200

/* A server's request (frame body `body`, top-level id at `id`, a span
 * inside body) goes on to the editor under an id of lsptap's own, so that
 * it cannot collide with a request id the editor already has from another
 * server: the JSON string "<prefix>s:ID" for a string id (ID its text
 * without the quotes, escapes as they were), "<prefix>n:ID" for a number.
 * prefix names the server, e.g. "lsptap-2:" (the handshake's restarted
 * gopls) or "lsptap-k1:" (keep-alive's first new server). The new id is
 * added to remap with the original id as its value, for lp_idset_restore.
 * Returns the new frame (as lp_rewrite_id; caller frees), its length in
 * *out_len and its header block's length in *out_hdr. NULL, remap as it
 * was, when the request must go on as it is:
 *   - the new id is in remap already: the server sent this id again before
 *     the editor answered it (a collision). Renamed twice, the editor's
 *     first reply would take the entry with it and the second would reach
 *     the server under lsptap's id, which it never sent;
 *   - the new id would be LP_IDSET_REMAP_MAX bytes or longer;
 *   - out of memory. */
char *lp_idset_remap(struct lp_idset *remap, const char *prefix, const char *body, size_t len,
                     struct li_span id, size_t *out_len, size_t *out_hdr);

/* The editor's reply to a server request that lsptap sent on under a new id:
 * when `id` is a key of `remap`, the entry is removed and a new frame with
 * the server's original id is returned (as lp_rewrite_id; caller frees).
 * NULL when the id was not renumbered, or when out of memory (the entry is
 * removed all the same): then the reply goes on as it is. */
char *lp_idset_restore(struct lp_idset *remap, const char *body, size_t len, struct li_span id,
                       size_t *out_len);

/* An editor's frame (whole; its header block hdr bytes long, its body
 * classified as m) on its way to a server that replaced another. Returns 1
 * when it is a reply to a request of a server that is gone (its id a key of
 * `gone`): the key is removed and the frame must be dropped. Otherwise 0,
 * and *send, *send_len are what goes on: the frame itself, or for a reply to
 * a request lsptap renamed (lp_idset_remap) a new frame with the server's
 * own id (lp_idset_restore), which *fresh then holds. The caller frees
 * *fresh (NULL when the frame goes on as it is). */
int lp_idset_route_reply(struct lp_idset *gone, struct lp_idset *remap, const char *frame,
                         size_t len, size_t hdr, const struct li_msg *m, const char **send,
                         size_t *send_len, char **fresh);

#endif
