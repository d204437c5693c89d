/* The stand-ins: thin wrappers over proxy/. */
#include "cli/commands.h"
#include "env/lp_config.h"
#include "proxy/lp_dlv.h"
#include "proxy/lp_gopls.h"
#include "proxy/lp_netrelay.h"

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

int cmd_relay(int argc, char **argv)
{
    return lp_netrelay_main(argc, argv);
}
