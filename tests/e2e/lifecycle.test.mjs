// One server lifecycle (io/lp_server): the dlv stand-in and `relay --listen
// ADDR -- CMD` run their servers as the gopls relay does, as process group
// leaders inside lsptap's session, and the SIGTERM and SIGKILL stages reach
// the whole group (docs/decisions.md, "One server lifecycle").
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { childEnv, collect, lsptapBin, spawnTracked, tempDir, until, withTimeout } from './lib/env.mjs';
import { connectClient, realDlv, startDlv } from './lib/dap.mjs';
import { listeningAt } from './lib/relay.mjs';
import { eventsNamed, findSession, readSession } from './lib/session.mjs';

// /proc/PID/stat after the command's ')': state ppid pgrp session ...
const ids = (pid) => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { pgrp: Number(f[2]), session: Number(f[3]) };
};

test('dlv stand-in: dlv leads its own process group inside lsptap\'s session (no setsid)', { timeout: 60000 }, async (t) => {
  const cwd = tempDir(t);
  const dlv = startDlv(t, ['dap', '--listen=127.0.0.1:0', '--log-dest=3'], { cwd, env: childEnv({ LSPTAP_DLV: realDlv(), LSPTAP_DIR: `${cwd}/s` }) });
  await dlv.announced;
  const [pid] = dlv.children;
  assert.ok(pid, 'the real dlv runs');
  const server = ids(pid);
  const tap = ids(dlv.child.pid);
  assert.equal(server.pgrp, pid, `dlv (pid ${pid}) leads its process group: ${JSON.stringify(server)}`);
  assert.equal(server.session, tap.session, `dlv is in lsptap's session: dlv ${JSON.stringify(server)}, lsptap ${JSON.stringify(tap)}`);
});

// The server ignores SIGTERM and what it started holds its stdout: only a
// SIGKILL to the whole group ends that stdout, and with it the connection.
test('relay --listen -- CMD: after the editor\'s EOF, SIGTERM then SIGKILL reach the server\'s whole group', { timeout: 60000 }, async (t) => {
  const sessions = tempDir(t);
  const script = "trap '' TERM; sleep 1000 & echo ready; while :; do sleep 1; done";
  const listener = spawnTracked(t, lsptapBin(), ['relay', '--listen', '127.0.0.1:0', '--', '/bin/sh', '-c', script], {
    env: childEnv({ LSPTAP_DIR: sessions, LSPTAP_GRACE_MS: '100', LSPTAP_KILL_MS: '300' }),
  });
  const lerr = collect(listener.stderr);
  const addr = await listeningAt(listener);
  const [, host, port] = /^(.*):(\d+)$/.exec(addr);
  const sock = net.connect({ host, port: Number(port), allowHalfOpen: true });
  t.after(() => sock.destroy());
  sock.on('error', () => {});
  let got = '';
  let ended = false;
  sock.on('data', (d) => (got += d.toString('utf8')));
  sock.on('end', () => (ended = true));
  await until(() => got.includes('ready\n'), 20000, () => `the server's "ready"; stderr:\n${lerr.text()}`);
  let pid = 0;
  t.after(() => {
    try {
      if (pid) process.kill(-pid, 'SIGKILL'); // what an unfixed lsptap leaves behind
    } catch {
      // Gone, as it should be.
    }
  });
  sock.end(); // the editor's EOF: the grace time starts
  await until(() => {
    const f = fs.readdirSync(sessions).find((n) => n.endsWith('.jsonl'));
    if (f && !pid) {
      // The session is still being written: only its complete lines.
      const m = /"event":"spawn"[^\n]*?"pid":(\d+)/.exec(fs.readFileSync(path.join(sessions, f), 'utf8'));
      if (m) pid = Number(m[1]);
    }
    return ended;
  }, 30000, () => `the connection's end; stderr:\n${lerr.text()}`);
  const file = path.join(sessions, fs.readdirSync(sessions).find((n) => n.endsWith('.jsonl')));
  await until(() => /"event":"summary"/.test(fs.readFileSync(file, 'utf8')), 15000, 'the session summary');
  const s = readSession(file);
  const terms = eventsNamed(s, 'terminate').map((e) => [e.signal, e.after_ms]);
  assert.deepEqual(terms, [['SIGTERM', 100], ['SIGKILL', 300]], 'terminate events with the time waited');
  const [exit] = eventsNamed(s, 'exit');
  assert.equal(exit.signal, 9, JSON.stringify(exit));
  assert.equal(exit.signal_name, 'Killed');
  assert.equal(exit.pid, eventsNamed(s, 'spawn')[0].pid);
});

