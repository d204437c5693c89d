/* The stand-ins: thin wrappers over proxy/. */
#include "cli/commands.h"
#include "proxy/lp_config.h"
#include "proxy/lp_dlv.h"
#include "proxy/lp_gopls.h"

int cmd_gopls(int argc, char **argv, const char *self)
{
    (void)self;
    return lp_gopls_main(argc, argv);
}

int cmd_dlv(int argc, char **argv, const char *self)
{
    (void)self;
    return lp_dlv_main(argc, argv);
}
