#!/usr/bin/env node
// A gopls that answers initialize, reports go's failure to reach
// $PEER_PROXY (a window/logMessage type 1 in gopls's words, and the header
// and first half of the next frame in the same write), then waits
// $PEER_PAUSE_MS (default 3000) before it sends the rest of that frame.
// All that starts $PEER_DELAY_MS (default 0) after `initialized`.
// lsptap's diagnosis is ready long before: it must wait for the frame's
// end. Then it answers requests with null until `exit` or stdin's end.
import process from 'node:process';

const frame = (o) => {
  const b = JSON.stringify(o);
  return `Content-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`;
};
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
    process.stdout.write(frame({ jsonrpc: '2.0', id: msg.id, result: { capabilities: {}, serverInfo: { name: 'fake-gopls', version: '1' } } }));
  } else if (msg.method === 'initialized') {
    const proxy = process.env.PEER_PROXY;
    const log = frame({ jsonrpc: '2.0', method: 'window/logMessage', params: { type: 1,
      message: `2026/12/06 10:52:13 errors loading workspace: 1 modules have errors:\n\texample.com/app:example.org/dep@v1.0.0: Get "http://${proxy}/example.org/dep/@v/v1.0.0.mod": dial tcp ${proxy}: connect: connection refused\n` } });
    const big = frame({ jsonrpc: '2.0', method: 'window/logMessage', params: { type: 3, message: 'x'.repeat(200000) } });
    const half = Math.floor(big.length / 2);
    setTimeout(() => {
      process.stdout.write(log + big.slice(0, half));
      setTimeout(() => process.stdout.write(big.slice(half)), Number(process.env.PEER_PAUSE_MS || 3000));
    }, Number(process.env.PEER_DELAY_MS || 0));
  } else if (msg.method === 'exit') {
    process.exit(0);
  } else if ('id' in msg && msg.method) {
    process.stdout.write(frame({ jsonrpc: '2.0', id: msg.id, result: null }));
  }
}
