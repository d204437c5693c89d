// Keep-alive through `lsptap relay --connect` (docs/keep-alive.md): the
// editor is VS Code's client library, the server side `lsptap relay --listen
// ADDR -- gopls` with the real gopls. When the connection drops, the editor's
// session goes on: lsptap reconnects, replays the editor's state to the new
// gopls, and the editor's next edit and hover work on the same connection.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { childEnv, childPids, copyExample, freePort, lsptapBin, pidAlive, standIn, tempDir, withTimeout } from './lib/env.mjs';
import { makeCerts } from './lib/certs.mjs';
import { editMain, hoverSees, openMain, settle, startListener, waitFor } from './lib/keepalive.mjs';
import { startEditor } from './lib/lsp.mjs';
import { MAIN } from './lib/relay.mjs';
import { findSession, readSession, validateSession } from './lib/session.mjs';

const peers = path.join(path.dirname(fileURLToPath(import.meta.url)), 'peers');

// A peer of peers/ as the listener's server.
const peer = (name) => [process.execPath, path.join(peers, name)];

test('relay --connect: gopls behind the listener killed; the editor edits and hovers on, the second hover sees the edit', { timeout: 180000 }, async (t) => {
  const ws = copyExample(t);
  const listener = await startListener(t, { cwd: ws });
  const addr = listener.addr;
  const sessions = tempDir(t);
  const ed = startEditor(t, lsptapBin(), ['relay', '--connect', addr], { workspace: ws, env: childEnv({ LSPTAP_DIR: sessions }) });
  await openMain(ed, ws);
  const first = await hoverSees(ed, 'shout adds emphasis');
  assert.ok(!JSON.stringify(first).includes('LOUD'));

  // A request in flight when the server goes: its answer, or an error the
  // editor retries on (ContentModified, RequestCancelled), never silence.
  const gopls = await waitFor('the listener\'s gopls', () => childPids(listener.pid)[0]);
  const inflight = ed.request('textDocument/documentSymbol', { textDocument: { uri: ed.uri(MAIN) } }, 60000).then(
    (r) => ({ result: r }),
    (e) => ({ error: e }),
  );
  process.kill(gopls, 'SIGKILL');
  editMain(ed, 2, 'LOUD ');
  const second = await hoverSees(ed, 'shout adds LOUD emphasis');
  assert.ok(second);
  const done = await withTimeout(inflight, 60000, 'the request in flight at the kill');
  if (done.error) assert.ok([-32801, -32800].includes(done.error.code), `retryable error, got ${done.error.message}`);
  else assert.ok(Array.isArray(done.result), JSON.stringify(done.result));

  // The user was told, in the protocol and on stderr.
  const told = ed.logs.find((l) => l.type === 2 && /^lsptap: the connection to 127\.0\.0\.1:\d+ dropped.*; reconnected and reopened 1 document in \d+ ms/.test(l.message));
  assert.ok(told, JSON.stringify(ed.logs.filter((l) => /lsptap/.test(l.message))));
  assert.match(ed.stderr.text(), /lsptap: the connection to 127\.0\.0\.1:\d+ dropped.*; reconnected and reopened 1 document in \d+ ms/);
  // The same connection all along: no second initialize reached the editor.
  assert.equal(ed.received.filter((m) => m.result && m.result.serverInfo).length, 1);

  const st = await ed.shutdown();
  assert.deepEqual(st, { code: 0, signal: null }, ed.stderr.text());
  const s = validateSession(findSession(sessions));
  const names = s.events.map((e) => e.event);
  for (const n of ['server_lost', 'reconnect', 'replayed']) assert.ok(names.includes(n), `${n} in ${names}`);
  const rp = s.events.find((e) => e.event === 'replayed');
  assert.equal(rp.documents, 1);
  assert.ok(rp.bodies >= 3, JSON.stringify(rp));
  assert.ok(pidAlive(listener.pid), 'the listener serves on');
});

test('the gopls stand-in with -remote=ADDR (as VS Code starts it): the session survives the remote gopls being killed', { timeout: 180000 }, async (t) => {
  const ws = copyExample(t);
  const listener = await startListener(t, { cwd: ws });
  const addr = listener.addr;
  const ed = startEditor(t, standIn(), [`-remote=${addr}`], { workspace: ws, env: childEnv({ LSPTAP_DIR: tempDir(t) }) });
  await openMain(ed, ws);
  await hoverSees(ed, 'shout adds emphasis');
  const gopls = await waitFor('the listener\'s gopls', () => childPids(listener.pid)[0]);
  process.kill(gopls, 'SIGKILL');
  editMain(ed, 2, 'LOUD ');
  await hoverSees(ed, 'shout adds LOUD emphasis');
  assert.ok(ed.logs.some((l) => l.type === 2 && /^lsptap: the connection to .* dropped.*; reconnected and reopened 1 document/.test(l.message)));
  const st = await ed.shutdown();
  assert.equal(st.code, 0, ed.stderr.text());
});

