// Keep-alive through the gopls stand-in with stdio (docs/keep-alive.md):
// when gopls dies after the handshake (killed, crashed, exited), the stand-in
// starts a new one behind the same editor, replays the editor's state to it
// and the session goes on; a server that crashes on every start ends the
// session after LSPTAP_RESTART_MAX restarts, with the forensics.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import {
  childEnv,
  copyExample,
  lsptapBin,
  peersDir,
  pidAlive,
  realGopls,
  serverPid,
  standIn,
  tempDir,
  withTimeout,
} from './lib/env.mjs';
import { editMain, hoverSees, openMain, settle, waitFor } from './lib/keepalive.mjs';
import { startEditor } from './lib/lsp.mjs';
import { MAIN } from './lib/relay.mjs';
import { findSession, readSession, validateSession } from './lib/session.mjs';


// The session file's events so far (the file is written as the session goes).
function events(sessions) {
  try {
    return readSession(findSession(sessions)).events;
  } catch {
    return [];
  }
}

// Keep-alive takes over once the handshake was judged good: the kill must
// come after it, or it is the handshake supervision's (docs/repair.md).
const handshakeOk = (sessions) => waitFor('the handshake_ok event', () => events(sessions).some((e) => e.event === 'handshake_ok'), 60000);

test('stand-in: gopls SIGKILLed after a hover; the editor edits and hovers on the same connection, the second hover sees the edit', { timeout: 240000 }, async (t) => {
  const ws = copyExample(t);
  const sessions = tempDir(t);
  const ed = startEditor(t, standIn(), [], { workspace: ws, env: childEnv({ LSPTAP_GOPLS: realGopls(), LSPTAP_DIR: sessions }) });
  await openMain(ed, ws);
  const first = await hoverSees(ed, 'shout adds emphasis');
  assert.ok(!JSON.stringify(first).includes('LOUD'));
  await handshakeOk(sessions);

  const gopls = await serverPid(ed.child, ed.stderr, 'gopls');
  // A request in flight when gopls goes: its answer, or an error the editor
  // retries on (ContentModified, RequestCancelled), never silence.
  const inflight = settle(ed.request('textDocument/documentSymbol', { textDocument: { uri: ed.uri(MAIN) } }, 60000));
  process.kill(gopls, 'SIGKILL');
  editMain(ed, 2, 'LOUD ');
  const second = await hoverSees(ed, 'shout adds LOUD emphasis');
  assert.ok(second);
  const done = await withTimeout(inflight, 60000, 'the request in flight at the kill');
  if (done.error) assert.ok([-32801, -32800].includes(done.error.code), `retryable error, got ${done.error.message}`);
  else assert.ok(Array.isArray(done.result), JSON.stringify(done.result));
  assert.ok(pidAlive(ed.child.pid), 'the stand-in runs on');
  const now = await serverPid(ed.child, ed.stderr, 'gopls');
  assert.notEqual(now, gopls, 'a new gopls');

  // The user was told, in the protocol and on stderr, naming the cause.
  const re = /^lsptap: gopls was killed by signal 9 \([^)]*\); restarted and reopened 1 document in \d+ ms/;
  const told = ed.logs.find((l) => l.type === 2 && re.test(l.message));
  assert.ok(told, JSON.stringify(ed.logs.filter((l) => /lsptap/.test(l.message))));
  assert.match(ed.stderr.text(), new RegExp(re.source.slice(1), 'm'));
  // The same connection all along: one initialize result reached the editor.
  assert.equal(ed.received.filter((m) => m.result && m.result.serverInfo).length, 1);

  const st = await ed.shutdown();
  assert.deepEqual(st, { code: 0, signal: null }, ed.stderr.text());
  const s = validateSession(findSession(sessions));
  const names = s.events.map((e) => e.event);
  for (const n of ['server_lost', 'restart', 'replayed']) assert.ok(names.includes(n), `${n} in ${names}`);
  const rs = s.events.find((e) => e.event === 'restart');
  assert.equal(typeof rs.ms, 'number');
  assert.equal(rs.pid, now);
  const rp = s.events.filter((e) => e.event === 'replayed').at(-1);
  assert.equal(rp.documents, 1);

  // stats shows the keep-alive.
  const stats = spawnSync(lsptapBin(), ['stats', findSession(sessions)], { encoding: 'utf8', env: childEnv({ LSPTAP_DIR: sessions }) });
  assert.equal(stats.status, 0, stats.stderr);
  assert.match(stats.stdout, /lost: gopls was killed by signal 9/, stats.stdout);
  assert.match(stats.stdout, /restarted after \d+ ms/, stats.stdout);
  assert.match(stats.stdout, /replayed 1 documents/, stats.stdout);
});

