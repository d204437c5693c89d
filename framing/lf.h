/*
 * lf — Content-Length framing (LSP base protocol, DAP wire format).
 *
 * Pure C11, no I/O, no allocation, no dependencies. Two layers:
 *
 *  1. lf_parse(): parse one header block that starts at buf[0]. Shape after
 *     picohttpparser: returns the number of bytes of the header block
 *     (through the blank line), LF_PARTIAL when more bytes are needed, or a
 *     negative LF_E* error. Header names and values are pointers into the
 *     caller's buffer (zero copy): they stay valid as long as buf does.
 *     `last_len` is the length of buf at the previous call for the same
 *     block (0 the first time): only the new bytes are rescanned for the end
 *     of the block, so a peer trickling a header one byte at a time costs
 *     linear time, not quadratic.
 *
 *  2. lf_stream: an incremental framer over an unbounded byte stream fed in
 *     arbitrary chunks. It buffers only header blocks (at most
 *     LF_MAX_HEADER_BLOCK bytes); body bytes are handed to the callback as
 *     pointers into the chunk being fed. After an error it resynchronises at
 *     the next "Content-Length:" (case-insensitive) and reports how many
 *     bytes it skipped. It never stops accepting input.
 *
 * Rules (docs/design.md, framing/): header lines end in "\r\n"; names are
 * case-insensitive; Content-Length is required, digits only, no sign, at
 * most the configured maximum; Content-Type is accepted when its charset
 * is utf-8 or utf8 (or absent); unknown headers are kept and reported;
 * the header block is at most 8 KiB.
 */
#ifndef LSPTAP_FRAMING_LF_H
#define LSPTAP_FRAMING_LF_H

#include <stddef.h>
#include <stdint.h>

#define LF_MAX_HEADER_BLOCK 8192               /* bytes, including the final blank line */
#define LF_MAX_HEADERS 32                      /* header lines kept per block */
#define LF_DEFAULT_MAX_LEN ((uint64_t)1 << 40) /* default Content-Length cap */

/* Return codes. Every negative value has a name and a message. */
enum {
    LF_PARTIAL = -1,    /* need more bytes (not an error) */
    LF_EBADLEN = -2,    /* Content-Length not digits, signed, overflowing or over the max */
    LF_ENOLEN = -3,     /* header block without Content-Length */
    LF_EHDRTOOBIG = -4, /* header block longer than LF_MAX_HEADER_BLOCK */
    LF_EBADHDR = -5,    /* a header line without ':', an empty name or one with a
                           non-token byte, a control byte in a value, a bare '\n'
                           or a '\r' not followed by '\n' */
    LF_EDUPLEN = -6,    /* two Content-Length headers */
    LF_EBADTYPE = -7,   /* Content-Type with a charset other than utf-8/utf8 */
    LF_ETOOMANY = -8,   /* more than LF_MAX_HEADERS header lines */
};

struct lf_header {
    const char *name; /* points into the caller's buffer; not NUL-terminated */
    size_t name_len;
    const char *value; /* leading and trailing spaces/tabs trimmed */
    size_t value_len;
};

struct lf_frame {
    uint64_t content_length;
    const char *content_type; /* NULL when absent; points into the buffer */
    size_t content_type_len;
    struct lf_header headers[LF_MAX_HEADERS]; /* every header line, in order */
    size_t num_headers;
    size_t num_unknown; /* headers other than Content-Length / Content-Type */
    size_t header_len;  /* bytes of the header block, same as the return value */
};

/* Parses the header block at buf[0..len). `max_len` caps Content-Length
 * (0 means LF_DEFAULT_MAX_LEN). On success returns frame->header_len (> 0)
 * and fills `frame`; the body is the next content_length bytes after it.
 * Otherwise returns LF_PARTIAL or an LF_E* error; on error `*err_off`, when
 * not NULL, is set to the offset in buf of the offending byte or line
 * (docs/framing.md has the table); `frame` is then unspecified.
 * The answer depends only on buf[0..len): `last_len` saves work but never
 * changes it, so a block gives the same result however it was split. A
 * block is decided (an error or a length) only once it ends, meets a bare
 * '\n' or a stray '\r', or reaches LF_MAX_HEADER_BLOCK bytes; before that
 * the answer is LF_PARTIAL even when an earlier line is already bad. */
int lf_parse(const char *buf, size_t len, size_t last_len, uint64_t max_len, struct lf_frame *frame,
             size_t *err_off);

/* Name ("LF_EBADLEN") and message ("Content-Length is not a decimal
 * number") of a return code. Never NULL; unknown codes get a generic text. */
