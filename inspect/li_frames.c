#include "inspect/li_frames.h"

static void on_body(void *ud, const char *data, size_t len)
{
    struct li_frames *f = ud;
    if (f->skip) return;
    if (len > f->max_body - f->body.len) {
        f->skip = 1;
        return;
    }
    li_buf_put(&f->body, data, len);
    if (f->body.oom) f->skip = 1;
}

static void restart(struct li_frames *f)
{
    f->body.len = 0;
    f->body.oom = 0;
    f->skip = 0;
}

static void on_end(void *ud)
{
    struct li_frames *f = ud;
    /* p is NULL for an empty body that never grew the buffer. */
    if (!f->skip) f->on_message(f->ud, f->body.p ? f->body.p : "", f->body.len);
    restart(f);
}

static void on_error(void *ud, int code, uint64_t off)
{
    struct li_frames *f = ud;
    restart(f);
    if (f->on_error) f->on_error(f->ud, code, off);
}

static const struct lf_stream_cb frames_cb = {
    .on_body = on_body, .on_end = on_end, .on_error = on_error};

void li_frames_init(struct li_frames *f, size_t max_body, li_frames_msg_fn on_message,
                    li_frames_err_fn on_error_fn, void *ud)
{
    *f = (struct li_frames){
        .on_message = on_message, .on_error = on_error_fn, .ud = ud, .max_body = max_body};
    lf_stream_init(&f->lf, 0, &frames_cb, f);
}

void li_frames_feed(struct li_frames *f, const char *data, size_t len)
{
    lf_stream_feed(&f->lf, data, len);
}

void li_frames_finish(struct li_frames *f)
{
    lf_stream_finish(&f->lf);
}

void li_frames_free(struct li_frames *f)
{
    li_buf_free(&f->body);
}
