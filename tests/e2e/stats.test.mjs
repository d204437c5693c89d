// `lsptap stats SESSION` summarises a session a scripted server made with
// known counts, errors, cancellations and a request it never answered.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { childEnv, collect, lsptapBin, peersDir, spawnTracked, standIn, tempDir, withTimeout } from './lib/env.mjs';
import { checkedSession, findSession } from './lib/session.mjs';

const frame = (msg) => {
  const body = Buffer.from(JSON.stringify(msg));
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]);
};

// Five test/slow (20 ms), three test/fail (error replies), one test/cancel
// named by $/cancelRequest, one test/never left pending (id "never-1").
async function scriptedSession(t) {
  const dir = tempDir(t);
  const sessions = path.join(dir, 'sessions');
  const lsptap = spawnTracked(t, standIn(), [], {
    cwd: dir,
    env: childEnv({ LSPTAP_GOPLS: path.join(peersDir, 'answer.mjs'), LSPTAP_DIR: sessions }),
  });
  const stderr = collect(lsptap.stderr);
  const out = collect(lsptap.stdout);
  let id = 1;
  const msgs = [];
  for (let i = 0; i < 5; i++) msgs.push({ jsonrpc: '2.0', id: id++, method: 'test/slow', params: { delayMs: 20 } });
  for (let i = 0; i < 3; i++) msgs.push({ jsonrpc: '2.0', id: id++, method: 'test/fail' });
  const cancelId = id++;
  msgs.push({ jsonrpc: '2.0', id: cancelId, method: 'test/cancel', params: { delayMs: 200 } });
  msgs.push({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: cancelId } });
  msgs.push({ jsonrpc: '2.0', id: 'never-1', method: 'test/never' });
  lsptap.stdin.write(Buffer.concat(msgs.map(frame)));
  // Wait for the nine replies (every request but test/never), then hang up.
  const replies = () => (out.text().match(/Content-Length/g) || []).length;
  const deadline = Date.now() + 10000;
  while (replies() < 9) {
    assert.ok(Date.now() < deadline, `only ${replies()} of 9 replies; stderr:\n${stderr.text()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  lsptap.stdin.end();
  const st = await withTimeout(lsptap.exited, 15000, 'lsptap exit');
  assert.deepEqual(st, { code: 0, signal: null }, `lsptap exit; stderr:\n${stderr.text()}`);
  checkedSession(sessions);
  return findSession(sessions);
}

function stats(args) {
  const r = spawnSync(lsptapBin(), ['stats', ...args], { timeout: 15000, encoding: 'utf8' });
  assert.equal(r.status, 0, `lsptap stats ${args.join(' ')} exit; stderr:\n${r.stderr}`);
  return r.stdout;
}

// "225us", "11.5ms", "1.06s" -> microseconds; "-" -> null.
function durationUs(cell) {
  const m = /^(\d+(?:\.\d+)?)(us|µs|ms|s)$/.exec(cell);
  if (!m) return null;
  return Number(m[1]) * { us: 1, µs: 1, ms: 1e3, s: 1e6 }[m[2]];
}

// The table's rows by method, read through its header line: the column
// names are the stats command's to choose, so they are matched loosely
// (count: REQ/COUNT/N, errors: ERR*, cancellations: CANC*).
function table(text) {
  const lines = text.split('\n');
  const h = lines.findIndex((l) => /p50/i.test(l) && /p99/i.test(l));
  assert.ok(h >= 0, `no header line with p50 ... p99:\n${text}`);
  const cols = lines[h].trim().split(/\s+/);
  const col = (re, what) => {
    const i = cols.findIndex((c) => re.test(c));
    assert.ok(i >= 0, `no ${what} column in ${JSON.stringify(cols)}`);
    return i;
  };
  const idx = { count: col(/^(req|requests|count|n)$/i, 'count'), errors: col(/^err/i, 'errors'), cancelled: col(/^canc/i, 'cancellations') };
  const lat = ['p50', 'p90', 'p99', 'max'].map((c) => col(new RegExp(`^${c}`, 'i'), c));
  col(/bytes/i, 'bytes');
  const rows = {};
  for (const l of lines.slice(h + 1)) {
    // "835 B", "1.6 KiB": a number and its unit are one cell.
    const f = l.trim().replace(/(\d) (B|[KMG]i?B)\b/g, '$1$2').split(/\s+/);
    if (f.length !== cols.length) continue;
    rows[f[0]] = { count: Number(f[idx.count]), errors: Number(f[idx.errors]), cancelled: Number(f[idx.cancelled]) };
    Object.defineProperty(rows[f[0]], 'latencyUs', { value: lat.map((i) => durationUs(f[i])) });
  }
  return rows;
}

test('stats: per-method counts, latency percentiles, errors, cancellations and the pending request', { timeout: 30000 }, async (t) => {
  const file = await scriptedSession(t);
  const text = stats([file]);
  const rows = table(text);
  const row = (m) => {
    assert.ok(rows[m], `no row for ${m}:\n${text}`);
    return rows[m];
  };
  assert.deepEqual(row('test/slow'), { count: 5, errors: 0, cancelled: 0 }, `test/slow:\n${text}`);
  const [p50, p90, p99, max] = row('test/slow').latencyUs;
  assert.ok(p50 >= 20000, `test/slow p50 ${p50} us: the peer waits 20 ms before each reply:\n${text}`);
  assert.ok(p50 <= p90 && p90 <= p99 && p99 <= max, `percentiles in order:\n${text}`);
  assert.deepEqual(row('test/fail'), { count: 3, errors: 3, cancelled: 0 }, `test/fail:\n${text}`);
  assert.deepEqual(row('test/cancel'), { count: 1, errors: 0, cancelled: 1 }, `test/cancel:\n${text}`);
  // The pending section (the lead above the table may name it too, among the last messages).
  const section = text.slice(text.indexOf('pending at end'));
  const pending = section.split('\n').filter((l) => l.includes('test/never') && l.includes('never-1'));
  assert.equal(pending.length, 1, `the pending section names the request once, with its id:\n${text}`);
});

test('stats --json: one JSON document naming every method', { timeout: 30000 }, async (t) => {
  const file = await scriptedSession(t);
  const text = stats([file, '--json']);
  let doc;
  assert.doesNotThrow(() => {
    doc = JSON.parse(text);
  }, `stats --json output is JSON:\n${text.slice(0, 500)}`);
  const s = JSON.stringify(doc);
  for (const m of ['test/slow', 'test/fail', 'test/cancel', 'test/never', 'never-1']) assert.ok(s.includes(m), `mentions ${m}`);
});
