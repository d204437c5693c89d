// Never lose or change a byte: megabytes of frames of every size and header
// shape, split at random write boundaries, then malformed input, relayed in
// both directions at once between a raw editor (this process) and a
// scripted peer server. Both directions must arrive byte for byte; the
// session file must report each framing error with its offset and carry on
// with the frames after it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { childEnv, collect, peersDir, spawnTracked, standIn, tempDir, withTimeout } from './lib/env.mjs';
import { digest, firstDifference, makeStream, prng, writeChopped } from './lib/frames.mjs';
import { checkedSession, eventsNamed } from './lib/session.mjs';

const SEED = Number(process.env.LSPTAP_SEED || 20261128);
const SIZE = 8 << 20;

function assertSameStream(got, want, what) {
  const g = digest(got);
  const w = digest(want);
  if (g.sha256 === w.sha256 && g.length === w.length) return;
  const at = firstDifference(got, want);
  assert.fail(
    `${what}: got ${g.length} bytes sha256 ${g.sha256}, want ${w.length} bytes sha256 ${w.sha256}; ` +
      `first difference at offset ${at}: got ${JSON.stringify(got.subarray(at, at + 40).toString('latin1'))}, ` +
      `want ${JSON.stringify(want.subarray(at, at + 40).toString('latin1'))} (seed ${SEED})`,
  );
}

// The byte offset a framing_error event reports, under whatever name ends
// up fixed in docs/session-format.md ("offset", "byte_offset", ...).
function offsetOf(e) {
  for (const [k, v] of Object.entries(e)) if (/off/.test(k) && Number.isInteger(v)) return v;
  return undefined;
}
const dirOf = (e) => e.stream ?? e.dir ?? e.direction ?? e.side;

async function relay(t) {
  t.diagnostic(`seed ${SEED} (set LSPTAP_SEED to replay)`);
  const c2s = makeStream(SEED, 'c2s', SIZE);
  const s2c = makeStream(SEED + 1, 's2c', SIZE);
  const dir = tempDir(t);
  const script = path.join(dir, 'script');
  const record = path.join(dir, 'record');
  fs.writeFileSync(script, s2c.buf);
  const sessions = path.join(dir, 'sessions');

  const child = spawnTracked(t, standIn(), [], {
    cwd: dir,
    env: childEnv({
      LSPTAP_GOPLS: path.join(peersDir, 'record-replay.mjs'),
      LSPTAP_DIR: sessions,
      LSPTAP_RECORD: 'full',
      PEER_SCRIPT: script,
      PEER_RECORD: record,
      PEER_SEED: String(SEED + 2),
    }),
  });
  const out = collect(child.stdout);
  const err = collect(child.stderr);
  child.stdin.on('error', () => {});
  try {
    await writeChopped(child.stdin, c2s.buf, prng(SEED + 3));
    child.stdin.end();
    const st = await withTimeout(child.exited, 40000, 'lsptap exit after stdin EOF');
    return { c2s, s2c, st, stdout: out.buffer(), stderr: err.text(), received: fs.readFileSync(record), sessions };
  } catch (e) {
    e.message += `\nlsptap stderr:\n${err.text()}`;
    throw e;
  }
}

test('bytes: 8 MB each way of every frame size and header shape, split at random, then malformed input, arrive byte for byte', { timeout: 60000 }, async (t) => {
  const r = await relay(t);
  assert.deepEqual(r.st, { code: 0, signal: null }, `lsptap exit; stderr:\n${r.stderr}`);
  assertSameStream(r.received, r.c2s.buf, 'editor -> server');
  assertSameStream(r.stdout, r.s2c.buf, 'server -> editor');

  const s = checkedSession(r.sessions, { record: 'full' });
  for (const [side, stream] of [['c2s', r.c2s], ['s2c', r.s2c]]) {
    // Every JSON-RPC message, in order, including the markers that follow
    // each malformed frame: the framer resynchronised every time.
    const got = s.messages
      .filter((m) => m.dir === side && m.kind !== 'invalid')
      .map((m) => ({ kind: m.kind, method: m.kind === 'response' ? undefined : m.method, id: m.id }));
    assert.deepEqual(got, stream.messages, `${side}: message lines (seed ${SEED})`);
    assert.ok(s.messages.some((m) => m.dir === side && m.kind === 'invalid'), `${side}: the non-JSON and non-message bodies are recorded as invalid`);
  }

  const errors = eventsNamed(s, 'framing_error');
  for (const [side, stream] of [['c2s', r.c2s], ['s2c', r.s2c]]) {
    for (const bad of stream.badRegions) {
      const hit = errors.find((e) => {
        const off = offsetOf(e);
        return (dirOf(e) === undefined || dirOf(e) === side) && off !== undefined && off >= bad.start && off <= bad.end;
      });
      assert.ok(hit, `${side}: no framing_error with an offset in [${bad.start}, ${bad.end}] for "${bad.what}"; framing errors:\n${errors.map((e) => JSON.stringify(e)).join('\n')}`);
    }
  }
});

test('bytes: the framing errors are reported on stderr without stopping the relay', { timeout: 60000 }, async (t) => {
  // Same streams; here only what a user sees: lsptap's own lines are
  // prefixed, and it exits with the server's status.
  const r = await relay(t);
  assert.equal(r.st.code, 0, `lsptap exit; stderr:\n${r.stderr}`);
  const own = r.stderr.split('\n').filter((l) => l.length > 0);
  for (const l of own) assert.match(l, /^lsptap:/, 'every stderr line is lsptap\'s own (the peer writes none)');
  assert.ok(own.length >= 1, 'at least the summary line');
  assertSameStream(r.stdout, r.s2c.buf, 'server -> editor');
});
