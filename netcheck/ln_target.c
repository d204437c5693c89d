/*
 * The target's defaults, and its HOST:PORT (ln_hostport's strict form).
 */
#include <string.h>

#include "netcheck/ln.h"
#include "netcheck/ln_hostport.h"

void ln_target_init(struct ln_target *t)
{
    memset(t, 0, sizeof(*t));
    t->probe = LN_PROBE_LSP;
    t->timeout_ms = 3000;
}

int ln_target_parse(struct ln_target *t, const char *hp, char *err, size_t errlen)
{
    return ln_hostport_parse(hp, strlen(hp), LN_HP_TLS_OPTION, t->host, sizeof t->host, &t->port,
                             err, errlen);
}
