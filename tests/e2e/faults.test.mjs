// When something goes wrong around lsptap it ends honestly: a killed server
// is reported with the requests it left unanswered, an editor that goes
// away takes the server with it, a stalled editor does not make lsptap
// buffer without bound, and a session directory it cannot write does not
// stop the relay.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  childEnv,
  childPids,
  collect,
  copyExample,
  peersDir,
  pidAlive,
  realGopls,
  rssBytes,
  sleep,
  spawnTracked,
  standIn,
  tempDir,
  withTimeout,
} from './lib/env.mjs';
import { startEditor } from './lib/lsp.mjs';
import { checkedSession, eventsNamed } from './lib/session.mjs';

const frame = (msg) => {
  const body = Buffer.from(JSON.stringify(msg));
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]);
};

// Polls `fn` every 50 ms until it returns a truthy value or `ms` pass.
async function until(fn, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'function' ? what() : what}`);
    await sleep(50);
  }
}

// The server lsptap started: its child whose command line mentions `name`
// (lsptap may run other helpers, such as `go env`, beside it). `stderr` (a
// collector) goes into the failure message.
async function serverPid(lsptap, stderr, name) {
  return until(() => {
    if (lsptap.exitCode !== null || lsptap.signalCode !== null) {
      throw new Error(`lsptap exited (${lsptap.exitCode ?? lsptap.signalCode}) without a server; stderr:\n${stderr ? stderr.text() : ''}`);
    }
    return childPids(lsptap.pid).find((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(name);
      } catch {
        return false;
      }
    });
  }, 10000, () => `lsptap to start ${name}; lsptap stderr:\n${stderr ? stderr.text() : ''}`);
}

const signalOf = (e) => (e.signal === 'SIGKILL' ? 9 : e.signal);

test('faults: server killed mid-request: EOF to the editor, exit 128+9, pending requests named', { timeout: 30000 }, async (t) => {
  const dir = tempDir(t);
  const record = path.join(dir, 'received');
  const sessions = path.join(dir, 'sessions');
  const lsptap = spawnTracked(t, standIn(), [], {
    cwd: dir,
    env: childEnv({ LSPTAP_GOPLS: path.join(peersDir, 'silent.mjs'), LSPTAP_DIR: sessions, PEER_RECORD: record }),
  });
  const stderr = collect(lsptap.stderr);
  const stdout = collect(lsptap.stdout);
  const eof = new Promise((r) => lsptap.stdout.once('end', r));
  const uri = 'file:///nowhere/main.go';
  const reqs = Buffer.concat([
    frame({ jsonrpc: '2.0', id: 4242, method: 'textDocument/hover', params: { textDocument: { uri }, position: { line: 1, character: 2 } } }),
    frame({ jsonrpc: '2.0', id: 'req-abc', method: 'textDocument/definition', params: { textDocument: { uri }, position: { line: 3, character: 4 } } }),
  ]);
  lsptap.stdin.write(reqs);
  const pid = await serverPid(lsptap, stderr, 'silent.mjs');
  await until(() => fs.existsSync(record) && fs.statSync(record).size === reqs.length, 10000, 'the server to receive both requests');

  process.kill(pid, 'SIGKILL');
  await withTimeout(eof, 10000, 'EOF on lsptap stdout after the server died');
  const st = await withTimeout(lsptap.exited, 10000, 'lsptap exit');
  const err = stderr.text();
  assert.deepEqual(st, { code: 128 + 9, signal: null }, `lsptap exit; stderr:\n${err}`);
  assert.equal(stdout.buffer().length, 0, 'the silent server wrote nothing, so neither may lsptap');
  assert.ok(!pidAlive(pid), 'server gone');

  const lines = err.split('\n');
  for (const [method, id] of [['textDocument/hover', '4242'], ['textDocument/definition', 'req-abc']]) {
    assert.ok(
      lines.some((l) => l.startsWith('lsptap:') && l.includes(method) && l.includes(id)),
      `stderr names pending ${method} id ${id}:\n${err}`,
    );
  }

  const s = checkedSession(sessions);
  const pending = eventsNamed(s, 'pending').map((e) => ({ method: e.method, id: e.id }));
  assert.deepEqual(
    pending.sort((a, b) => String(a.id).localeCompare(String(b.id))),
    [
      { method: 'textDocument/hover', id: 4242 },
      { method: 'textDocument/definition', id: 'req-abc' },
    ],
    'pending events',
  );
  const exits = eventsNamed(s, 'exit');
  assert.equal(exits.length, 1, 'one exit event');
  assert.equal(signalOf(exits[0]), 9, `exit event names SIGKILL: ${JSON.stringify(exits[0])}`);
});

// One editor session up to `initialized`, then the editor closes stdin
// without shutdown/exit. Returns the exit status and the server's pid.
async function closeAfterInitialized(t, cmd, env) {
  const ws = copyExample(t);
  const ed = startEditor(t, cmd, [], { workspace: ws, env });
  await ed.initialize();
  ed.notify('initialized', {});
  await ed.request('textDocument/documentSymbol', { textDocument: { uri: ed.uri('main.go') } });
  const pid = cmd === realGopls() ? ed.child.pid : await serverPid(ed.child, ed.stderr, path.basename(realGopls()));
  ed.hangUp();
  const st = await withTimeout(ed.child.exited, 20000, `${path.basename(cmd)} exit after stdin EOF`);
  return { st, pid, stderr: ed.stderr.text() };
}

test('faults: editor closes stdin: gopls exits, lsptap exits with its status, nothing left running', { timeout: 60000 }, async (t) => {
  const direct = await closeAfterInitialized(t, realGopls(), childEnv());
  const sessions = path.join(tempDir(t), 'sessions');
  const tapped = await closeAfterInitialized(t, standIn(), childEnv({ LSPTAP_GOPLS: realGopls(), LSPTAP_DIR: sessions }));
  assert.deepEqual(tapped.st, direct.st, `lsptap's exit is gopls's; stderr:\n${tapped.stderr}`);
  assert.ok(!pidAlive(tapped.pid), `gopls (pid ${tapped.pid}) still running after lsptap exited`);

  const s = checkedSession(sessions);
  const spawns = eventsNamed(s, 'spawn');
  assert.equal(spawns.length, 1, 'one spawn event');
  if ('pid' in spawns[0]) assert.equal(spawns[0].pid, tapped.pid, 'spawn event pid is the server lsptap started');
  const exits = eventsNamed(s, 'exit');
  assert.equal(exits.length, 1, 'one exit event');
  assert.equal(exits[0].status, direct.st.code, `exit event: ${JSON.stringify(exits[0])}`);
});

test('faults: editor closes stdin, server ignores EOF and SIGTERM: SIGTERM, then SIGKILL, exit 128+9', { timeout: 60000 }, async (t) => {
  const dir = tempDir(t);
  const lsptap = spawnTracked(t, standIn(), [], {
    cwd: dir,
    env: childEnv({ LSPTAP_GOPLS: path.join(peersDir, 'stubborn.mjs'), LSPTAP_DIR: path.join(dir, 'sessions') }),
  });
  const stderr = collect(lsptap.stderr);
  lsptap.stdout.resume();
  const pid = await serverPid(lsptap, stderr, 'stubborn.mjs');
  // Let node in the peer install its handlers before the EOF arrives.
  await sleep(500);
  const t0 = Date.now();
  lsptap.stdin.end();
  const st = await withTimeout(lsptap.exited, 45000, 'lsptap exit after grace, SIGTERM and SIGKILL');
  const err = stderr.text();
  assert.deepEqual(st, { code: 128 + 9, signal: null }, `lsptap exit; stderr:\n${err}`);
  assert.ok(!pidAlive(pid), `server (pid ${pid}) still running`);
  assert.match(err, /^stubborn: stdin EOF ignored$/m, 'the server saw EOF first (its stderr passes through)');
  assert.match(err, /^stubborn: SIGTERM ignored$/m, 'then SIGTERM, before SIGKILL');
  t.diagnostic(`lsptap gave up on the server after ${Date.now() - t0} ms`);
});

test('faults: editor stops reading while the server writes 200 MB: lsptap stays under 64 MB, then delivers every byte', { timeout: 120000 }, async (t) => {
  const dir = tempDir(t);
  const report = path.join(dir, 'report');
  const lsptap = spawnTracked(t, standIn(), [], {
    cwd: dir,
    env: childEnv({
      LSPTAP_GOPLS: path.join(peersDir, 'flood.mjs'),
      LSPTAP_DIR: path.join(dir, 'sessions'),
      LSPTAP_RECORD: 'meta',
      PEER_REPORT: report,
      PEER_FLOOD_BYTES: String(200e6),
    }),
  });
  const stderr = collect(lsptap.stderr);
  // stdout is not read yet: node fills its small buffer and stops reading.
  lsptap.stdout.pause();
  const progress = () => (fs.existsSync(`${report}.progress`) ? Number(fs.readFileSync(`${report}.progress`, 'utf8')) || 0 : 0);

  // Stall until the server cannot write any more (no progress for 1 s),
  // sampling lsptap's memory all along.
  let peak = 0;
  let last = -1;
  let since = Date.now();
  const t0 = Date.now();
  for (;;) {
    const rss = rssBytes(lsptap.pid);
    assert.ok(rss !== null && lsptap.exitCode === null, `lsptap exited during the stall; stderr:\n${stderr.text()}`);
    peak = Math.max(peak, rss);
    const p = progress();
    if (p !== last) {
      last = p;
      since = Date.now();
    } else if (p > 0 && Date.now() - since > 1000) break;
    assert.ok(Date.now() - t0 < 30000, `the server never stalled (wrote ${p} bytes); lsptap stderr:\n${stderr.text()}`);
    assert.ok(!fs.existsSync(report), 'the server wrote all 200 MB while the editor read nothing: no backpressure');
    await sleep(50);
  }
  t.diagnostic(`stalled after the server wrote ${last} bytes; lsptap peak VmRSS ${(peak / 1048576).toFixed(1)} MiB`);
  assert.ok(peak > 0, 'sampled lsptap memory');
  assert.ok(peak < 64 * 1048576, `lsptap VmRSS peaked at ${peak} bytes during the stall`);
  assert.ok(last < 100e6, `the server could write ${last} bytes while the editor read nothing`);

  // Resume: everything arrives, in order, unchanged.
  const hash = crypto.createHash('sha256');
  let got = 0;
  lsptap.stdout.on('data', (b) => {
    hash.update(b);
    got += b.length;
  });
  lsptap.stdout.resume();
  const want = await until(() => fs.existsSync(report) && JSON.parse(fs.readFileSync(report, 'utf8')), 60000, 'the server to finish writing');
  await until(() => got >= want.bytes, 60000, `all ${want.bytes} bytes (got ${got})`);
  lsptap.stdin.end();
  const st = await withTimeout(lsptap.exited, 20000, 'lsptap exit');
  assert.deepEqual(st, { code: 0, signal: null }, `lsptap exit; stderr:\n${stderr.text()}`);
  assert.equal(got, want.bytes, 'byte count');
  assert.equal(hash.digest('hex'), want.sha256, 'sha256 of the 200 MB');
});

test('faults: session directory cannot be created: the relay works and stderr says once why nothing is recorded', { timeout: 60000 }, async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'a-file');
  fs.writeFileSync(file, '');
  // Root ignores permission bits, so use a path below a regular file: ENOTDIR.
  const sessions = path.join(file, 'sessions');
  const ws = copyExample(t);
  const ed = startEditor(t, standIn(), [], {
    workspace: ws,
    env: childEnv({ LSPTAP_GOPLS: realGopls(), LSPTAP_DIR: sessions }),
  });
  const init = await ed.initialize();
  assert.ok(init.capabilities.hoverProvider, 'initialize answered through lsptap');
  ed.notify('initialized', {});
  const syms = await ed.request('textDocument/documentSymbol', { textDocument: { uri: ed.uri('main.go') } });
  assert.ok(Array.isArray(syms) && syms.length > 0, 'documentSymbol answered through lsptap');
  const st = await ed.shutdown();
  const err = ed.stderr.text();
  assert.deepEqual(st, { code: 0, signal: null }, `lsptap exit; stderr:\n${err}`);

  const why = err.split('\n').filter((l) => /not a directory|ENOTDIR/i.test(l));
  assert.equal(why.length, 1, `exactly one stderr line gives the reason:\n${err}`);
  assert.match(why[0], /^lsptap:/, 'it is lsptap\'s own line');
  assert.ok(why[0].includes(sessions), `it names the directory: ${why[0]}`);
  assert.match(why[0], /record|session/i, `it says recording is off: ${why[0]}`);
  assert.ok(!fs.statSync(file).isDirectory() && fs.statSync(file).size === 0, 'the file in the way is left alone');
});
