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

/* Runs the stand-in; returns the exit code or exec's the real dlv. */
int lp_dlv_main(int argc, char **argv);

#endif
