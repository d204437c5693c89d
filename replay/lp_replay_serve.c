/* `lsptap replay --serve`: the recorded server, played to a live editor
 * over this process's stdio. Blocking reads and writes: there is one peer
 * and nothing to do while it is silent. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "framing/lf.h"
#include "inspect/li_frames.h"
#include "io/lp_stdio.h"
#include "replay/li_replay.h"
#include "replay/lp_replay.h"

#define MAX_BODY ((size_t)256 << 20)

struct sv {
    const struct lp_replay_opts *o;
    struct li_rec rec;
    unsigned char *used;
    size_t *needed;  /* per message: editor messages recorded before it */
    size_t received; /* editor requests and notifications so far */
    size_t next_out; /* next recorded server message to consider */
    struct li_rewrite back;
    int done, write_failed;
};

static void put(struct sv *s, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text || s->write_failed) {
        free(text);
        return;
    }
    char hdr[LF_HEADER_MAX_OUT];
    size_t len = strlen(text), h = lf_write_header(hdr, sizeof hdr, len);
    assert(h > 0); /* LF_HEADER_MAX_OUT always suffices */
    if (lp_write_all(1, hdr, h) < 0 || lp_write_all(1, text, len) < 0) s->write_failed = 1;
    free(text);
}

/* Sends the recorded server notifications and requests whose turn has
 * come, in order, stopping before position `before`. */
static void flush(struct sv *s, size_t before)
{
    while (s->next_out < s->rec.n) {
        const struct li_rmsg *m = &s->rec.m[s->next_out];
        if (m->dir != LI_S2C || m->kind == LI_K_RESPONSE) {
            s->next_out++;
            continue;
        }
        if (s->needed[s->next_out] > s->received || m->pos >= before) return;
        json_t *msg = li_rewrite_json(m->body, &s->o->rw);
        put(s, msg);
        json_decref(msg);
        s->next_out++;
    }
}

static void answer(struct sv *s, json_t *msg, const char *method)
{
    json_t *params = li_rewrite_json(json_object_get(msg, "params"), &s->back);
    long i = li_rec_match_request(&s->rec, method, params, s->used);
    json_decref(params);
    json_t *reply = json_pack("{s:s, s:O}", "jsonrpc", "2.0", "id", json_object_get(msg, "id"));
    if (i < 0) {
        char text[512];
        snprintf(text, sizeof text, "lsptap replay --serve: the recording has no reply to %s",
                 method);
        json_object_set_new(reply, "error",
                            json_pack("{s:i, s:s}", "code", -32601, "message", text));
        flush(s, (size_t)-1);
    } else {
        const struct li_rmsg *r = &s->rec.m[s->rec.m[i].reply];
        flush(s, r->pos);
        json_t *e = json_object_get(r->body, "error");
        if (e)
            json_object_set_new(reply, "error", li_rewrite_json(e, &s->o->rw));
        else
            json_object_set_new(reply, "result",
                                li_rewrite_json(json_object_get(r->body, "result"), &s->o->rw));
    }
    put(s, reply);
    json_decref(reply);
}

static void on_message(void *ud, const char *body, size_t len)
{
    struct sv *s = ud;
    if (s->done) return; /* after exit: nothing more is answered */
    json_t *msg = json_loadb(body, len, JSON_ALLOW_NUL, NULL);
    const char *method = json_string_value(json_object_get(msg, "method"));
    if (method) {
        s->received++;
        if (json_object_get(msg, "id"))
            answer(s, msg, method);
        else if (!strcmp(method, "exit"))
            s->done = 1;
    }
    json_decref(msg);
    flush(s, (size_t)-1);
}

int lp_replay_serve(const struct lp_replay_opts *o)
{
    struct sv s = {.o = o};
    int lrc = lp_replay_load(o, &s.rec);
    if (lrc) return lrc;
    if (o->rw.from) s.back = li_rewrite_reverse(&o->rw);
    s.used = calloc(s.rec.n + 1, 1);
    s.needed = calloc(s.rec.n + 1, sizeof *s.needed);
    if (!s.used || !s.needed) {
        fprintf(stderr, "lsptap replay: out of memory\n");
        free(s.used);
        free(s.needed);
        li_rec_free(&s.rec);
        return LP_REPLAY_USAGE;
    }
    size_t editor = 0;
    for (size_t i = 0; i < s.rec.n; i++) {
        const struct li_rmsg *m = &s.rec.m[i];
        s.needed[i] = editor;
        if (m->dir == LI_C2S && m->kind != LI_K_RESPONSE) editor++;
    }
    fprintf(stderr, "lsptap replay: serving %s (%zu messages) on stdio\n", o->session, s.rec.n);
    struct li_frames frames;
    li_frames_init(&frames, MAX_BODY, on_message, NULL, &s);
    flush(&s, (size_t)-1);
    char buf[65536];
    while (!s.done && !s.write_failed) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        li_frames_feed(&frames, buf, (size_t)n);
    }
    li_frames_free(&frames);
    free(s.used);
    free(s.needed);
    li_rec_free(&s.rec);
    return LP_REPLAY_OK;
}
