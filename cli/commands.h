/*
 * The `lsptap <command>` entry points. Each takes the arguments after the
 * command name (argv[0] is the command) and returns the process exit code.
 */
#ifndef LSPTAP_CLI_COMMANDS_H
#define LSPTAP_CLI_COMMANDS_H

int cmd_gopls(int argc, char **argv, const char *self); /* the gopls stand-in */
int cmd_dlv(int argc, char **argv, const char *self);   /* the dlv stand-in */
int cmd_stats(int argc, char **argv);                   /* lsptap stats SESSION... */
int cmd_netcheck(int argc, char **argv); /* lsptap netcheck HOST:PORT [options] */

#endif
