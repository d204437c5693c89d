/* The stand-ins: thin wrappers over proxy/. */
#include "cli/commands.h"
#include "proxy/lp_config.h"
#include "proxy/lp_gopls.h"

int cmd_gopls(int argc, char **argv, const char *self)
{
    (void)self;
    return lp_gopls_main(argc, argv);
}

/* The DAP-aware dlv stand-in is not built yet: until it is, every dlv
 * invocation runs the real dlv unchanged, so installing the link is safe. */
int cmd_dlv(int argc, char **argv, const char *self)
{
    (void)argc;
    (void)self;
    char warn[1024];
    struct lp_config cfg;
    lp_config_load(&cfg, warn, sizeof warn);
    return lp_exec_tool("dlv", cfg.dlv, "LSPTAP_DLV", argv);
}