// The server exits at the editor's EOF, but what it started still holds its
// stdout: 2 s later (the drain) that process group is killed and the
// connection ends, as the stdio relay does for gopls.
test('relay --listen -- CMD: a process the server started holding its stdout is killed after the drain', { timeout: 60000 }, async (t) => {
  const sessions = tempDir(t);
  const script = 'sleep 1000 & echo ready; read x; exit 0';
  const listener = spawnTracked(t, lsptapBin(), ['relay', '--listen', '127.0.0.1:0', '--', '/bin/sh', '-c', script], {
    env: childEnv({ LSPTAP_DIR: sessions }),
  });
  const lerr = collect(listener.stderr);
  const [, host, port] = /^(.*):(\d+)$/.exec(await listeningAt(listener));
  const sock = net.connect({ host, port: Number(port), allowHalfOpen: true });
  t.after(() => sock.destroy());
  sock.on('error', () => {});
  let got = '';
  let ended = false;
  sock.on('data', (d) => (got += d.toString('utf8')));
  sock.on('end', () => (ended = true));
  await until(() => got.includes('ready\n'), 20000, () => `the server's "ready"; stderr:\n${lerr.text()}`);
  let pid = 0;
  t.after(() => {
    try {
      if (pid) process.kill(-pid, 'SIGKILL'); // what an unfixed lsptap leaves behind
    } catch {
      // Gone, as it should be.
    }
  });
  sock.end(); // the server's `read` ends, and the server with it
  await until(() => {
    const f = fs.readdirSync(sessions).find((n) => n.endsWith('.jsonl'));
    if (f && !pid) {
      const m = /"event":"spawn"[^\n]*?"pid":(\d+)/.exec(fs.readFileSync(path.join(sessions, f), 'utf8'));
      if (m) pid = Number(m[1]);
    }
    return ended;
  }, 30000, () => `the connection's end; stderr:\n${lerr.text()}`);
  const file = path.join(sessions, fs.readdirSync(sessions).find((n) => n.endsWith('.jsonl')));
  await until(() => /"event":"summary"/.test(fs.readFileSync(file, 'utf8')), 15000, 'the session summary');
  const s = readSession(file);
  const [exit] = eventsNamed(s, 'exit');
  assert.equal(exit.status, 0, JSON.stringify(exit));
  assert.deepEqual(eventsNamed(s, 'orphans_killed').map((e) => e.pgid), [exit.pid], 'the server\'s group was killed');
  assert.deepEqual(eventsNamed(s, 'terminate'), [], 'it exited on its own: no SIGTERM');
  assert.match(lerr.text(), /exited but its stdout is still open 2000 ms later .*killing what is left of its process group/);
});

// A dlv that fails at start and leaves a process holding its stdout and
// stderr: the stand-in still answers the editor, and 2 s after dlv's exit
// kills what is left of dlv's group, so it ends when the editor hangs up
// (it used to wait for those pipes forever).
test('dlv stand-in: dlv exits while a process it started holds its output: that group is killed after the drain', { timeout: 60000 }, async (t) => {
  const dir = tempDir(t);
  const fake = path.join(dir, 'dlv');
  fs.writeFileSync(fake, '#!/bin/sh\nsleep 1000 &\necho "could not launch process: simulated failure" >&2\nexit 3\n', { mode: 0o755 });
  const dlv = startDlv(t, ['dap', '--listen=127.0.0.1:0', '--log-dest=3'], { cwd: dir, env: childEnv({ LSPTAP_DLV: fake, LSPTAP_DIR: `${dir}/s` }) });
  const where = await dlv.announced;
  const { dc, hangUp } = await connectClient(t, where.port);
  const err = await withTimeout(dc.initializeRequest().then(() => null, (e) => e), 30000, 'the initialize response');
  assert.ok(err, 'initialize fails: dlv is gone');
  await withTimeout(dc.disconnectRequest({}), 10000, 'disconnect answered');
  hangUp();
  const exit = await withTimeout(dlv.child.exited, 30000, `lsptap exit; stderr:\n${dlv.stderr.text()}`);
  assert.deepEqual(exit, { code: 3, signal: null }, dlv.stderr.text());
  assert.match(dlv.stderr.text(), /dlv exited but its output is still open 2000 ms later .*killing what is left of its process group/);
  const s = readSession(findSession(`${dir}/s`));
  const [ex] = eventsNamed(s, 'exit');
  assert.deepEqual(eventsNamed(s, 'orphans_killed').map((e) => e.pgid), [ex.pid], 'dlv\'s group was killed');
});