test('stand-in: requests in flight when gopls dies: the safe one answered by the new server, the command told to run again', { timeout: 90000 }, async (t) => {
  // peers/forgetful.mjs exits at the first hover, with it and a command in
  // flight; its successor answers.
  const mark = path.join(tempDir(t), 'dropped');
  const sessions = tempDir(t);
  const ed = startEditor(t, standIn(), [], {
    workspace: tempDir(t),
    env: childEnv({ LSPTAP_GOPLS: path.join(peersDir, 'forgetful.mjs'), LSPTAP_DIR: sessions, PEER_MARK: mark, LSPTAP_HANDSHAKE_MS: '200' }),
  });
  await ed.initialize();
  ed.notify('initialized', {});
  await handshakeOk(sessions);
  const cmd = settle(ed.request('workspace/executeCommand', { command: 'gopls.tidy', arguments: [] }, 30000));
  const hover = settle(ed.request('textDocument/hover', { textDocument: { uri: ed.uri('a.go') }, position: { line: 0, character: 0 } }, 30000));
  const h = await hover;
  assert.ok(!h.error, h.error && h.error.message);
  assert.equal(h.result.contents, 'answered by a new server');
  assert.ok(fs.existsSync(mark), 'the first server did exit');
  const c = await cmd;
  assert.equal(c.error?.code, -32803, JSON.stringify(c));
  assert.match(c.error.message, /^lsptap: gopls was lost while running the command; restarted; run it again/);
  assert.ok(ed.logs.some((l) => l.type === 2 && /^lsptap: gopls exited with status 0; restarted and reopened 0 documents/.test(l.message)),
    JSON.stringify(ed.logs));
  const st = await ed.shutdown();
  assert.equal(st.code, 0, ed.stderr.text());
  const rp = readSession(findSession(sessions)).events.find((e) => e.event === 'replayed' && 'resent' in e);
  assert.equal(rp.resent, 1);
  assert.equal(rp.failed, 1);
});

