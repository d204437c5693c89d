// `lsptap export`: the inspector text matches what gopls -rpc.trace itself
// writes for the same session, parses back to the recorded messages, and
// the jsonrpc stream of one direction is the recorded messages, framed,
// ready to pipe into a server.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { childEnv, copyExample, lsptapBin, peersDir, standIn, tempDir } from './lib/env.mjs';
import { startEditor } from './lib/lsp.mjs';
import { answerSession, dapSession } from './lib/fixtures.mjs';
import { checkedSession, findSession, readSession } from './lib/session.mjs';

function lsptap(args, { status = 0, env } = {}) {
  const r = spawnSync(lsptapBin(), args, { timeout: 30000, encoding: 'utf8', env: childEnv({ TZ: 'UTC', ...env }), maxBuffer: 1 << 28 });
  assert.equal(r.status, status, `lsptap ${args.join(' ')} exit; stderr:\n${r.stderr}`);
  return r;
}

// gopls's trace text -> entries { clock, way, kind, method, id, ms, failed, payload }.
// Each entry ends in \r\n\r\n\r\n; see docs/report.md for the layout.
export function parseInspector(text) {
  const entries = [];
  const head = /^\[Trace - (\d\d:\d\d:\d\d\.\d\d\d [AP]M)\] (Sending|Received) (request|response|notification) '(.*?)(?: - \((.*)\))?'(?: in (\d+)ms)?\.(?: Request failed: (.*) \((-?\d+)\)\.)?$/;
  for (const rec of text.split('\r\n\r\n\r\n')) {
    if (!rec) continue;
    const nl = rec.indexOf('\n');
    const first = nl < 0 ? rec : rec.slice(0, nl);
    const m = head.exec(first);
    assert.ok(m, `not an inspector entry: ${JSON.stringify(first)}`);
    const e = { clock: m[1], way: m[2], kind: m[3], method: m[4], id: m[5], ms: m[6] === undefined ? undefined : Number(m[6]) };
    if (m[7] !== undefined) e.failed = { message: m[7], code: Number(m[8]) };
    if (nl >= 0) {
      const rest = rec.slice(nl + 1);
      const p = /^(Params|Result): ([\s\S]*)$/.exec(rest);
      assert.ok(p, `entry body: ${JSON.stringify(rest.slice(0, 100))}`);
      e.payload = p[2] === '' ? undefined : JSON.parse(p[2]);
    }
    entries.push(e);
  }
  return entries;
}

const headline = (e) => `${e.way} ${e.kind} '${e.method}${e.id !== undefined ? ` - (${e.id})` : ''}'`;

test('export inspector: the same entries gopls -rpc.trace writes for the session', { timeout: 90000 }, async (t) => {
  const ws = copyExample(t);
  const dir = tempDir(t);
  const log = path.join(dir, 'gopls.log');
  const sessions = path.join(dir, 'sessions');
  const ed = startEditor(t, standIn(), ['-rpc.trace', `-logfile=${log}`], { workspace: ws, env: childEnv({ LSPTAP_DIR: sessions }) });
  await ed.initialize(30000);
  ed.notify('initialized', {});
  const main = ed.uri('main.go');
  ed.notify('textDocument/didOpen', { textDocument: { uri: main, languageId: 'go', version: 1, text: fs.readFileSync(path.join(ws, 'main.go'), 'utf8') } });
  await ed.hoverWhenLoaded({ textDocument: { uri: main }, position: { line: 17, character: 14 } });
  await ed.request('textDocument/definition', { textDocument: { uri: main }, position: { line: 17, character: 14 } });
  await ed.request('textDocument/hover', { textDocument: { uri: main }, position: { line: 1, character: 1 } }).catch(() => {});
  assert.deepEqual(await ed.shutdown(), { code: 0, signal: null });
  checkedSession(sessions);
  const session = findSession(sessions);

  const ours = parseInspector(lsptap(['export', '--format', 'inspector', session]).stdout);
  // gopls's log file also holds its own log lines: keep its trace entries.
  const goplsText = fs.readFileSync(log, 'utf8');
  const theirs = parseInspector(goplsText.split('\r\n\r\n\r\n').filter((r) => r.startsWith('[Trace - ')).map((r) => r + '\r\n\r\n\r\n').join(''));
  assert.ok(theirs.length > 10, `gopls traced ${theirs.length} entries`);
  // The two directions interleave as each side saw them; within a direction
  // the order is the wire's.
  for (const way of ['Sending', 'Received']) {
    const a = ours.filter((e) => e.way === way);
    const b = theirs.filter((e) => e.way === way);
    assert.deepEqual(a.map(headline), b.map(headline), `${way} entries`);
    a.forEach((e, i) => assert.deepEqual(e.payload, b[i].payload, `${headline(e)}: same ${e.kind === 'response' ? 'Result' : 'Params'}`));
  }
});

