#!/usr/bin/env node
// An LSP server that drops every connection: it answers `initialize` (any
// id, as a new server would), answers nothing else, and exits 300 ms later.
// Behind `relay --listen -- node drops.mjs` every connection is dropped
// shortly after its handshake: the keep-alive crash-loop test's target.
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
      send({ jsonrpc: '2.0', id: msg.id, result: { capabilities: {}, serverInfo: { name: 'drops' } } });
      setTimeout(() => process.exit(0), 300);
    }
  }
});
process.stdin.on('end', () => process.exit(0));
