/*
 * lp_dlv_args — dlv's command line, read as dlv's cobra reads it, for the
 * dlv stand-in (proxy/lp_dlv.h): which invocation is a `dlv dap` server
 * session, and where --listen, --log-dest and --client-addr are, so the
 * stand-in can pass on the same flags with its own address.
 */
#ifndef LSPTAP_PROXY_LP_DLV_ARGS_H
#define LSPTAP_PROXY_LP_DLV_ARGS_H

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

#endif
