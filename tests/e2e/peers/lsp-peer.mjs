// The framing the small fake LSP servers here share: send() writes one
// message on stdout; serve() calls onMessage for every whole message read
// from stdin (a handler that returns STOP ends the loop over the chunk at
// hand, for a server that is going away), and the end of stdin exits 0.
export const STOP = Symbol('stop');

export function send(msg) {
  const body = Buffer.from(JSON.stringify(msg));
  process.stdout.write(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]));
}

export function serve(onMessage) {
  let buf = Buffer.alloc(0);
  process.stdin.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const len = Number(/content-length: *(\d+)/i.exec(buf.subarray(0, end).toString('latin1'))[1]);
      if (buf.length < end + 4 + len) return;
      const msg = JSON.parse(buf.subarray(end + 4, end + 4 + len).toString('utf8'));
      buf = buf.subarray(end + 4 + len);
      if (onMessage(msg) === STOP) return;
    }
  });
  process.stdin.on('end', () => process.exit(0));
}
