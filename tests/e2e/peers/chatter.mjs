#!/usr/bin/env node
// A server that writes notification frames to stdout without pause, as fast
// as the pipe takes them, whatever happens to its reader, and writes the
// byte count handed to the pipe to $PEER_PROGRESS (each MiB and at the end).
// At stdin EOF it exits with status $PEER_EXIT (default 0). A failed write
// (EPIPE) is ignored: the server keeps going until its stdin closes.
import fs from 'node:fs';

let sent = 0;
let stop = false;
const progress = () => process.env.PEER_PROGRESS && fs.writeFileSync(process.env.PEER_PROGRESS, String(sent));
process.stdout.on('error', () => {});
process.stdin.resume();
process.stdin.on('end', () => {
  stop = true;
  progress();
  process.exit(Number(process.env.PEER_EXIT || 0));
});

const body = JSON.stringify({ jsonrpc: '2.0', method: 'chatter/tick', params: { pad: 'c'.repeat(16 * 1024) } });
const frame = Buffer.from(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
while (!stop) {
  const mib = sent >> 20;
  sent += frame.length;
  if (sent >> 20 !== mib) progress();
  if (!process.stdout.write(frame)) await new Promise((r) => process.stdout.once('drain', r));
  else await new Promise((r) => setImmediate(r));
}
