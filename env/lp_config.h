/*
 * lp_config — lsptap's settings: environment first, then
 * $XDG_CONFIG_HOME/lsptap/config.json, then the documented defaults
 * (docs/configuration.md). Loaded once per process; read-only afterwards.
 */
#ifndef LSPTAP_ENV_LP_CONFIG_H
#define LSPTAP_ENV_LP_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "inspect/li_session.h"

struct lp_config {
    char gopls[4096];      /* LSPTAP_GOPLS / "gopls"; "" = search */
    char dlv[4096];        /* LSPTAP_DLV / "dlv"; "" = search */
    char dir[4096];        /* LSPTAP_DIR / "dir": session directory */
    enum li_record record; /* LSPTAP_RECORD / "record": full|meta|off */
    uint64_t max_total;    /* LSPTAP_MAX_TOTAL_MB / "max_total_mb": rotation cap, bytes */
    uint64_t log_buffer;   /* LSPTAP_LOG_BUFFER_KB / "log_buffer_kb": queued lines cap */
    uint64_t max_inspect;  /* LSPTAP_MAX_INSPECT_MB / "max_inspect_mb" */
    uint64_t grace_ms;     /* LSPTAP_GRACE_MS / "grace_ms": editor EOF -> SIGTERM */
    uint64_t kill_ms;      /* LSPTAP_KILL_MS / "kill_ms": SIGTERM -> SIGKILL */
    uint64_t dlv_start_ms; /* LSPTAP_DLV_START_MS / "dlv_start_ms": wait for dlv's line */
    int repair;            /* LSPTAP_REPAIR / "repair": on|off, restart gopls with a repaired env */
    int dlv_allow_remote;  /* LSPTAP_DLV_ALLOW_REMOTE / "dlv_allow_remote": on|off, let the dlv
                              stand-in listen on a non-loopback --listen address */
    uint64_t handshake_ms; /* LSPTAP_HANDSHAKE_MS / "handshake_ms": load-failure window */
    uint64_t init_timeout_ms; /* LSPTAP_INIT_TIMEOUT_MS / "init_timeout_ms": initialize answer */
    char fail_patterns[1024]; /* LSPTAP_FAIL_PATTERNS / "fail_patterns": '|'-separated */
    size_t high_mark;         /* LSPTAP_HIGH_KB / "high_kb": stop reading above */
    size_t low_mark;          /* LSPTAP_LOW_KB / "low_kb": resume below */
    char config_path[4096];   /* the file consulted (may not exist) */
    int config_found;         /* the file existed and parsed */
    /* What gopls failed to reach (docs/netcheck.md, "gopls's own connections"):
     * LSPTAP_NET_WATCH / "net_watch" on|off, netcheck the targets;
     * LSPTAP_NET_SHOW / "net_show" on|off, tell the editor (showMessage);
     * LSPTAP_NET_RECHECK_S / "net_recheck_s", a target is checked again
     * only this many seconds after its last check. */
    int net_watch;
    int net_show;
    uint64_t net_recheck_s;
    /* Keeping the session alive when the server is lost (docs/keep-alive.md):
     * LSPTAP_KEEPALIVE / "keepalive" on|off;
     * LSPTAP_KEEPALIVE_MAX_MB / "keepalive_max_mb", the tracker's cap, bytes;
     * LSPTAP_RESTART_MAX / "restart_max", restarts or reconnections allowed
     * within LSPTAP_RESTART_WINDOW_S / "restart_window_s" seconds;
     * LSPTAP_RECONNECT_MS / "reconnect_ms", how long a lost connection is
     * retried (with backoff) before the session ends. */
    int keepalive;
    uint64_t keepalive_max;
    uint64_t restart_max;
    uint64_t restart_window_s;
    uint64_t reconnect_ms;
};

/* Fills c. Problems in the file or in a variable (unparsable number, unknown
 * record mode, malformed JSON) are written to `warn` (one sentence each,
 * naming the source and the value; "" when none) and the default is kept:
 * a bad setting must never stop the editor's language server. */
void lp_config_load(struct lp_config *c, char *warn, size_t warnlen);

/* The file step of lp_config_load on buf[0..len) instead of the file:
 * applies its settings over those already in c (whose config_path names the
 * source in warnings), appending problems to `warn` (NUL-terminated, at most
 * warnlen - 1 characters) as lp_config_load does. For tests and fuzzing. */
void lp_config_parse(struct lp_config *c, const char *buf, size_t len, char *warn, size_t warnlen);

/* "full", "meta", "off" */
const char *lp_record_name(enum li_record r);

#endif