test('relay --connect tls://: gopls behind a TLS listener killed; the new connection passes TLS again and the session goes on', { timeout: 180000 }, async (t) => {
  const certs = makeCerts(t);
  const ws = copyExample(t);
  const listener = await startListener(t, { addr: 'tls://127.0.0.1:0', cwd: ws,
    args: ['--cert', certs.file('server'), '--key', certs.file('server', 'key'), '--client-ca', certs.file('ca')] });
  const port = listener.addr.split(':').pop();
  const sessions = tempDir(t);
  const ed = startEditor(t, lsptapBin(), ['relay', '--connect', `tls://127.0.0.1:${port}`, '--ca', certs.file('ca'),
    '--cert', certs.file('client'), '--key', certs.file('client', 'key')], { workspace: ws, env: childEnv({ LSPTAP_DIR: sessions }) });
  await openMain(ed, ws);
  await hoverSees(ed, 'shout adds emphasis');
  const gopls = await waitFor('the listener\'s gopls', () => childPids(listener.pid)[0]);
  process.kill(gopls, 'SIGKILL');
  editMain(ed, 2, 'LOUD ');
  await hoverSees(ed, 'shout adds LOUD emphasis');
  const st = await ed.shutdown();
  assert.equal(st.code, 0, ed.stderr.text());
  const s = readSession(findSession(sessions));
  // One TLS handshake per connection: the first and the reconnection.
  assert.ok(s.events.filter((e) => e.event === 'tls').length >= 2, JSON.stringify(s.events.map((e) => e.event)));
  assert.ok(s.events.some((e) => e.event === 'replayed' && e.documents === 1));
});

test('relay --connect: the listener itself restarted; lsptap reconnects with backoff, saying why it cannot yet', { timeout: 180000 }, async (t) => {
  const ws = copyExample(t);
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  let listener = await startListener(t, { addr, cwd: ws });
  const sessions = tempDir(t);
  const ed = startEditor(t, lsptapBin(), ['relay', '--connect', addr], {
    workspace: ws,
    env: childEnv({ LSPTAP_DIR: sessions, LSPTAP_RECONNECT_MS: '120000' }),
  });
  await openMain(ed, ws);
  await hoverSees(ed, 'shout adds emphasis');

  process.kill(-listener.pid, 'SIGKILL');
  await withTimeout(listener.exited, 20000, 'the listener\'s end');
  // While nothing listens, lsptap says so, and netcheck says why.
  await waitFor('the failed reconnection on stderr', () => /reconnecting to 127\.0\.0\.1:\d+ failed: connection refused/.test(ed.stderr.text()));
  await waitFor('netcheck\'s report', () => /lsptap: netcheck: +transport +fail +connection refused/.test(ed.stderr.text()));
  editMain(ed, 2, 'LOUD ');
  listener = await startListener(t, { addr, cwd: ws });
  await hoverSees(ed, 'shout adds LOUD emphasis', 90000);
  const st = await ed.shutdown();
  assert.equal(st.code, 0, ed.stderr.text());
  const ev = readSession(findSession(sessions)).events;
  const all = JSON.stringify(ev.filter((e) => ['server_lost', 'reconnect', 'connect_failed'].includes(e.event)));
  const at = (e) => ev.indexOf(e);
  const reconnects = ev.filter((e) => e.event === 'reconnect');
  const lost = ev.filter((e) => e.event === 'server_lost');
  const refused = ev.filter((e) => e.event === 'connect_failed');
  assert.ok(refused.length >= 1 && refused.every((e) => e.error === 'connection refused'), all);
  assert.ok(ev.some((e) => e.event === 'netcheck'));
  // The last reconnection is the one to the new listener: after a refusal,
  // after failed attempts, and nothing was lost after it.
  const last = reconnects.at(-1);
  assert.ok(last && at(last) > at(refused[0]) && last.attempts >= 2, all);
  assert.ok(lost.every((e) => at(e) < at(last)), `no loss after the new listener took over: ${all}`);
  // Every earlier one reached the dying listener (its socket, which the
  // kernel still completed a handshake on, until it closed and refused) and
  // was dropped at once: one loss for the kill, one for each such reconnect.
  assert.match(lost[0].why, /^the connection to 127\.0\.0\.1:\d+ dropped(?! again)/, all);
  for (const rc of reconnects.slice(0, -1)) {
    assert.ok(at(rc) < at(refused[0]), `a reconnection before the last one is to the dying listener: ${all}`);
    const next = ev.slice(at(rc) + 1).find((e) => e.event === 'server_lost' || e.event === 'reconnect');
    assert.match(next?.why ?? '', /^the connection to 127\.0\.0\.1:\d+ dropped again/, all);
  }
  assert.equal(lost.length, reconnects.length, `one loss for the kill and one per reconnection the dying listener dropped: ${all}`);
});

