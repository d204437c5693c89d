#!/usr/bin/env node
// A scripted LSP server with known latencies, for the stats tests. For each
// request: method "test/fail" gets an error reply, "test/never" no reply,
// anything else {"result": {"echo": method}} after params.delayMs (default
// 0). Notifications are ignored. Exits 0 at stdin EOF, once its pending
// replies are written.
let buf = Buffer.alloc(0);
let timers = 0;
let eof = false;

function send(msg) {
  const body = Buffer.from(JSON.stringify(msg));
  process.stdout.write(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]));
}

function handle(msg) {
  if (!('id' in msg) || !msg.method) return;
  if (msg.method === 'test/never') return;
  if (msg.method === 'test/fail') {
    send({ jsonrpc: '2.0', id: msg.id, error: { code: -32603, message: 'scripted failure' } });
    return;
  }
  timers++;
  setTimeout(() => {
    send({ jsonrpc: '2.0', id: msg.id, result: { echo: msg.method } });
    timers--;
    maybeExit();
  }, (msg.params && msg.params.delayMs) || 0);
}

function maybeExit() {
  if (eof && timers === 0) process.stdout.end(() => process.exit(0));
}

process.stdin.on('data', (chunk) => {
  buf = Buffer.concat([buf, chunk]);
  for (;;) {
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const m = /content-length: *(\d+)/i.exec(buf.subarray(0, end).toString('latin1'));
    const len = Number(m[1]);
    if (buf.length < end + 4 + len) return;
    handle(JSON.parse(buf.subarray(end + 4, end + 4 + len).toString('utf8')));
    buf = buf.subarray(end + 4 + len);
  }
});
process.stdin.on('end', () => {
  eof = true;
  maybeExit();
});
