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

const lineOf = (text, needle) => {
  const l = text.split('\n').find((x) => x.includes(needle));
  assert.ok(l, `no line mentions ${needle}:\n${text}`);
  return l;
};
const numbers = (line) => (line.match(/(?<![\w.])\d+(?:\.\d+)?/g) || []).map(Number);

test('stats: per-method counts, latency percentiles, errors, cancellations and the pending request', { timeout: 30000 }, async (t) => {
  const file = await scriptedSession(t);
  const text = stats([file]);
  for (const col of ['p50', 'p90', 'p99', 'max']) assert.match(text, new RegExp(col, 'i'), `a ${col} column:\n${text}`);
  assert.ok(numbers(lineOf(text, 'test/slow')).includes(5), `test/slow count 5:\n${text}`);
  const fail = numbers(lineOf(text, 'test/fail'));
  assert.ok(fail.filter((n) => n === 3).length >= 2, `test/fail: count 3 and errors 3:\n${text}`);
  const cancel = numbers(lineOf(text, 'test/cancel'));
  assert.ok(cancel.includes(1), `test/cancel: 1 request, 1 cancellation:\n${text}`);
  const pending = text.split('\n').filter((l) => l.includes('test/never'));
  assert.ok(pending.some((l) => l.includes('never-1')), `the pending request is named with its id:\n${text}`);
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
