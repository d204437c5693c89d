#!/usr/bin/env node
// A dlv that fails at start, as dlv does when it cannot build or launch:
// one error line on stderr, then exit status $PEER_STATUS (default 3),
// without ever printing its "DAP server listening at:" line.
process.stderr.write(`could not launch process: simulated failure (args: ${process.argv.slice(2).join(' ')})\n`);
process.exitCode = Number(process.env.PEER_STATUS || 3);
