/*
 * li_events — the one list of session event names.
 *
 * Every event line lsptap writes ({"t_us":..,"event":NAME,..}, see
 * docs/session-format.md, "Event lines") names one entry of LI_EVENTS:
 * li_session_event() and the proxy's wrappers take an enum li_event, never a
 * string, so an event that is not listed here cannot be written.
 * tests/unit/test_events.c fails when this list and the events table of
 * docs/session-format.md disagree: add an event here and document it there.
 *
 * X(ENUM, "name", "what it records") — the description is for the reader of
 * this list; the members of each event are documented in session-format.md.
 */
#ifndef LSPTAP_INSPECT_LI_EVENTS_H
#define LSPTAP_INSPECT_LI_EVENTS_H

#define LI_EVENTS(X)                                                                               \
    /* written by the session itself (inspect/li_session.c) */                                     \
    X(LI_EV_FRAMING_ERROR, "framing_error", "a stream broke the framing rules")                    \
    X(LI_EV_FRAMING_SKIP, "framing_skip", "bytes skipped to the next Content-Length:")             \
    X(LI_EV_PENDING, "pending", "a request still unanswered at the end")                           \
    X(LI_EV_SUMMARY, "summary", "the closing counts: the last line")                               \
    /* the server's lifecycle (relay, dlv stand-in, relay --listen/--connect) */                   \
    X(LI_EV_SPAWN, "spawn", "the server was started")                                              \
    X(LI_EV_SPAWN_FAILED, "spawn_failed", "the server could not be started")                       \
    X(LI_EV_EXIT, "exit", "the server exited: status or signal")                                   \
    X(LI_EV_TERMINATE, "terminate", "lsptap sent the server SIGTERM or SIGKILL")                   \
    X(LI_EV_ORPHANS_KILLED, "orphans_killed", "the server's process group was killed")             \
    X(LI_EV_SIGNAL, "signal", "lsptap received a signal, and what it did with it")                 \
    X(LI_EV_EDITOR_EOF, "editor_eof", "the editor's stream ended")                                 \
    X(LI_EV_EDITOR_GONE, "editor_gone", "writing to the editor failed")                            \
    X(LI_EV_SERVER_EOF, "server_eof", "the remote server's stream ended")                          \
    /* handshake supervision and repair (gopls stand-in) */                                        \
    X(LI_EV_HANDSHAKE_OK, "handshake_ok", "a server answered initialize")                          \
    X(LI_EV_HANDSHAKE_FAILED, "handshake_failed", "a server failed the handshake")                 \
    X(LI_EV_REPAIR, "repair", "a second server was started with a repaired environment")           \
    X(LI_EV_REPLAYED, "replayed", "what a new server was replayed")                                \
    X(LI_EV_GAVE_UP, "gave_up", "lsptap answered the editor with the diagnosis")                   \
    X(LI_EV_DROPPED, "dropped", "a message lsptap did not forward, and why")                       \
    X(LI_EV_SUPERVISION_OFF, "supervision_off", "handshake supervision stopped")                   \
    X(LI_EV_LOAD_FAILED_NETWORK, "load_failed_network", "the workspace load could not connect")    \
    X(LI_EV_NETCHECK, "netcheck", "a failed connection, checked by netcheck")                      \
    /* keep-alive: the server lost after the handshake (docs/keep-alive.md) */                     \
    X(LI_EV_SERVER_LOST, "server_lost", "the server was lost; keep-alive takes over")              \
    X(LI_EV_RECONNECT, "reconnect", "a lost connection to the server was made again")              \
    X(LI_EV_RESTART, "restart", "a lost server was started again")                                 \
    X(LI_EV_CRASH_LOOP, "crash_loop", "too many losses in the window: the session ends")           \
    X(LI_EV_KEEPALIVE_OFF, "keepalive_off", "keep-alive stopped for this session, and why")        \
    /* network relays (relay --listen/--connect) */                                                \
    X(LI_EV_ACCEPTED, "accepted", "a peer connected to lsptap's listener")                         \
    X(LI_EV_CONNECTED, "connected", "lsptap's own connection is up")                               \
    X(LI_EV_CONNECT_FAILED, "connect_failed", "lsptap's own connection failed")                    \
    X(LI_EV_TLS, "tls", "a TLS handshake completed")                                               \
    X(LI_EV_TLS_FAILED, "tls_failed", "the TLS handshake with the server failed")                  \
    X(LI_EV_TLS_REFUSED, "tls_refused", "the TLS handshake with the editor failed")                \
    /* the dlv stand-in */                                                                         \
    X(LI_EV_DLV_LISTENING, "dlv_listening", "dlv said where it listens")                           \
    X(LI_EV_DLV_DIALED, "dlv_dialed", "dlv dialed lsptap (--client-addr)")                         \
    X(LI_EV_DLV_EOF, "dlv_eof", "dlv's stream ended")                                              \
    X(LI_EV_LISTENING, "listening", "lsptap listens for the editor")                               \
    X(LI_EV_LISTEN_FAILED, "listen_failed", "lsptap could not listen")                             \
    X(LI_EV_UNAVAILABLE, "unavailable", "dlv could not be started or reached")

enum li_event {
#define LI_EV_ENUM_(e, name, desc) e,
    LI_EVENTS(LI_EV_ENUM_)
#undef LI_EV_ENUM_
        LI_EV_COUNT
};

/* The event's name as written in the session ("exit"); a static string.
 * NULL for a value outside the list. */
const char *li_event_name(enum li_event ev);

/* What the event records, in a few words; a static string, NULL outside the
 * list. */
const char *li_event_desc(enum li_event ev);

#endif
