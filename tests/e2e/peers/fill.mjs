#!/usr/bin/env node
// A server that writes notification frames to stdout, one at a time, until
// one write has not completed for 300 ms (its reader stopped reading and the
// pipe is full). Then it writes {"bytes":N,"sha256":"..."} of exactly what
// the pipe took (the completed frames and the part of the stalled one the
// kernel accepted) to $PEER_REPORT and exits 0, leaving those bytes unread
// in the pipe.
import crypto from 'node:crypto';
import fs from 'node:fs';

const max = Number(process.env.PEER_MAX_BYTES || 256 << 20);
const hash = crypto.createHash('sha256');
let bytes = 0;

function frame(i) {
  const body = JSON.stringify({ jsonrpc: '2.0', method: 'fill/chunk', params: { i, pad: 'f'.repeat(4000) } });
  return Buffer.from(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

for (let i = 0; bytes < max; i++) {
  const f = frame(i);
  const done = new Promise((r) => process.stdout.write(f, () => r(true)));
  const ok = await Promise.race([done, new Promise((r) => setTimeout(() => r(false), 300))]);
  if (ok) {
    hash.update(f);
    bytes += f.length;
    continue;
  }
  // Stalled: libuv's queue holds what the kernel has not taken yet.
  const taken = f.length - process.stdout._handle.writeQueueSize;
  hash.update(f.subarray(0, taken));
  bytes += taken;
  break;
}
fs.writeFileSync(process.env.PEER_REPORT, JSON.stringify({ bytes, sha256: hash.digest('hex') }));
process.exit(0);
