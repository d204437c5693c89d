// Deterministic byte streams of Content-Length frames for the byte-exactness
// tests: every size from empty to 1 MiB, every header shape the framing
// accepts, then the malformed cases, each followed by a marker frame that
// proves the stream kept flowing. The generator also says what a correct
// session file must show for the stream.
import crypto from 'node:crypto';

// mulberry32: small, fast, and the same sequence for the same seed.
export function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));
  return { next, int, pick: (arr) => arr[int(0, arr.length - 1)], chance: (p) => next() < p };
}

export const HEADER_SHAPES = [
  (n) => `Content-Length: ${n}\r\n\r\n`,
  (n) => `content-length: ${n}\r\n\r\n`,
  (n) => `CONTENT-LENGTH: ${n}\r\n\r\n`,
  (n) => `Content-Length: ${n}\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n`,
  (n) => `Content-Type: application/vscode-jsonrpc; charset=utf8\r\nContent-Length: ${n}\r\n\r\n`,
  (n) => `Content-Length: ${n}\r\nX-Lsptap-Test: an extra header\r\n\r\n`,
  (n) => `X-Lsptap-Test: first\r\ncontent-length: ${n}\r\ncontent-type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n`,
];

// Text that must not confuse a framer: a header lookalike, escapes and
// multi-byte UTF-8 of every width.
const PAD_PIECES = ['Content-Length: 12\\r\\n\\r\\n', '\\"quoted\\"', '\\\\', 'é', '€', '😀', ' ', '{}[]:,'];

// Fills `n` bytes of JSON string content (without the quotes).
function pad(rng, n) {
  const parts = [];
  let left = n;
  while (left > 64) {
    const p = rng.pick(PAD_PIECES);
    const len = Buffer.byteLength(p);
    const run = rng.int(1, Math.min(4096, left - 32));
    const a = 'abcdefghijklmnopqrstuvwxyz'[rng.int(0, 25)].repeat(run);
    parts.push(a, p);
    left -= run + len;
  }
  parts.push('x'.repeat(left));
  return parts.join('');
}

// A JSON-RPC message body of exactly `n` bytes (n >= 100).
function messageBody(rng, n, kind, id, method) {
  let head;
  let tail;
  if (kind === 'request') {
    head = `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"method":"${method}","params":{"pad":"`;
    tail = '"}}';
  } else if (kind === 'notification') {
    head = `{"jsonrpc":"2.0","method":"${method}","params":{"pad":"`;
    tail = '"}}';
  } else if (kind === 'response') {
    head = `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":{"pad":"`;
    tail = '"}}';
  } else {
    head = `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"error":{"code":-32601,"message":"`;
    tail = '"}}';
  }
  const body = head + pad(rng, n - Buffer.byteLength(head) - Buffer.byteLength(tail)) + tail;
  if (Buffer.byteLength(body) !== n) throw new Error(`body size ${Buffer.byteLength(body)} != ${n}`);
  return body;
}

// Sizes that cross every boundary a framer or a buffer may have.
const EDGE_SIZES = [0, 1, 2, 7, 63, 64, 100, 127, 128, 1000, 4095, 4096, 4097, 8191, 8192, 65535, 65536, 65537, 262144, 1 << 20];

