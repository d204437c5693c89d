#include "inspect/li_events.h"

#include <stddef.h>

#define LI_EV_NAME_(e, name, desc) [e] = name,
static const char *const names[LI_EV_COUNT] = {LI_EVENTS(LI_EV_NAME_)};
#undef LI_EV_NAME_

#define LI_EV_DESC_(e, name, desc) [e] = desc,
static const char *const descs[LI_EV_COUNT] = {LI_EVENTS(LI_EV_DESC_)};
#undef LI_EV_DESC_

const char *li_event_name(enum li_event ev)
{
    return (unsigned)ev < LI_EV_COUNT ? names[ev] : NULL;
}

const char *li_event_desc(enum li_event ev)
{
    return (unsigned)ev < LI_EV_COUNT ? descs[ev] : NULL;
}
