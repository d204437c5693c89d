// One server lifecycle (io/lp_server): the dlv stand-in, `relay --listen
// ADDR -- CMD` and `lsptap replay` run their servers as the gopls relay
// does, as process group leaders inside lsptap's session, and the SIGTERM
// and SIGKILL stages reach the whole group (docs/decisions.md, "One server
// lifecycle").
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { childEnv, collect, lsptapBin, pidAlive, spawnTracked, tempDir, until, withTimeout } from './lib/env.mjs';
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

// SIGKILL, after the test, to what an unfixed lsptap would leave behind:
// the process group led by pid() (or with group false, the process pid()
// alone). Nothing when it is gone, as it should be.
const killAfter = (t, pid, { group = true } = {}) =>
  t.after(() => {
    try {
      if (pid()) process.kill(group ? -pid() : pid(), 'SIGKILL');
    } catch {
      // Gone, as it should be.
    }
  });

// `lsptap relay --listen 127.0.0.1:0 -- /bin/sh -c SCRIPT` with one editor
// connected, once the server said "ready". `hangUp()` ends the editor's
// side and resolves with the session once the connection ended and its
// summary was written; the server's process group is killed after the test
// in case lsptap left it behind.
async function shRelay(t, script, env = {}) {
  const sessions = tempDir(t);
  const listener = spawnTracked(t, lsptapBin(), ['relay', '--listen', '127.0.0.1:0', '--', '/bin/sh', '-c', script], {
    env: childEnv({ LSPTAP_DIR: sessions, ...env }),
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
  const sessionFile = () => fs.readdirSync(sessions).find((n) => n.endsWith('.jsonl'));
  const hangUp = async () => {
    let pid = 0;
    killAfter(t, () => pid);
    sock.end();
    await until(() => {
      const f = sessionFile();
      if (f && !pid) {
        // The session is still being written: only its complete lines.
        const m = /"event":"spawn"[^\n]*?"pid":(\d+)/.exec(fs.readFileSync(path.join(sessions, f), 'utf8'));
        if (m) pid = Number(m[1]);
      }
      return ended;
    }, 30000, () => `the connection's end; stderr:\n${lerr.text()}`);
    const file = path.join(sessions, sessionFile());
    await until(() => /"event":"summary"/.test(fs.readFileSync(file, 'utf8')), 15000, 'the session summary');
    return readSession(file);
  };
  return { lerr, hangUp };
}

// The server ignores SIGTERM and what it started holds its stdout: only a
// SIGKILL to the whole group ends that stdout, and with it the connection.
test('relay --listen -- CMD: after the editor\'s EOF, SIGTERM then SIGKILL reach the server\'s whole group', { timeout: 60000 }, async (t) => {
  const relay = await shRelay(t, "trap '' TERM; sleep 1000 & echo ready; while :; do sleep 1; done", { LSPTAP_GRACE_MS: '100', LSPTAP_KILL_MS: '300' });
  const s = await relay.hangUp(); // the editor's EOF: the grace time starts
  const terms = eventsNamed(s, 'terminate').map((e) => [e.signal, e.after_ms]);
  assert.deepEqual(terms, [['SIGTERM', 100], ['SIGKILL', 300]], 'terminate events with the time waited');
  const [exit] = eventsNamed(s, 'exit');
  assert.equal(exit.signal, 9, JSON.stringify(exit));
  assert.equal(exit.signal_name, 'Killed');
  assert.equal(exit.pid, eventsNamed(s, 'spawn')[0].pid);
  // A SIGKILL that reached the server alone would leave `sleep 1000` holding
  // its stdout until the drain killed the group: then orphans_killed.
  assert.deepEqual(eventsNamed(s, 'orphans_killed'), [], 'the SIGKILL itself reached the whole group');
});

// The server exits at the editor's EOF, but what it started still holds its
// stdout: 2 s later (the drain) that process group is killed and the
// connection ends, as the stdio relay does for gopls.
test('relay --listen -- CMD: a process the server started holding its stdout is killed after the drain', { timeout: 60000 }, async (t) => {
  const relay = await shRelay(t, 'sleep 1000 & echo ready; read x; exit 0');
  const s = await relay.hangUp(); // the server's `read` ends, and the server with it
  const [exit] = eventsNamed(s, 'exit');
  assert.equal(exit.status, 0, JSON.stringify(exit));
  assert.deepEqual(eventsNamed(s, 'orphans_killed').map((e) => e.pgid), [exit.pid], 'the server\'s group was killed');
  assert.deepEqual(eventsNamed(s, 'terminate'), [], 'it exited on its own: no SIGTERM');
  assert.match(relay.lerr.text(), /exited but its stdout is still open 2000 ms later .*killing what is left of its process group/);
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

const note = (t_us, method) => JSON.stringify({ t_us, dir: 'c2s', kind: 'notification', method, body: { jsonrpc: '2.0', method } });

// A session for `lsptap replay` naming `argv` as its server, with `lines`
// after its header.
function writeSession(file, argv, cwd, lines) {
  const header = JSON.stringify({ lsptap: 1, protocol: 'lsp', start: new Date().toISOString(), argv, cwd });
  fs.writeFileSync(file, [header, ...lines].join('\n') + '\n');
}

// ... of two editor notifications.
const notificationsSession = (file, argv, cwd) => writeSession(file, argv, cwd, [note(1000, 'initialized'), note(2000, 'exit')]);

// The pid a server wrote into `file`, once it did.
const pidIn = (file) => until(() => fs.existsSync(file) && Number(fs.readFileSync(file, 'utf8')), 20000, `the pid in ${file}`);

// lsptap replay runs the server under test through the same lifecycle. This
// one ignores SIGTERM and what it started (which ignores it too) holds its
// stdout: after the replay's grace time SIGTERM and then SIGKILL go to the
// whole group, so nothing it started outlives the replay (replay used to
// signal the server's pid alone, and the process it started was left).
test('replay: a server that ignores SIGTERM is killed with its whole group; nothing it started is left', { timeout: 60000 }, async (t) => {
  const dir = tempDir(t);
  const pidFile = path.join(dir, 'started.pid');
  const script = `trap '' TERM; sleep 1000 & echo $! > '${pidFile}'; while :; do sleep 1; done`;
  const file = path.join(dir, 'session.jsonl');
  notificationsSession(file, ['/bin/sh', '-c', script], dir);
  let started = 0;
  killAfter(t, () => started, { group: false });
  const r = spawnSync(lsptapBin(), ['replay', file, '--json'], { env: childEnv(), encoding: 'utf8', timeout: 45000 });
  const show = `exit ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  assert.equal(r.error, undefined, `lsptap replay did not finish: ${r.error}\n${show}`);
  started = Number(fs.readFileSync(pidFile, 'utf8'));
  assert.ok(started > 0, `the server wrote the pid of what it started; ${show}`);
  await until(() => !pidAlive(started), 10000, `the process the server started (pid ${started}) to be gone after the replay; ${show}`);
  assert.equal(r.status, 0, show);
  const doc = JSON.parse(r.stdout);
  const terms = doc.events.filter((e) => e.what === 'terminate').map((e) => [e.signal, e.after_ms]);
  assert.deepEqual(terms, [['SIGTERM', 3000], ['SIGKILL', 2000]], `terminate events with the time waited; ${show}`);
  assert.deepEqual(doc.server_exit, { status: 0, signal: 9 }, show);
  assert.equal(doc.sent, 2, 'both notifications were sent');
  assert.match(r.stderr, /ignored SIGTERM for 2000 ms; sending SIGKILL to its process group/, show);
});

// Its server is no longer in the terminal's foreground group, so replay
// passes a Ctrl-C on itself: the server (an sh, which SIGINT ends) gets it,
// the replay ends with its report (exit 3: the server ended before the
// replay did), and the process the server started, which ignores SIGINT as
// an sh's background job does and holds its stdout, is killed with the
// group after the drain.
test('replay: SIGINT is passed on to the server and ends the replay; nothing the server started is left', { timeout: 60000 }, async (t) => {
  const dir = tempDir(t);
  const pidFile = path.join(dir, 'started.pid');
  const file = path.join(dir, 'session.jsonl');
  const init = { jsonrpc: '2.0', id: 0, method: 'initialize', params: {} };
  writeSession(file, ['/bin/sh', '-c', `sleep 1000 & echo $! > '${pidFile}'; while read x; do :; done`], dir, [
    JSON.stringify({ t_us: 1000, dir: 'c2s', kind: 'request', method: 'initialize', id: 0, body: init }),
    JSON.stringify({ t_us: 2000, dir: 's2c', kind: 'response', method: 'initialize', id: 0, body: { jsonrpc: '2.0', id: 0, result: {} } }),
    note(3000, 'exit'),
  ]);
  let started = 0;
  killAfter(t, () => started, { group: false });
  // --timeout 60: the exit waits for initialize's answer, which never comes.
  const rp = spawnTracked(t, lsptapBin(), ['replay', file, '--json', '--timeout', '60'], { env: childEnv() });
  const out = collect(rp.stdout);
  const err = collect(rp.stderr);
  started = await pidIn(pidFile);
  process.kill(rp.pid, 'SIGINT');
  const st = await withTimeout(rp.exited, 30000, `lsptap replay to end after SIGINT; stderr:\n${err.text()}`);
  const show = `stdout:\n${out.text()}\nstderr:\n${err.text()}`;
  assert.deepEqual(st, { code: 3, signal: null }, show);
  await until(() => !pidAlive(started), 10000, `the process the server started (pid ${started}) to be gone; ${show}`);
  const doc = JSON.parse(out.text());
  const whats = doc.events.map((e) => e.what);
  assert.deepEqual(whats, ['signal', 'server_exit', 'orphans_killed'], show);
  assert.equal(doc.events[0].signal, 2);
  assert.deepEqual(doc.server_exit, { status: 0, signal: 2 }, show);
  // The report says the user stopped the replay, not that the server crashed.
  const interrupted = /^the replay was interrupted at message \d+: lsptap got SIGINT \(Ctrl-C\) and passed it on to the server, which ended$/;
  assert.match(doc.events[1].message, interrupted, show);
  assert.equal(doc.events[1].signal, 2, show);
  assert.match(err.text(), /signal 2: passed on to the server; ending the replay/);
  assert.match(err.text(), /^lsptap replay: the replay was interrupted at message \d+: lsptap got SIGINT \(Ctrl-C\)/m);
  assert.ok(!/killed by signal/.test(out.text() + err.text()), show);
});