// Builds a stream of about `target` bytes. `side` ("c2s"/"s2c") goes into
// methods and ids so a frame delivered to the wrong side stands out.
// Returns { buf, messages, badRegions, markers } where messages lists the
// JSON-RPC messages in order ({kind, method, id}) as the session file must
// show them, and badRegions the [start, end) byte ranges that must produce
// a framing error.
export function makeStream(seed, side, target) {
  const rng = prng(seed);
  const chunks = [];
  let off = 0;
  const messages = [];
  const badRegions = [];
  let seq = 0;
  const push = (s) => {
    const b = Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8');
    chunks.push(b);
    off += b.length;
  };
  const frame = (body, shape = rng.pick(HEADER_SHAPES)) => {
    const b = Buffer.from(body, 'utf8');
    push(shape(b.length));
    push(b);
  };
  const message = (n) => {
    const kind = rng.pick(['request', 'notification', 'response', 'error']);
    const id = rng.chance(0.3) ? `${side}-${seq}` : seq;
    seq++;
    const method = `${side}/m${rng.int(0, 9)}`;
    frame(messageBody(rng, n, kind, id, method));
    const lineKind = kind === 'error' ? 'response' : kind;
    messages.push({ kind: lineKind, method: lineKind === 'response' ? undefined : method, id: kind === 'notification' ? undefined : id });
  };
  const small = (n) => {
    // Too small for a message: valid JSON that is no JSON-RPC message (or
    // nothing at all); the session shows it as "invalid".
    frame(n === 0 ? '' : '1'.repeat(n));
  };

  const sizes = [...EDGE_SIZES];
  for (const n of sizes) (n < 100 ? small : message)(n);
  while (off < target) {
    const n = rng.chance(0.85) ? rng.int(100, 2000) : rng.chance(0.8) ? rng.int(2000, 100000) : rng.int(100000, 1 << 20);
    message(n);
  }

  const marker = (after) => {
    const body = `{"jsonrpc":"2.0","method":"lsptap/resync","params":{"after":"${after}","side":"${side}"}}`;
    frame(body, HEADER_SHAPES[0]);
    messages.push({ kind: 'notification', method: 'lsptap/resync', id: undefined });
  };
  const bad = (what, bytes) => {
    const start = off;
    push(bytes);
    badRegions.push({ what, start, end: off });
    marker(what);
  };
  bad('non-digit length', 'Content-Length: abc\r\n\r\n{"jsonrpc":"2.0","method":"lost"}');
  bad('negative length', 'Content-Length: -5\r\n\r\n');
  bad('length too large', 'Content-Length: 99999999999999999999\r\n\r\n{}');
  bad('missing length', 'Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{"jsonrpc":"2.0","method":"lost"}');
  const garbage = Buffer.alloc(3000);
  for (let i = 0; i < garbage.length; i++) garbage[i] = rng.int(0, 255);
  // Random bytes never spell a header name, but make sure.
  if (/content-length/i.test(garbage.toString('latin1'))) garbage.fill(0x2a);
  bad('garbage', Buffer.concat([Buffer.from('hello, this is no frame\r\n'), garbage, Buffer.from('\r\n\r\n')]));
  bad('header block too big', `Content-Length: 2\r\nX-Big: ${'b'.repeat(9000)}\r\n\r\n{}`);
  // A frame whose body is not JSON is a message the session calls invalid,
  // not a framing error; the next frame follows as usual.
  frame('this is not json {', HEADER_SHAPES[0]);
  marker('non-JSON body');
  // Last: a length that runs past the end of the stream.
  const start = off;
  push('Content-Length: 1000000\r\n\r\n{"jsonrpc":"2.0","method":"cut short"');
  badRegions.push({ what: 'length past end of stream', start, end: off });

  const buf = Buffer.concat(chunks);
  return { buf, messages, badRegions };
}

export function digest(buf) {
  return { length: buf.length, sha256: crypto.createHash('sha256').update(buf).digest('hex') };
}

// First offset where a and b differ, or -1.
export function firstDifference(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

function drainOrClose(stream) {
  return new Promise((res) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      res();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

// Writes buf to a stream in chunks of random size (1 byte to 256 KiB),
// honouring backpressure and yielding to the event loop now and then so the
// chunks really arrive as separate reads.
export async function writeChopped(stream, buf, rng) {
  let off = 0;
  let n = 0;
  while (off < buf.length) {
    const r = rng.next();
    const size = r < 0.45 ? rng.int(1, 16) : r < 0.9 ? rng.int(17, 4096) : rng.int(4097, 262144);
    const chunk = buf.subarray(off, Math.min(buf.length, off + size));
    off += chunk.length;
    if (stream.destroyed || stream.writableEnded) throw new Error(`stream closed after ${off - chunk.length} of ${buf.length} bytes`);
    if (!stream.write(chunk)) await drainOrClose(stream);
    else if (++n % 8 === 0) await new Promise((res) => setImmediate(res));
  }
}
