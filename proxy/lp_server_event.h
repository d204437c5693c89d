/*
 * lp_server_event — the session event for each event of a server's
 * lifecycle (io/lp_server.h), the same for every relay that runs a server
 * (the gopls relay, the dlv stand-in, `relay --listen ADDR -- CMD`), so that
 * their sessions cannot drift apart (docs/session-format.md, "Event lines").
 */
#ifndef LSPTAP_PROXY_LP_SERVER_EVENT_H
#define LSPTAP_PROXY_LP_SERVER_EVENT_H

#include <jansson.h>

#include "inspect/li_events.h"
#include "io/lp_server.h"

/* "exit" (pid, status, signal, signal_name when a signal ended it),
 * "terminate" (signal as a name, after_ms), and for LP_SERVER_DRAIN
 * "orphans_killed" (pgid), which the owner writes only when it kills what is
 * left of the group. Sets *name; returns the fields (a new reference, NULL
 * when out of memory) for the owner to add to and write. */
json_t *lp_server_event_fields(const struct lp_server_event *ev, enum li_event *name);

#endif
