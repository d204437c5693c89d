#!/usr/bin/env node
// A server that closes its stdin at once (writes to it then fail with
// EPIPE), writes "ready" to $PEER_READY, and exits with status $PEER_EXIT
// (default 0) after $PEER_LINGER_MS (default 1500) ms.
import fs from 'node:fs';

fs.closeSync(0);
fs.writeFileSync(process.env.PEER_READY, 'ready');
setTimeout(() => process.exit(Number(process.env.PEER_EXIT || 0)), Number(process.env.PEER_LINGER_MS || 1500));
