/*
 * li_replay — the pure half of `lsptap replay`: a recorded LSP session
 * loaded for replaying, the editor's recorded answers to server requests,
 * the normalisation replies are compared after, and a short JSON diff.
 * No I/O besides reading the session file; the driving is replay/lp_replay.
 */
#ifndef LSPTAP_REPLAY_LI_REPLAY_H
#define LSPTAP_REPLAY_LI_REPLAY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "inspect/li_msg.h"

/* One recorded message line. */
struct li_rmsg {
    int64_t t_us;
    enum li_dir dir;
    enum li_kind kind;
    const char *method; /* borrowed from `line`; NULL when absent */
    json_t *id;         /* borrowed; NULL when absent */
    json_t *body;       /* borrowed; the whole JSON-RPC message */
    int64_t latency_us; /* on a paired reply; -1 otherwise */
    int cancelled;      /* a reply to a cancelled request */
    size_t lineno;      /* line in the session file */
    size_t pos;         /* 1-based position among the session's messages */
    long reply;         /* on a request: index of its recorded reply, -1 when none */
    json_t *line;       /* owned reference */
};

struct li_rec {
    json_t *header;
    struct li_rmsg *m;
    size_t n;
    size_t truncated; /* line number of a last line cut short, 0 if none */
    size_t bad_lines; /* malformed lines skipped */
};

/* Loads a session file for replaying. Refuses (returns -1 with a sentence
 * in err) a file that is missing or no session, a DAP session, and a
 * session recorded without bodies (LSPTAP_RECORD=meta). Malformed lines are
 * skipped (counted); a truncated last line ends the session there. Message
 * lines of kind "invalid" or without a body object are skipped. */
int li_rec_load(const char *path, struct li_rec *rec, char *err, size_t errlen);
void li_rec_free(struct li_rec *rec);

/* The recorded server command: header "argv" (a new NULL-terminated array
 * of borrowed strings, free() only the array), or NULL when absent. */
const char **li_rec_argv(const struct li_rec *rec);

/* The editor's recorded reply to the k-th (0-based) server request of
 * `method`: the recorded c2s response body, borrowed, or NULL when the
 * recording has fewer. */
json_t *li_rec_editor_reply(const struct li_rec *rec, const char *method, size_t k);

/* What an editor would answer a server request when the recording has no
 * answer: workspace/configuration gets one {} per item, workspace/applyEdit
 * {"applied":false}, everything else null. New reference. */
json_t *li_default_reply(const char *method, const json_t *params);

/* For `replay --serve`: the recorded c2s request (index into rec->m) whose
 * reply answers an editor request of `method` with `params` (already
 * rewritten into the recording's terms). Preference: the first unused one
 * whose normalised params are equal; then the first unused one of that
 * method; then the last one of that method with equal params; then the last
 * one of that method. `used` has rec->n flags; the chosen one is marked.
 * Only requests with a recorded reply count. Returns -1 when the recording
 * has no reply for the method. */
long li_rec_match_request(const struct li_rec *rec, const char *method, const json_t *params,
                          unsigned char *used);

/* The part of a reply that is compared, normalised (docs/replay.md):
 * {"result": R} or {"error": {"code","message"}}, with progress tokens
 * (workDoneToken, partialResultToken, token) removed, timestamps replaced by
 * "<time>", "version" removed from objects that also have "uri" (document
 * versions), and serverInfo.version removed from initialize results.
 * `body` is a JSON-RPC reply. New reference. */
json_t *li_normalize_reply(const char *method, const json_t *body);

/* Compares two values. Appends to `out` (an array) at most `max` entries
 * {"path": JSON Pointer, "recorded": a or absent, "replayed": b or absent};
 * returns the number of differences found (may exceed max; 0: equal). */
size_t li_json_diff(const json_t *a, const json_t *b, json_t *out, size_t max);

#endif
