/*
 * li_export — a session file written out in other tools' formats.
 *
 * Inspector: the text gopls writes with -rpc.trace (and VS Code's
 * "trace.server": "verbose" resembles), which the LSP Inspector and
 * existing scripts read. One entry per message, from the editor's point
 * of view (c2s "Sending", s2c "Received"), each ending in "\r\n\r\n\r\n":
 *
 *   [Trace - 15:04:05.000 PM] Sending request 'textDocument/hover - (3)'.
 *   Params: {"textDocument":...}
 *   [Trace - 15:04:05.412 PM] Received response 'textDocument/hover - (3)' in 412ms.
 *   Result: {"contents":...}
 *   [Trace - ...] Received response 'x - (5)' in 9ms. Request failed: cancelled (-32800).
 *   [Trace - ...] Received notification 'window/logMessage'.
 *   Params: {...}
 *
 * The clock is gopls's layout "15:04:05.000 PM" (24-hour hour, then the
 * AM/PM marker) in local time: the header's start time plus the message's
 * t_us. A string id is written without quotes, as gopls does.
 *
 * jsonrpc: the raw framed stream of one direction, reframed from the
 * recorded bodies ("Content-Length: N\r\n\r\n" + body), for piping into a
 * server by hand. Bodies are written as jansson serialises them (compact,
 * keys in recorded order); an invalid message is written as its recorded
 * bytes.
 */
#ifndef LSPTAP_INSPECT_LI_EXPORT_H
#define LSPTAP_INSPECT_LI_EXPORT_H

#include <stddef.h>
#include <stdio.h>

/* Both return 0; 2 when the file cannot be read, is not a session file,
 * or has nothing to export (a DAP session for inspector, a session
 * recorded without bodies), with err saying which; 1 on a write error.
 * Messages that cannot be exported (no body: over the inspection cap;
 * invalid ones for inspector) are skipped and counted on `warn`. */
int li_export_inspector(const char *path, FILE *out, FILE *warn, char *err, size_t errlen);
int li_export_jsonrpc(const char *path, int s2c, FILE *out, FILE *warn, char *err, size_t errlen);

#endif
