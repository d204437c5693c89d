/*
 * li_session — what the traffic of one session means, and its record.
 *
 * The proxy forwards bytes first and then hands the same bytes to
 * li_session_feed() (docs/design.md principle 1). The session frames each
 * direction (framing/lf.h), classifies every message (li_msg.h), pairs
 * requests with replies per direction, and produces the session file's
 * JSON Lines through a sink the caller provides. It never blocks and never
 * does I/O itself: the sink decides whether a line is written or dropped.
 *
 * Memory: one partial message per direction is accumulated (at most
 * max_inspect bytes; a larger message keeps only its metadata and the first
 * LI_PREFIX_KEEP bytes for a best-effort classification), plus the pairing
 * tables (at most max_pending entries per direction; the oldest entry is
 * evicted and counted when a table is full).
 *
 * Line formats are docs/design.md's "Interfaces" section and docs/session-format.md.
 */
#ifndef LSPTAP_INSPECT_LI_SESSION_H
#define LSPTAP_INSPECT_LI_SESSION_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "inspect/li_events.h"
#include "inspect/li_msg.h"

#define LI_FORMAT_VERSION 1
#define LI_DEFAULT_MAX_INSPECT ((uint64_t)64 << 20) /* 64 MiB */
#define LI_DEFAULT_MAX_PENDING 65536
#define LI_PREFIX_KEEP 65536

enum li_record { LI_REC_FULL, LI_REC_META, LI_REC_OFF };

/* Receives one complete line (ending in '\n'). `line` is valid only during
 * the call. Called synchronously from li_session_* functions. The sink may
 * call li_session_event (e.g. to record that it dropped lines), but not
 * li_session_feed or li_session_eof. */
typedef void (*li_sink_fn)(void *ud, const char *line, size_t len);

/* One piece of a line. */
struct li_piece {
    const char *p;
    size_t len;
};

/* Optional, next to a sink: receives one line as n pieces to be joined in
 * order (the last ends in '\n'), under the same rules as li_sink_fn. Message
 * lines that embed a body come this way, so a large body goes from the
 * message buffer to the sink's queue without being copied into the line
 * first; the bytes are exactly those the sink would have received. */
typedef void (*li_sinkv_fn)(void *ud, const struct li_piece *v, int n);

/* Called for every message after it is classified and paired, before its
 * line is written. `body` is NULL when the message was over max_inspect.
 * `latency_us` is -1 unless the message is a paired reply. For the proxy's
 * own use (handshake supervision, the not-found server). */
typedef void (*li_msg_fn)(void *ud, enum li_dir dir, const struct li_msg *m, const char *body,
                          size_t len, int64_t latency_us);

struct li_opts {
    enum li_proto proto;
    enum li_record record; /* LI_REC_OFF: classify and pair, write no lines */
    uint64_t max_inspect;  /* 0: LI_DEFAULT_MAX_INSPECT */
    size_t max_pending;    /* 0: LI_DEFAULT_MAX_PENDING */
    li_sink_fn sink;       /* may be NULL (nothing written) */
    void *sink_ud;
    li_msg_fn on_msg; /* may be NULL */
    void *msg_ud;
    li_sinkv_fn sinkv; /* may be NULL; used only with a sink, and gets sink_ud */
};

struct li_session;

/* Returns NULL only when out of memory. */
struct li_session *li_session_new(const struct li_opts *o);
void li_session_free(struct li_session *s);

/* Feeding after the end is a bug, not a no-op: li_session_feed,
 * li_session_feed_frame, li_session_eof and li_session_event assert() a
 * session (a closed lp_session's li is NULL). Bytes recorded after the
 * summary line would make the file's counts and ending lie, and a silent
 * no-op would hide the caller that relays without recording. */

/* Every line the session writes itself (header, events, summary; not the
 * messages' bodies, which are the recording) goes through li_redact; with
 * this, its last pass uses envp's secrets too (gathered now: later changes
 * to envp are not seen). Call before the header is written. Returns 0, or
 * -ENOMEM (the rules alone then apply). */
int li_session_redact_with(struct li_session *s, char *const envp[]);

