// A 1 GiB frame through the gopls stand-in, both ways (peers/echo.mjs sends
// every byte back): forwarded byte-exact, recorded as metadata only, in
// bounded memory. Nothing holds the frame: the test generates it in 1 MiB
// pieces and compares byte counts and sha256 digests, and lsptap's peak RSS
// (VmHWM from /proc, read while it still runs) must stay far below the
// frame's size.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { childEnv, collect, peersDir, spawnTracked, standIn, tempDir, withTimeout } from './lib/env.mjs';
import { checkedSession, eventsNamed } from './lib/session.mjs';

const GIB = 1 << 30;
const PIECE = 1 << 20;
// lsptap's relay buffers (high mark 4 MiB a direction), the inspector's
// prefix and the session writer's queue, with room to spare: a frame held
// in memory, even in part, would be hundreds of MiB.
const RSS_LIMIT = 64 << 20;

function peakRss(pid) {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) * 1024;
}

// Writes every piece, honouring backpressure; returns the byte count and
// sha256 of what was written.
async function writeStream(stream, pieces) {
  const h = crypto.createHash('sha256');
  let n = 0;
  for (const piece of pieces) {
    h.update(piece);
    n += piece.length;
    if (!stream.write(piece)) await new Promise((r) => stream.once('drain', r));
  }
  return { bytes: n, sha256: h.digest('hex') };
}

function* bigFrame(bodyLen) {
  const head = Buffer.from('{"jsonrpc":"2.0","id":7,"method":"test/huge","params":{"pad":"');
  const tail = Buffer.from('"}}');
  yield Buffer.from(`Content-Length: ${bodyLen}\r\n\r\n`);
  yield head;
  const pad = Buffer.alloc(PIECE, 'h');
  let left = bodyLen - head.length - tail.length;
  while (left > 0) {
    const n = Math.min(left, PIECE);
    yield n === PIECE ? pad : pad.subarray(0, n);
    left -= n;
  }
  yield tail;
}

function* frames(bodyLen) {
  yield* bigFrame(bodyLen);
  const after = Buffer.from(JSON.stringify({ jsonrpc: '2.0', method: 'test/after', params: {} }));
  yield Buffer.concat([Buffer.from(`Content-Length: ${after.length}\r\n\r\n`), after]);
}

test('a 1 GiB frame both ways: byte-exact, metadata only, peak RSS < 64 MiB', { timeout: 170000 }, async (t) => {
  const sessions = tempDir(t);
  const lsptap = spawnTracked(t, standIn(), [], {
    cwd: tempDir(t),
    env: childEnv({
      LSPTAP_GOPLS: path.join(peersDir, 'echo.mjs'),
      LSPTAP_DIR: sessions,
      LSPTAP_RECORD: 'meta',
      // The sanitizer build's 256 MB quarantine of freed chunks would be
      // measured instead of lsptap's buffers (see relay-faults.test.mjs).
      ASAN_OPTIONS: [process.env.ASAN_OPTIONS, 'quarantine_size_mb=8'].filter(Boolean).join(':'),
    }),
  });
  const stderr = collect(lsptap.stderr);
  const bigBytes = Buffer.byteLength(`Content-Length: ${GIB}\r\n\r\n`) + GIB;
  let total = 0;
  for (const piece of frames(GIB)) total += piece.length;
  const got = crypto.createHash('sha256');
  let gotBytes = 0;
  const echoed = new Promise((resolve) => {
    lsptap.stdout.on('data', (c) => {
      got.update(c);
      gotBytes += c.length;
      if (gotBytes >= total) resolve();
    });
  });
  // The frame's body is 1 GiB exactly.
  const sent = await withTimeout(writeStream(lsptap.stdin, frames(GIB)), 150000, 'writing 1 GiB');
  assert.equal(sent.bytes, total);
  await withTimeout(echoed, 150000, () => `the echo (${gotBytes} of ${total} bytes)`);
  const hwm = peakRss(lsptap.pid);
  lsptap.stdin.end();
  const st = await withTimeout(lsptap.exited, 20000, 'lsptap exit');
  assert.deepEqual(st, { code: 0, signal: null }, stderr.text());
  assert.equal(gotBytes, sent.bytes, 'as many bytes back as sent');
  assert.equal(got.digest('hex'), sent.sha256, 'the same bytes back (sha256)');
  assert.ok(hwm < RSS_LIMIT, `lsptap's peak RSS ${(hwm / 2 ** 20).toFixed(1)} MiB < ${RSS_LIMIT / 2 ** 20} MiB`);
  t.diagnostic(`lsptap peak RSS ${(hwm / 2 ** 20).toFixed(1)} MiB for 2 GiB relayed`);

  const s = checkedSession(sessions, { record: 'meta' });
  for (const dir of ['c2s', 's2c']) {
    const lines = s.messages.filter((m) => m.dir === dir);
    assert.equal(lines.length, 2, `${dir}: ${JSON.stringify(lines)}`);
    const [big, small] = lines;
    assert.equal(big.bytes, bigBytes, `${dir}: the whole frame counted`);
    assert.equal(big.truncated, true, `${dir}: ${JSON.stringify(big)}`);
    assert.equal(big.method, 'test/huge');
    assert.equal(big.id, 7);
    assert.equal(small.method, 'test/after');
  }
  assert.equal(eventsNamed(s, 'summary')[0].truncated, 2);
});