test('relay --connect: requests in flight at the drop: the safe one answered by the new server, the command told to run again', { timeout: 60000 }, async (t) => {
  // peers/forgetful.mjs exits at the first hover, with it and a command in
  // flight; its successor answers.
  const mark = path.join(tempDir(t), 'dropped');
  const { addr } = await startListener(t, { server: peer('forgetful.mjs'), env: { PEER_MARK: mark } });
  const sessions = tempDir(t);
  const ed = startEditor(t, lsptapBin(), ['relay', '--connect', addr], { workspace: tempDir(t), env: childEnv({ LSPTAP_DIR: sessions }) });
  await ed.initialize();
  ed.notify('initialized', {});
  const cmd = settle(ed.request('workspace/executeCommand', { command: 'gopls.tidy', arguments: [] }, 30000));
  const hover = settle(ed.request('textDocument/hover', { textDocument: { uri: ed.uri('a.go') }, position: { line: 0, character: 0 } }, 30000));
  const h = await hover;
  assert.ok(!h.error, h.error && h.error.message);
  assert.equal(h.result.contents, 'answered by a new server');
  assert.ok(fs.existsSync(mark), 'the first server did drop');
  const c = await cmd;
  assert.equal(c.error?.code, -32803, JSON.stringify(c));
  assert.match(c.error.message, /^lsptap: the server was lost while running the command; reconnected; run it again/);
  const st = await ed.shutdown();
  assert.equal(st.code, 0, ed.stderr.text());
  const rp = readSession(findSession(sessions)).events.find((e) => e.event === 'replayed');
  assert.equal(rp.resent, 1);
  assert.equal(rp.failed, 1);
});

test('relay --connect: a target that drops every time ends after restart_max, with the forensics', { timeout: 120000 }, async (t) => {
  // The server answers initialize, then exits (peers/drops.mjs); the
  // listener starts a new one for every connection.
  const { addr } = await startListener(t, { server: peer('drops.mjs') });
  const sessions = tempDir(t);
  const ed = startEditor(t, lsptapBin(), ['relay', '--connect', addr], {
    workspace: tempDir(t),
    env: childEnv({ LSPTAP_DIR: sessions, LSPTAP_RESTART_MAX: '2' }),
  });
  await ed.initialize();
  ed.notify('initialized', {});
  ed.notify('textDocument/didOpen', { textDocument: { uri: ed.uri('a.go'), languageId: 'go', version: 1, text: 'package a\n' } });
  // Never answered by this server, and safe to resend: in flight through
  // every loss.
  const never = ed.conn.sendRequest('textDocument/hover', { textDocument: { uri: ed.uri('a.go') }, position: { line: 0, character: 0 } }).then(
    (r) => ({ result: r }),
    (e) => ({ error: e }),
  );
  const st = await withTimeout(ed.child.exited, 60000, 'lsptap ending after the crash loop');
  assert.equal(st.code, 1, ed.stderr.text());
  const err = ed.stderr.text();
  assert.match(err, /the 3rd time within 300 s \(restart_max is 2\); the session ends\./);
  assert.match(err, /lsptap: requests still waiting for an answer:\nlsptap: {3}textDocument\/hover \(id \d+\)/);
  assert.match(err, /lsptap: the last messages, oldest first:/);
  // Two reconnections were made and replayed before the third loss.
  assert.equal((err.match(/reconnected and reopened 1 document/g) || []).length, 2, err);
  const s = readSession(findSession(sessions));
  const loop = s.events.find((e) => e.event === 'crash_loop');
  assert.ok(loop, JSON.stringify(s.events.map((e) => e.event)));
  assert.deepEqual(loop.inflight.map((r) => r.method), ['textDocument/hover']);
  assert.ok(loop.last_messages.length > 0);
  assert.equal(s.events.filter((e) => e.event === 'server_lost').length, 2);
  const r = await withTimeout(never, 10000, 'the request in flight');
  assert.equal(r.error?.code, -32803, 'the editor learns its request will not be answered');
  assert.match(r.error.message, /^lsptap: the server was lost too often; the session ends/);
});

test('relay --connect with LSPTAP_KEEPALIVE=off: a dropped connection ends the session as before', { timeout: 120000 }, async (t) => {
  const { addr } = await startListener(t, { server: peer('drops.mjs') });
  const sessions = tempDir(t);
  const ed = startEditor(t, lsptapBin(), ['relay', '--connect', addr], {
    workspace: tempDir(t),
    env: childEnv({ LSPTAP_DIR: sessions, LSPTAP_KEEPALIVE: 'off' }),
  });
  await ed.initialize();
  ed.notify('initialized', {});
  const st = await withTimeout(ed.child.exited, 30000, 'lsptap ending with the connection');
  assert.equal(st.code, 0, ed.stderr.text());
  assert.doesNotMatch(ed.stderr.text(), /keep-alive|reconnect/);
  const s = readSession(findSession(sessions));
  assert.ok(!s.events.some((e) => e.event === 'server_lost'));
});
