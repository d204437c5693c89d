/*
 * li_frames — whole messages from a byte stream: lf_stream frames it, the
 * body of each frame is gathered (in an li_buf) and handed over complete.
 * For the readers that want messages, not bytes (the replay driver and the
 * replay server); the relay's inspector works on the pieces instead.
 */
#ifndef LSPTAP_INSPECT_LI_FRAMES_H
#define LSPTAP_INSPECT_LI_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "framing/lf.h"
#include "inspect/li_buf.h"

typedef void (*li_frames_msg_fn)(void *ud, const char *body, size_t len);
typedef void (*li_frames_err_fn)(void *ud, int code, uint64_t off);

struct li_frames {
    struct lf_stream lf;
    li_frames_msg_fn on_message;
    li_frames_err_fn on_error; /* may be NULL */
    void *ud;
    size_t max_body;
    struct li_buf body;
    int skip; /* the current body is over max_body or did not fit in memory */
};

/* on_message gets each complete body (valid during the call only); a body
 * longer than max_body, or one there was no memory for, is passed over
 * without a word. on_error gets lf_stream's framing errors (LF_E*, stream
 * offset); the partial body is dropped. */
void li_frames_init(struct li_frames *f, size_t max_body, li_frames_msg_fn on_message,
                    li_frames_err_fn on_error, void *ud);
void li_frames_feed(struct li_frames *f, const char *data, size_t len);
/* The stream ended: a cut-short frame is reported to on_error (LF_PARTIAL). */
void li_frames_finish(struct li_frames *f);
void li_frames_free(struct li_frames *f);

#endif
