/*
 * lp_replay — `lsptap replay`: plays the editor's side of a recorded LSP
 * session against a fresh server, and `--serve`, which plays the server's
 * side to a live editor (docs/replay.md).
 *
 * Playing: the recorded editor-to-server requests and notifications go to
 * the server in their recorded order. A message the editor sent after it
 * had received the reply to one of its requests waits until the replayed
 * server has answered that request too (causality), or until `timeout_ms`
 * passes, which is reported. The editor's recorded replies to server
 * requests are not sent as recorded: each request the new server makes is
 * answered under the id it chose, with the recorded reply to the request
 * of that method and rank, or a default (li_default_reply). Replies are
 * compared after normalisation (li_normalize_reply) and reported per method.
 */
#ifndef LSPTAP_REPLAY_LP_REPLAY_H
#define LSPTAP_REPLAY_LP_REPLAY_H

#include <stdio.h>

#include "replay/li_rewrite.h"

/* Exit codes of `lsptap replay`. */
enum {
    LP_REPLAY_OK = 0,     /* replayed; with --compare, every reply equal */
    LP_REPLAY_DIFFER = 1, /* --compare: a reply differs or never came */
    LP_REPLAY_USAGE = 2,  /* bad arguments, or a session that cannot be replayed */
    LP_REPLAY_SERVER = 3, /* the server could not start, or ended before the replay did */
};

struct lp_replay_opts {
    const char *session;
    char **server;        /* NULL: the recorded argv */
    struct li_rewrite rw; /* from NULL: no rewrite */
    int compare;
    int speed_original; /* keep the recorded gaps (default: as fast as causality allows) */
    int json;
    int timeout_ms; /* for a causality wait and for the last replies */
    FILE *out;      /* the report */
};

/* Plays the session; prints the report to o->out, problems to stderr.
 * Returns an LP_REPLAY_* exit code. */
int lp_replay_run(const struct lp_replay_opts *o);

/* Acts as the recorded server on this process's stdin/stdout until the
 * editor sends `exit` or closes stdin. Each editor request gets the
 * recorded reply chosen by li_rec_match_request (an error reply when the
 * recording has none of that method); the recorded server notifications
 * and requests are sent in their recorded place, counted in editor
 * requests and notifications received. Returns an LP_REPLAY_* code. */
int lp_replay_serve(const struct lp_replay_opts *o);

/* For both: loads o->session (li_rec_load) into rec, saying on stderr why it
 * cannot be replayed. Returns LP_REPLAY_OK or LP_REPLAY_USAGE. */
struct li_rec;
int lp_replay_load(const struct lp_replay_opts *o, struct li_rec *rec);

#endif
