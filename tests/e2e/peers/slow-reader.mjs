#!/usr/bin/env node
// A server that reads its stdin slowly: it does not read at all for the
// first $PEER_PAUSE_MS (default 2000) ms, then again for that long each time
// another $PEER_PAUSE_EVERY bytes (default 32 MB) arrived. At stdin EOF it
// writes {"bytes":N,"sha256":"..."} of what it read to $PEER_REPORT and
// exits 0. It writes nothing to stdout.
import crypto from 'node:crypto';
import fs from 'node:fs';

const pauseMs = Number(process.env.PEER_PAUSE_MS || 2000);
const every = Number(process.env.PEER_PAUSE_EVERY || 32 << 20);
const hash = crypto.createHash('sha256');
let got = 0;
let next = every;
let pauses = 0;

function pause() {
  pauses++;
  process.stdin.pause();
  setTimeout(() => process.stdin.resume(), pauseMs);
}

process.stdin.on('data', (b) => {
  hash.update(b);
  got += b.length;
  if (got >= next) {
    next += every;
    pause();
  }
});
process.stdin.on('end', () => {
  fs.writeFileSync(process.env.PEER_REPORT, JSON.stringify({ bytes: got, sha256: hash.digest('hex'), pauses }));
  process.exit(0);
});
pause();
