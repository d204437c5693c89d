/*
 * lp_dlv — the dlv stand-in (docs/design.md proxy/, vscode-go's dlv facts).
 *
 * `dlv dap --listen=ADDR [flags]`: the real dlv is started with the same
 * flags on 127.0.0.1:0; once it prints "DAP server listening at: A", lsptap
 * listens on ADDR itself, prints the same line with its own address (on
 * stdout, and on fd N when --log-dest=N), accepts the editor's connection,
 * connects to A and relays it with DAP inspection and a recorded session.
 * When dlv exits first, never says where it listens, or cannot be reached,
 * lsptap still listens and answers the editor's DAP requests with
 * success:false and the cause in one sentence, so VS Code shows the reason
 * instead of "connection timeout". Every other invocation is exec'ed.
 */
#ifndef LSPTAP_PROXY_LP_DLV_H
#define LSPTAP_PROXY_LP_DLV_H

struct lp_dlv_args {
    int is_dap;         /* a `dlv dap` server session lsptap relays */
    int listen_arg;     /* index of the --listen argument (value inside or next), -1 none */
    int listen_inline;  /* the value is inside argv[listen_arg] after '=' */
    const char *listen; /* the address the editor asked for (default 127.0.0.1:0) */
    int log_arg;        /* index of --log-dest, -1 none */
    int log_inline;
    const char *log_dest;    /* --log-dest value or NULL */
    int log_fd;              /* the fd when log_dest is a number, else -1 */
    const char *client_addr; /* --client-addr (reverse mode: dlv dials the editor), or NULL */
    int client_arg;          /* index of --client-addr, -1 none */
    int client_inline;
};

/* Parses dlv's command line (cobra style: flags anywhere, "--f=v" or
 * "--f v"). is_dap is 0 for help requests and every non-dap command. */
void lp_dlv_parse(int argc, char **argv, struct lp_dlv_args *a);

/* Runs the stand-in; returns the exit code or exec's the real dlv. */
int lp_dlv_main(int argc, char **argv);

#endif
