#include "proxy/lp_server_event.h"

#include <signal.h>
#include <string.h>

json_t *lp_server_event_fields(const struct lp_server_event *ev, enum li_event *name)
{
    json_t *f = NULL;
    switch (ev->type) {
    case LP_SERVER_EXIT:
        *name = LI_EV_EXIT;
        f = json_pack("{s:i, s:I}", "pid", ev->pid, "status", (json_int_t)ev->status);
        json_object_set_new(f, "signal", ev->signal ? json_integer(ev->signal) : json_null());
        if (ev->signal) json_object_set_new(f, "signal_name", json_string(strsignal(ev->signal)));
        break;
    case LP_SERVER_TERMINATE:
        *name = LI_EV_TERMINATE;
        f = json_pack("{s:s, s:I}", "signal", ev->signal == SIGKILL ? "SIGKILL" : "SIGTERM",
                      "after_ms", (json_int_t)ev->after_ms);
        break;
    case LP_SERVER_DRAIN:
        *name = LI_EV_ORPHANS_KILLED;
        f = json_pack("{s:i}", "pgid", ev->pid);
        break;
    }
    return f;
}