test('export inspector: parses back to the recorded messages', { timeout: 30000 }, async (t) => {
  const session = await answerSession(t);
  const s = readSession(session);
  const start = Date.parse(s.header.start);
  const entries = parseInspector(lsptap(['export', '--format', 'inspector', session]).stdout);
  assert.equal(entries.length, s.messages.length);
  entries.forEach((e, i) => {
    const m = s.messages[i];
    const where = `entry ${i}: ${headline(e)} vs ${JSON.stringify(m).slice(0, 200)}`;
    assert.equal(e.way, m.dir === 'c2s' ? 'Sending' : 'Received', where);
    assert.equal(e.kind, m.kind, where);
    assert.equal(e.method, m.method, where);
    assert.equal(e.id, m.id === undefined ? undefined : String(m.id), where);
    const wall = new Date(start + Math.floor(m.t_us / 1000));
    const clock = `${wall.toISOString().slice(11, 23)} ${wall.getUTCHours() < 12 ? 'AM' : 'PM'}`;
    assert.equal(e.clock, clock, where);
    // gopls prints nothing for a null it reads (c2s): see docs/report.md
    const want = (v) => (v === null && m.dir === 'c2s' ? undefined : v);
    if (m.kind === 'response') {
      assert.equal(e.ms, Math.floor(m.latency_us / 1000), where);
      if (m.error) assert.deepEqual(e.failed, { message: m.error.message, code: m.error.code }, where);
      else assert.deepEqual(e.payload, want(m.body.result), where);
    } else {
      assert.deepEqual(e.payload, want(m.body.params), where);
    }
  });
  assert.ok(entries.some((e) => e.failed && e.failed.message === 'scripted failure' && e.failed.code === -32603));
});

// Content-Length frames -> parsed bodies.
function unframe(data) {
  const buf = Buffer.from(data);
  const out = [];
  let off = 0;
  while (off < buf.length) {
    const end = buf.indexOf('\r\n\r\n', off);
    assert.ok(end > 0, `header at ${off}`);
    const m = /^Content-Length: (\d+)$/.exec(buf.subarray(off, end).toString('latin1'));
    assert.ok(m, `header at ${off}: ${buf.subarray(off, end).toString('latin1')}`);
    const len = Number(m[1]);
    out.push(JSON.parse(buf.subarray(end + 4, end + 4 + len).toString('utf8')));
    off = end + 4 + len;
  }
  return out;
}

test('export jsonrpc: each direction framed from the bodies, and a server answers the c2s stream', { timeout: 30000 }, async (t) => {
  const session = await answerSession(t);
  const s = readSession(session);
  for (const dir of ['c2s', 's2c']) {
    const r = spawnSync(lsptapBin(), ['export', '--format', 'jsonrpc', '--dir', dir, session], { timeout: 15000 });
    assert.equal(r.status, 0, r.stderr.toString());
    assert.deepEqual(unframe(r.stdout), s.messages.filter((m) => m.dir === dir).map((m) => m.body), `${dir} bodies`);
  }
  const out = path.join(tempDir(t), 'c2s.bin');
  lsptap(['export', '--format', 'jsonrpc', '--dir', 'c2s', session, '-o', out]);
  const replies = unframe(spawnSync(path.join(peersDir, 'answer.mjs'), [], { input: fs.readFileSync(out), timeout: 15000 }).stdout);
  assert.equal(replies.length, 9, 'answer.mjs answers the nine requests it answered when recorded');
});

test('export: refusals say why', { timeout: 15000 }, (t) => {
  const dap = dapSession(path.join(tempDir(t), 'dap.jsonl'));
  assert.match(lsptap(['export', '--format', 'inspector', dap], { status: 2 }).stderr, /DAP session.*--format jsonrpc/);
  assert.equal(unframe(lsptap(['export', '--format', 'jsonrpc', '--dir', 's2c', dap]).stdout).length, 16);
  assert.match(lsptap(['export', '--format', 'jsonrpc', dap], { status: 2 }).stderr, /needs --dir c2s or --dir s2c/);
  assert.match(lsptap(['export', '--format', 'yaml', dap], { status: 2 }).stderr, /unknown format yaml/);
  const meta = path.join(tempDir(t), 'meta.jsonl');
  fs.writeFileSync(meta, '{"lsptap":1,"protocol":"lsp"}\n{"t_us":1,"dir":"c2s","bytes":50,"kind":"request","method":"x","id":1}\n');
  assert.match(lsptap(['export', '--format', 'inspector', meta], { status: 2 }).stderr, /no message bodies.*meta/);
});
