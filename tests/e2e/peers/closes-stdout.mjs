#!/usr/bin/env node
// An LSP server that closes its stdout and keeps running, once: it answers
// `initialize`; the first time a `textDocument/hover` arrives (PEER_MARK
// does not exist yet) it creates PEER_MARK, writes its pid there, closes
// its stdout and then sleeps (it never exits by itself). Later instances
// answer a hover with {"contents": "answered by a new server"}.
import fs from 'node:fs';

const mark = process.env.PEER_MARK;
let buf = Buffer.alloc(0);

function send(msg) {
  const body = Buffer.from(JSON.stringify(msg));
  process.stdout.write(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]));
}

process.stdin.on('data', (chunk) => {
  buf = Buffer.concat([buf, chunk]);
  for (;;) {
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const len = Number(/content-length: *(\d+)/i.exec(buf.subarray(0, end).toString('latin1'))[1]);
    if (buf.length < end + 4 + len) return;
    const msg = JSON.parse(buf.subarray(end + 4, end + 4 + len).toString('utf8'));
    buf = buf.subarray(end + 4 + len);
    if (msg.method === 'initialize') {
      send({ jsonrpc: '2.0', id: msg.id, result: { capabilities: { hoverProvider: true }, serverInfo: { name: 'closes-stdout' } } });
    } else if (msg.method === 'textDocument/hover') {
      if (!fs.existsSync(mark)) {
        fs.writeFileSync(mark, `${process.pid}\n`);
        fs.closeSync(1);
        setInterval(() => {}, 1000);
        return;
      }
      send({ jsonrpc: '2.0', id: msg.id, result: { contents: 'answered by a new server' } });
    } else if (msg.method === 'shutdown') {
      send({ jsonrpc: '2.0', id: msg.id, result: null });
    } else if (msg.method === 'exit') {
      process.exit(0);
    }
  }
});
process.stdin.on('end', () => process.exit(0));
