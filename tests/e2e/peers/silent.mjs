#!/usr/bin/env node
// A server that reads everything and never answers: requests stay pending.
// Every byte it receives is appended to $PEER_RECORD (when set), so a test
// can wait until its request has arrived. Exits 0 at stdin EOF.
import fs from 'node:fs';

const record = process.env.PEER_RECORD ? fs.openSync(process.env.PEER_RECORD, 'a') : -1;
process.stdin.on('data', (b) => {
  if (record >= 0) fs.writeSync(record, b);
});
process.stdin.on('end', () => process.exit(0));
