#!/usr/bin/env node
// A server that writes $PEER_FLOOD_BYTES (default 200 MB) of valid
// notification frames to stdout as fast as the pipe takes them, then writes
// {"bytes":N,"sha256":"..."} of exactly what it wrote to $PEER_REPORT and
// waits for stdin EOF. Progress (bytes handed to the pipe) goes to
// $PEER_REPORT.progress every 100 ms so a test can see it stall.
import crypto from 'node:crypto';
import fs from 'node:fs';

const total = Number(process.env.PEER_FLOOD_BYTES || 200e6);
const report = process.env.PEER_REPORT;
const hash = crypto.createHash('sha256');
let sent = 0;
let frames = 0;
const progress = setInterval(() => fs.writeFileSync(`${report}.progress`, String(sent)), 100);

function frame(i) {
  // Sizes from 1 KiB to 1 MiB, cycling so every run is the same.
  const size = 1024 << i % 11;
  const head = `{"jsonrpc":"2.0","method":"flood/chunk","params":{"i":${i},"pad":"`;
  const tail = '"}}';
  const body = head + 'f'.repeat(size - head.length - tail.length) + tail;
  return Buffer.from(`Content-Length: ${body.length}\r\n\r\n${body}`);
}

while (sent < total) {
  const b = frame(frames++);
  hash.update(b);
  sent += b.length;
  if (!process.stdout.write(b)) await new Promise((r) => process.stdout.once('drain', r));
}
clearInterval(progress);
fs.writeFileSync(`${report}.progress`, String(sent));
fs.writeFileSync(report, JSON.stringify({ bytes: sent, frames, sha256: hash.digest('hex') }));
process.stdin.resume();
process.stdin.on('end', () => process.stdout.end(() => process.exit(0)));