const char *lf_strerror(int code);
const char *lf_errname(int code);

/* Offset of the first "Content-Length:" (case-insensitive) in buf, or, when
 * there is none, the number of leading bytes that can be discarded without
 * losing a match that continues in the next chunk (len minus a possible
 * partial match at the end). `*found` is set to 1 or 0 accordingly. */
size_t lf_resync(const char *buf, size_t len, int *found);

/* Writes "Content-Length: N\r\n\r\n" into out (cap bytes). Returns the bytes
 * written, or 0 when cap is too small (LF_HEADER_MAX_OUT always suffices). */
#define LF_HEADER_MAX_OUT 40
size_t lf_write_header(char *out, size_t cap, uint64_t content_length);

/* ---- incremental stream framer ---- */

struct lf_stream_cb {
    /* A header block was parsed at stream offset `off`. `frame`'s pointers
     * are valid only during this call. */
    void (*on_header)(void *ud, const struct lf_frame *frame, uint64_t off);
    /* Body bytes of the current frame, in order; `data` points into the
     * chunk passed to lf_stream_feed and is valid only during this call. */
    void (*on_body)(void *ud, const char *data, size_t len);
    /* The current frame's body is complete. */
    void (*on_end)(void *ud);
    /* A framing error (LF_E* code) at stream offset `off`: the offending
     * byte, or for LF_PARTIAL at lf_stream_finish the start of the cut-short
     * frame. The framer now skips to the next "Content-Length:" after the
     * bad block's first byte. */
    void (*on_error)(void *ud, int code, uint64_t off);
    /* `skipped` bytes from stream offset `off` (the bad block's start) were
     * not part of any frame; called once the next "Content-Length:" is
     * found, or at lf_stream_finish. Every byte fed is reported exactly once:
     * as header (frame->header_len), body, or skipped. */
    void (*on_skip)(void *ud, uint64_t off, uint64_t skipped);
};

enum lf_stream_state { LF_ST_HEADER, LF_ST_BODY, LF_ST_RESYNC };

struct lf_stream {
    const struct lf_stream_cb *cb; /* any callback may be NULL */
    void *ud;
    uint64_t max_len;
    uint64_t offset; /* stream offset of the next byte to be fed */
    enum lf_stream_state state;
    uint64_t body_left;            /* in LF_ST_BODY */
    uint64_t block_off;            /* stream offset where the current header block (in
                                      LF_ST_BODY: the current frame) starts */
    uint64_t skip_off;             /* in LF_ST_RESYNC: where skipping started */
    uint64_t scan_end;             /* after an error: bytes before this offset hold no
                                      line end a new block could stop at (see lf.c) */
    size_t hdr_len;                /* bytes buffered in hdr */
    size_t last_len;               /* lf_parse's last_len for the block at block_off */
    char hdr[LF_MAX_HEADER_BLOCK]; /* an unfinished header block; in
                                      LF_ST_RESYNC a partial "Content-Length:" */
};

/* Initialises s; max_len 0 means LF_DEFAULT_MAX_LEN. */
void lf_stream_init(struct lf_stream *s, uint64_t max_len, const struct lf_stream_cb *cb, void *ud);
/* Feeds len bytes; calls the callbacks synchronously. Always consumes all.
 * A callback must not feed or finish the stream that called it. */
void lf_stream_feed(struct lf_stream *s, const char *buf, size_t len);
/* The next `len` bytes of the stream are one whole frame (header block and
 * body) that the caller has framed itself from the same bytes (lf_parse, or
 * a framer built on it): the stream steps over them without scanning them
 * again, as if they had been fed, except that on_header, on_body and on_end
 * are not called (the caller has the frame). When the stream was skipping
 * bytes after an error, the frame's "Content-Length:" ends the skip and
 * on_skip reports it, as lf_stream_feed would have. Returns 0 with the
 * frame's stream offset in *off; or -1 when a frame cannot start here (the
 * stream is inside a header block or a body, or is skipping and `frame`
 * does not start with "Content-Length:"): nothing changed, and the caller
 * feeds the bytes with lf_stream_feed instead. */
int lf_stream_pass(struct lf_stream *s, const char *frame, size_t len, uint64_t *off);
/* End of stream: reports a trailing partial header or body as an error
 * (LF_PARTIAL as code: "stream ended inside a frame") and pending skips.
 * Returns 0 when the stream ended on a frame boundary, else LF_PARTIAL
 * (also when it ended in bytes being skipped after an earlier error). The
 * stream is then at a frame boundary again; `offset` is kept. */
int lf_stream_finish(struct lf_stream *s);

#endif