test('stand-in: a gopls that panics on every start after the handshake ends after LSPTAP_RESTART_MAX restarts, with the forensics', { timeout: 90000 }, async (t) => {
  const sessions = tempDir(t);
  const log = path.join(tempDir(t), 'crashes');
  const ed = startEditor(t, standIn(), [], {
    workspace: tempDir(t),
    env: childEnv({ LSPTAP_GOPLS: path.join(peersDir, 'panics.mjs'), LSPTAP_DIR: sessions, LSPTAP_RESTART_MAX: '2', LSPTAP_HANDSHAKE_MS: '200', PEER_LOG: log }),
  });
  await ed.initialize();
  ed.notify('initialized', {});
  ed.notify('textDocument/didOpen', { textDocument: { uri: ed.uri('a.go'), languageId: 'go', version: 1, text: 'package a\n' } });
  await handshakeOk(sessions);
  // Resent to every new server (a hover is safe to send again), so each of
  // them crashes too.
  const never = settle(ed.conn.sendRequest('textDocument/hover', { textDocument: { uri: ed.uri('a.go') }, position: { line: 0, character: 0 } }));
  const st = await withTimeout(ed.child.exited, 60000, 'the stand-in ending after the crash loop');
  assert.equal(st.code, 2, `gopls's status; stderr:\n${ed.stderr.text()}`);
  assert.equal(fs.readFileSync(log, 'utf8').trim().split('\n').length, 3, 'the first server and two restarts crashed');
  const err = ed.stderr.text();
  // The first two crashes were survived and told, naming the panic.
  assert.equal((err.match(/lsptap: gopls crashed \(panic: runtime error: invalid memory address or nil pointer dereference\); restarted and reopened 1 document/g) || []).length, 2, err);
  assert.equal(ed.logs.filter((l) => l.type === 2 && /^lsptap: gopls crashed \(panic: runtime error/.test(l.message)).length, 2);
  assert.match(err, /the 3rd time within 300 s \(restart_max is 2\); the session ends\./);
  assert.match(err, /lsptap: gopls's last stderr lines:\nlsptap: {3}panic: runtime error: invalid memory address or nil pointer dereference\n/);
  assert.match(err, /lsptap: {3}goroutine 1 \[running\]:\n/);
  assert.match(err, /lsptap: requests still waiting for an answer:\nlsptap: {3}textDocument\/hover \(id \d+\)/);
  assert.match(err, /lsptap: the last messages, oldest first:/);
  const s = readSession(findSession(sessions));
  const loop = s.events.find((e) => e.event === 'crash_loop');
  assert.ok(loop, JSON.stringify(s.events.map((e) => e.event)));
  assert.ok(loop.stderr.includes('goroutine 1 [running]:'), JSON.stringify(loop.stderr));
  assert.match(loop.stderr[0], /^panic: runtime error/);
  assert.deepEqual(loop.inflight.map((r) => r.method), ['textDocument/hover']);
  assert.equal(s.events.filter((e) => e.event === 'restart').length, 2);
  const r = await withTimeout(never, 10000, 'the request in flight');
  assert.equal(r.error?.code, -32803, 'the editor learns its request will not be answered');
});

test('stand-in with LSPTAP_KEEPALIVE=off: gopls SIGKILLed after the handshake ends the session as before (exit 137)', { timeout: 180000 }, async (t) => {
  const ws = copyExample(t);
  const sessions = tempDir(t);
  const ed = startEditor(t, standIn(), [], { workspace: ws, env: childEnv({ LSPTAP_GOPLS: realGopls(), LSPTAP_DIR: sessions, LSPTAP_KEEPALIVE: 'off' }) });
  await openMain(ed, ws);
  await hoverSees(ed, 'shout adds emphasis');
  await handshakeOk(sessions);
  process.kill(await serverPid(ed.child, ed.stderr, 'gopls'), 'SIGKILL');
  const st = await withTimeout(ed.child.exited, 30000, 'the stand-in ending with gopls');
  assert.equal(st.code, 137, ed.stderr.text());
  assert.doesNotMatch(ed.stderr.text(), /keep-alive|restarted and reopened/);
  const s = readSession(findSession(sessions));
  assert.ok(!s.events.some((e) => e.event === 'server_lost' || e.event === 'restart'));
});

test('stand-in: a gopls that closes its stdout and keeps running is replaced (killed) and the hover answered by the next', { timeout: 90000 }, async (t) => {
  const mark = path.join(tempDir(t), 'closed');
  const sessions = tempDir(t);
  const ed = startEditor(t, standIn(), [], {
    workspace: tempDir(t),
    env: childEnv({ LSPTAP_GOPLS: path.join(peersDir, 'closes-stdout.mjs'), LSPTAP_DIR: sessions, PEER_MARK: mark, LSPTAP_HANDSHAKE_MS: '200' }),
  });
  await ed.initialize();
  ed.notify('initialized', {});
  await handshakeOk(sessions);
  const h = await ed.request('textDocument/hover', { textDocument: { uri: ed.uri('a.go') }, position: { line: 0, character: 0 } }, 30000);
  assert.equal(h.contents, 'answered by a new server');
  const first = Number(fs.readFileSync(mark, 'utf8'));
  await waitFor('the first server to be killed', () => !pidAlive(first), 10000);
  assert.ok(ed.logs.some((l) => l.type === 2 && /^lsptap: gopls closed its output; restarted and reopened 0 documents/.test(l.message)),
    JSON.stringify(ed.logs));
  const st = await ed.shutdown();
  assert.equal(st.code, 0, ed.stderr.text());
});

test('stand-in: after a repair (GOFLAGS removed), a killed gopls is restarted with the repaired environment', { timeout: 90000 }, async (t) => {
  // peers/handshake.mjs fails its handshake while GOFLAGS is set; the
  // handshake supervision restarts it without; keep-alive must do the same.
  const ws = fs.realpathSync(tempDir(t, 'lsptap-ws-'));
  fs.writeFileSync(path.join(ws, 'go.mod'), 'module example.com/k\n\ngo 1.19\n');
  const sessions = tempDir(t);
  const log = path.join(tempDir(t), 'peer.log');
  const env = childEnv({ LSPTAP_GOPLS: path.join(peersDir, 'handshake.mjs'), LSPTAP_DIR: sessions, PEER_LOG: log, GOFLAGS: '-mod=bogus', LSPTAP_HANDSHAKE_MS: '200' });
  const ed = startEditor(t, standIn(), [], { workspace: ws, env });
  const starts = () => {
    try {
      return fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.start);
    } catch {
      return [];
    }
  };
  await ed.initialize(30000);
  ed.notify('initialized', {});
  await waitFor('the repaired server\'s handshake_ok', () => events(sessions).some((e) => e.event === 'repair') && events(sessions).some((e) => e.event === 'handshake_ok'), 60000);
  assert.equal(starts().length, 2);
  assert.equal(starts()[1].goflags, null, 'the repair removed GOFLAGS');
  const before = await ed.request('test/before', {}, 30000);
  assert.equal(before.pid, starts()[1].pid);
  process.kill(starts()[1].pid, 'SIGKILL');
  await waitFor('the keep-alive replay', () => events(sessions).some((e) => e.event === 'replayed' && 'documents' in e), 30000);
  assert.equal(starts().length, 3);
  assert.equal(starts()[2].goflags, null, 'keep-alive restarted gopls with the repaired environment');
  assert.equal(starts()[2].fails, false);
  const after = await ed.request('test/after', {}, 30000);
  assert.equal(after.pid, starts()[2].pid);
  const st = await ed.shutdown();
  assert.equal(st.code, 0, ed.stderr.text());
});
