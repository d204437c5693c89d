/*
 * lp_gopls — the gopls stand-in (docs/design.md proxy/).
 *
 * A server invocation (no subcommand, or `serve`, with any gopls flags) is
 * relayed over stdio through lp_relay with a recorded session; anything
 * else is exec'ed so stdout, stderr and the exit status are gopls's own.
 */
#ifndef LSPTAP_PROXY_LP_GOPLS_H
#define LSPTAP_PROXY_LP_GOPLS_H

/* 1 when gopls, given argv[1..argc), would run a server (on stdio, or on
 * a socket with -listen); 0 for any subcommand or help request. */
int lp_gopls_is_server(int argc, char **argv);

/* Finds gopls's flag `flag` ("remote", "listen") before any "--": 1 with
 * its argv index, whether the value is inside the argument (-f=v), and the
 * value; 0 when absent. The last occurrence wins, as in Go's flag package. */
int lp_gopls_flag(int argc, char **argv, const char *flag, int *index, int *inline_value,
                  const char **value);

/* Runs the stand-in; argv[0] is how we were invoked. Returns the exit code
 * (or does not return, having exec'ed the real gopls). */
int lp_gopls_main(int argc, char **argv);

/* Runs `tool` (found as lp_find_tool does) with argv, replacing this
 * process. Returns only on failure, with the exit code (127) after telling
 * stderr why. */
int lp_exec_tool(const char *tool, const char *configured, const char *from, char **argv);

#endif