/* Writes the header line: the members of `fields` (borrowed; may be NULL)
 * preceded by "lsptap": LI_FORMAT_VERSION and "protocol": "lsp"|"dap"
 * (members of those two names in `fields` are ignored). */
void li_session_write_header(struct li_session *s, json_t *fields);

/* Bytes read from one side, exactly as read (already forwarded). t_us is the
 * monotonic time since the session started, in microseconds. The session
 * frames them itself (lf_stream). A caller that frames the stream itself
 * (lp_gate, on a supervised direction) passes its whole frames to
 * li_session_feed_frame and the bytes in between that do not frame here:
 * they are recorded as framing errors and skipped bytes exactly as if the
 * whole stream had come here, and a frame after them ends the skip. */
void li_session_feed(struct li_session *s, enum li_dir dir, const char *buf, size_t len,
                     uint64_t t_us);

/* One whole frame (hdr_len bytes of header block, then its body) that the
 * caller framed itself from this direction's stream (lf_parse, lp_gate),
 * already forwarded: recorded as li_session_feed would record the same
 * bytes, without framing them again. `m` (may be NULL) is what
 * li_classify(proto, body, len - hdr_len, 0, m) returned for its body with
 * the session's proto: then the body is not scanned again either. Where a
 * frame cannot start in what the session has seen (the caller began
 * framing inside a frame, so the two disagree), the bytes are framed as
 * li_session_feed does and m is used only if the body is framed in place.
 * m is only read during the call. */
void li_session_feed_frame(struct li_session *s, enum li_dir dir, const char *frame, size_t len,
                           size_t hdr_len, uint64_t t_us, const struct li_msg *m);

/* 1 when the bytes fed in `dir` so far end on a frame boundary (no header
 * or body in progress, no garbage being skipped): something inserted into
 * that stream now cannot split a frame. */
int li_session_at_boundary(const struct li_session *s, enum li_dir dir);

/* End of stream in one direction: a frame cut short is recorded as a
 * framing error. */
void li_session_eof(struct li_session *s, enum li_dir dir, uint64_t t_us);

/* An event line: {"t_us":..,"event":li_event_name(ev), ...fields} (the
 * names are inspect/li_events.h's one list). fields borrowed;
 * members named "t_us" or "event" in it are ignored, and it must not have
 * "dir" (that key marks message lines; use "stream"). */
void li_session_event(struct li_session *s, uint64_t t_us, enum li_event ev, json_t *fields);

struct li_counts {
    uint64_t messages[2]; /* complete frames, per li_dir */
    uint64_t bytes[2];    /* bytes fed, per li_dir */
    uint64_t invalid[2];  /* frames whose body is not a JSON-RPC/DAP message */
    uint64_t framing_errors[2];
    uint64_t error_replies; /* replies carrying an error */
    uint64_t cancelled;     /* requests named by $/cancelRequest */
    uint64_t evicted;       /* pairing entries dropped because a table was full */
    uint64_t truncated;     /* messages over max_inspect (metadata only) */
    size_t pending[2];      /* requests sent in that direction still unanswered */
};
void li_session_counts(const struct li_session *s, struct li_counts *c);

struct li_pending {
    enum li_dir dir;   /* direction the request travelled */
    char method[128];  /* NUL-terminated, unquoted; "" when unknown */
    size_t method_len; /* its length: a peer's method may hold a NUL */
    char id[64];       /* the id as JSON text: 7 or "abc" (truncated if longer) */
    uint64_t t_us;     /* when the request was seen */
    int cancelled;
};
/* Copies up to max pending requests, oldest first; returns how many exist. */
size_t li_session_pending(const struct li_session *s, struct li_pending *out, size_t max);

/* Writes one event line per pending request, oldest first ("event":
 * "pending", with stream, method (DAP: command), id, age_us, cancelled) and
 * the closing "summary" event line with the counts and the members of
 * `extra` (borrowed; may be NULL). The direction is named "stream", not
 * "dir": a line with "dir" is a message line (docs/design.md, Interfaces). */
void li_session_write_summary(struct li_session *s, uint64_t t_us, json_t *extra);

#endif
