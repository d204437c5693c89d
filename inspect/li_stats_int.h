/*
 * li_stats_int — private to li_stats.c (reading a session into counts) and
 * li_stats_render.c (the report as a table and as JSON): the report's state
 * and the two judgements both need. Calls go one way: li_stats_render.c reads
 * what li_stats.c built.
 */
#ifndef LSPTAP_INSPECT_LI_STATS_INT_H
#define LSPTAP_INSPECT_LI_STATS_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "inspect/li_stats.h"

struct row {
    char *name;
    int is_event; /* a DAP event, kept apart from a command of the same name */
    uint64_t requests, notifications, replies, errors, cancelled, bytes;
    int64_t *lat;
    size_t nlat, cap;
};

struct pend {
    int dir; /* 0 c2s, 1 s2c: the direction the request travelled */
    char *method;
    char *id; /* JSON text */
    uint64_t t_us;
    int64_t age_us;
    int cancelled;
    const char *session; /* merged reports: the file it was pending in (owned by parts) */
};

struct plist {
    struct pend *v;
    size_t n, cap;
};

/* One of the last messages each way, for the ending. */
struct lastmsg {
    uint64_t t_us;
    char kind[16];
    char name[128];
    char id[64];
    int error;
};

#define LAST_KEPT 5

struct li_stats {
    char *source;
    char protocol[8];
    struct row *rows;
    size_t nrows, caprows;
    struct plist pending; /* from "pending" events */
    struct plist open;    /* requests without a reply line, for a session without summary */
    json_t *summary;
    json_t *header;
    json_t *parts; /* merged reports: one brief per session file; NULL for one file */
    json_t *exit;
    json_t *warnings;
    json_t *spawn_failed;              /* the spawn_failed event, if any */
    json_t *netchecks;                 /* netcheck events: what gopls failed to reach */
    json_t *keepalive;                 /* keep-alive's events (docs/keep-alive.md) */
    int64_t editor_left_us;            /* editor_eof / editor_gone, -1 when neither */
    const char *editor_left;           /* which of the two came first */
    int terminated;                    /* lsptap sent SIGTERM/SIGKILL after the editor left */
    char terminate_signal[16];         /* the last one it sent */
    int said_shutdown, said_exit;      /* the editor's shutdown request, exit notification
                                          (DAP: disconnect) */
    struct lastmsg last[2][LAST_KEPT]; /* ring per direction */
    size_t nlast[2];                   /* messages seen per direction (ring position) */
    uint64_t last_t_us;
    uint64_t messages[2], bytes[2], invalid, framing_errors, lines;
};

/* The requests unanswered at the end: the summary's "pending" events when
 * the session has a summary, else the requests without a reply line. */
const struct plist *li_stats_final_pending(const struct li_stats *st);

/* How the session ended (new reference): {"how": normal | editor_gone |
 * server_exited | server_killed | spawn_failed | killed_after_exit |
 * unfinished | unknown, "summary": one sentence a user understands,
 * "abnormal", "status", "signal", "pending", "stderr_tail", "last"}. */
json_t *li_stats_ending(const struct li_stats *st);

#endif
