#!/usr/bin/env node
// A gopls that reports go's failure to reach $PEER_PROXY twice: as a
// window/logMessage type 1 at `initialized`, and as the error reply to every
// textDocument/hover (as gopls answers a request it cannot serve). Other
// requests get null; `exit` or stdin's end ends it.
import process from 'node:process';

const frame = (o) => {
  const b = JSON.stringify(o);
  return `Content-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`;
};
const failure = () => `example.com/app:example.org/dep@v1.0.0: Get "http://${process.env.PEER_PROXY}/example.org/dep/@v/v1.0.0.mod": dial tcp ${process.env.PEER_PROXY}: connect: connection refused`;
let buf = Buffer.alloc(0);
process.stdin.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  for (;;) {
    const h = buf.indexOf('\r\n\r\n');
    if (h < 0) return;
    const len = Number(/Content-Length: (\d+)/i.exec(buf.subarray(0, h).toString())[1]);
    if (buf.length < h + 4 + len) return;
    const msg = JSON.parse(buf.subarray(h + 4, h + 4 + len).toString());
    buf = buf.subarray(h + 4 + len);
    handle(msg);
  }
});
process.stdin.on('end', () => process.exit(0));

function handle(msg) {
  if (msg.method === 'initialize') {
    process.stdout.write(frame({ jsonrpc: '2.0', id: msg.id, result: { capabilities: { hoverProvider: true }, serverInfo: { name: 'fake-gopls', version: '1' } } }));
  } else if (msg.method === 'initialized') {
    process.stdout.write(frame({ jsonrpc: '2.0', method: 'window/logMessage', params: { type: 1, message: `2026/12/06 10:52:13 errors loading workspace: 1 modules have errors:\n\t${failure()}\n` } }));
  } else if (msg.method === 'textDocument/hover') {
    process.stdout.write(frame({ jsonrpc: '2.0', id: msg.id, error: { code: 0, message: `no package metadata: ${failure()}` } }));
  } else if (msg.method === 'exit') {
    process.exit(0);
  } else if ('id' in msg && msg.method) {
    process.stdout.write(frame({ jsonrpc: '2.0', id: msg.id, result: null }));
  }
}
