/*
 * lp_serve — one recorded stdio session: open the session file, write its
 * header, relay to the server, then write the closing lines and tell the
 * user on stderr how it ended (and what was still pending if it crashed).
 */
#ifndef LSPTAP_PROXY_LP_SERVE_H
#define LSPTAP_PROXY_LP_SERVE_H

#include <jansson.h>
#include <uv.h>

#include "env/lp_config.h"
#include "inspect/li_events.h"
#include "inspect/li_session.h"
#include "proxy/lp_log.h"

/* One recorded session: the inspector, its file (NULL when not recording)
 * and the clock its t_us count from. */
struct lp_session {
    struct li_session *li;
    struct lp_log *log;
    uint64_t hr_start;
    enum li_proto proto;
    li_msg_fn on_msg; /* the caller's, called after lp_serve's own look */
    void *msg_ud;
    /* Set after lp_session_open where the process outlives the editor (relay
     * --listen): the file is never written from the loop's thread
     * (lp_log_eager), the editor's goodbye included, since no editor can
     * kill this process right after `exit`. */
    int lazy;
};

/* Opens the session file (or says on stderr why recording is off: the
 * session goes on), creates the inspector and writes the header line.
 * Once the editor sends `shutdown` or `exit` (DAP: `disconnect`) the file
 * is written (unless s->lazy) line by line as the loop produces them (lp_log_eager), so an
 * editor that kills the server's process group right after `exit` still
 * finds the ending in the file. s must stay where it is until
 * lp_session_close: the inspector calls back with its address. */
int lp_session_open(struct lp_session *s, const struct lp_config *cfg, const char *role,
                    enum li_proto proto, char **argv, li_msg_fn on_msg, void *msg_ud);

/* Microseconds since the session started. */
uint64_t lp_session_now(const struct lp_session *s);

/* An event line now; takes the reference to fields (may be NULL). */
void lp_session_event(struct lp_session *s, enum li_event ev, json_t *fields);

/* Names pending requests on stderr, writes the closing lines (with the
 * members of `extra`, borrowed), closes the file and prints the one-line
 * summary. `crashed` words the pending report. Frees the inspector and sets
 * s->li and s->log to NULL (so does lp_session_close_async): the session is
 * over, and a feed or lp_session_event after it stops on an assert()
 * (inspect/li_session.h), since the summary is written and nothing may be
 * recorded after it. Stop the streams that feed it first. */
void lp_session_close(struct lp_session *s, const char *role, json_t *extra, const char *ending,
                      int crashed);

/* lp_session_close for a loop that relays other sessions: the closing
 * lines are queued, the inspector freed, and it returns without waiting
 * for the disk (docs/design.md principle 1). Returns 1 when the file is
 * still being completed: then, from loop's thread once it is, the one-line
 * summary ("recorded in FILE") is printed and done(ud) is called; the loop
 * runs until then. Returns 0 when the session is closed already (not
 * recorded, or no memory to wait: it waited for the disk) and done is not
 * called. Loop thread only. */
int lp_session_close_async(struct lp_session *s, uv_loop_t *loop, const char *role, json_t *extra,
                           const char *ending, int crashed, void (*done)(void *ud), void *ud);

/* At an exit that does not run the loop to its end (SIGINT): waits for the
 * files lp_session_close_async is still completing, and prints their
 * lines, so none is cut short. */
void lp_session_wait_closes(void);

/* role: "gopls" or "dlv" (names the session file). argv[0] is the path of
 * the real server; the child gets argv as given. Returns the exit code. */
int lp_serve_stdio(const struct lp_config *cfg, const char *role, enum li_proto proto, char **argv);

/* When the server cannot be found or started: answer the editor inside the
 * protocol. Every request gets a JSON-RPC error whose message is `why`
 * (initialize with data {"retry": false}); `shutdown` gets a null result;
 * `exit` or EOF ends it. The session is recorded like any other. Returns the
 * exit code (127). */
int lp_serve_unavailable(const struct lp_config *cfg, const char *role, char **argv,
                         const char *why);

#endif
