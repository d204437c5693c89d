#!/usr/bin/env node
// A server that traps the signals named in $PEER_TRAP (comma-separated, e.g.
// "SIGTERM,SIGINT,SIGHUP"; empty: none, so they keep their default action).
// On a trapped signal it writes the signal's name to $PEER_SIGNAL_FILE and
// exits 128+N, as a shell does. It writes "ready" to $PEER_READY once its
// handlers are installed, and otherwise reads stdin and answers nothing.
import fs from 'node:fs';
import os from 'node:os';

for (const name of (process.env.PEER_TRAP || '').split(',').filter(Boolean)) {
  process.on(name, () => {
    fs.writeFileSync(process.env.PEER_SIGNAL_FILE, name);
    process.exit(128 + os.constants.signals[name]);
  });
}
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
fs.writeFileSync(process.env.PEER_READY, 'ready');
