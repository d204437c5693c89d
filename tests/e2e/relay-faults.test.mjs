// The relay under hostile surroundings: signals sent to lsptap reach the
// server (which inherits none of lsptap's own signal settings), a side that
// stops reading or closes its input does not kill lsptap with SIGPIPE, old
// sessions are rotated by size, a full disk costs session lines but never a
// relayed byte, standard streams that are regular files work (and one that
// fails ends the session instead of hanging it), a server that reads slowly
// does not make lsptap buffer without bound, a server's last bytes survive
// an editor that is slow to read them, and a message over the inspection
// cap is relayed whole but recorded as metadata only.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  childEnv,
  collect,
  lsptapBin,
  peersDir,
  pidAlive,
  rssBytes,
  serverPid,
  sleep,
  spawnTracked,
  standIn,
  tempDir,
  until,
  withTimeout,
} from './lib/env.mjs';
import { digest, firstDifference } from './lib/frames.mjs';
import { checkedSession, eventsNamed, findSession, readSession } from './lib/session.mjs';

const frame = (msg) => {
  const body = Buffer.from(JSON.stringify(msg));
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]);
};

// A notification frame of about `size` bytes (at least its envelope).
const padded = (i, size) => frame({ jsonrpc: '2.0', method: 'test/data', params: { i, pad: 'p'.repeat(Math.max(0, size - 80)) } });

// `total` bytes or a little more of notification frames, sizes cycling from
// 1 KiB to 256 KiB, so every run is the same.
function frames(total) {
  const out = [];
  let n = 0;
  for (let i = 0; n < total; i++) {
    const f = padded(i, 1024 << i % 9);
    out.push(f);
    n += f.length;
  }
  return Buffer.concat(out);
}

function assertSameBytes(got, want, what) {
  const g = digest(got);
  const w = digest(want);
  if (g.sha256 === w.sha256 && g.length === w.length) return;
  const at = firstDifference(got, want);
  assert.fail(`${what}: got ${g.length} bytes sha256 ${g.sha256}, want ${w.length} bytes sha256 ${w.sha256}; first difference at offset ${at}`);
}

// lsptap's own stderr lines.
const ownLines = (err) => err.split('\n').filter((l) => l.startsWith('lsptap:'));

// The stand-in in front of a peer, with a fresh session directory. Returns
// { lsptap, stderr, sessions, dir }.
function startTap(t, peer, env = {}, opts = {}) {
  const dir = tempDir(t);
  const sessions = env.LSPTAP_DIR || path.join(dir, 'sessions');
  const lsptap = spawnTracked(t, standIn(), [], {
    cwd: dir,
    env: childEnv({ LSPTAP_GOPLS: path.join(peersDir, peer), LSPTAP_DIR: sessions, ...env }),
    ...opts,
  });
  const stderr = lsptap.stderr ? collect(lsptap.stderr) : null;
  return { lsptap, stderr, sessions, dir };
}

// ---- 1. signals ----

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  test(`relay faults: ${sig} sent to lsptap reaches the server, lsptap exits with the server's status`, { timeout: 30000 }, async (t) => {
    const scratch = tempDir(t);
    const got = path.join(scratch, 'signal');
    const ready = path.join(scratch, 'ready');
    const { lsptap, stderr, sessions } = startTap(t, 'signals.mjs', {
      PEER_TRAP: 'SIGTERM,SIGINT,SIGHUP',
      PEER_SIGNAL_FILE: got,
      PEER_READY: ready,
    });
    lsptap.stdout.resume();
    const pid = await serverPid(lsptap, stderr, 'signals.mjs');
    await until(() => fs.existsSync(ready), 10000, 'the server to install its signal handlers');

    process.kill(lsptap.pid, sig);
    const st = await withTimeout(lsptap.exited, 10000, `lsptap exit after ${sig}`);
    const err = stderr.text();
    const n = os.constants.signals[sig];
    assert.ok(fs.existsSync(got), `the server never received a trapped signal; lsptap exit ${JSON.stringify(st)}, stderr:\n${err}`);
    assert.equal(fs.readFileSync(got, 'utf8'), sig, 'the server received the same signal');
    assert.deepEqual(st, { code: 128 + n, signal: null }, `lsptap exits with the server's status 128+${n}; stderr:\n${err}`);
    assert.ok(!pidAlive(pid), `server (pid ${pid}) still running`);

    const exits = eventsNamed(checkedSession(sessions), 'exit');
    assert.equal(exits.length, 1, 'one exit event');
    assert.equal(exits[0].status, 128 + n, `exit event: ${JSON.stringify(exits[0])}`);
    assert.equal(exits[0].signal, null, `the server exited, it was not killed: ${JSON.stringify(exits[0])}`);
  });
}

test('relay faults: SIGTERM to lsptap, server does not trap it: the server dies of it, lsptap exits 143', { timeout: 30000 }, async (t) => {
  const ready = path.join(tempDir(t), 'ready');
  const { lsptap, stderr, sessions } = startTap(t, 'signals.mjs', { PEER_TRAP: '', PEER_READY: ready });
  lsptap.stdout.resume();
  const pid = await serverPid(lsptap, stderr, 'signals.mjs');
  await until(() => fs.existsSync(ready), 10000, 'the server to start');

  process.kill(lsptap.pid, 'SIGTERM');
  const st = await withTimeout(lsptap.exited, 10000, 'lsptap exit after SIGTERM');
  assert.deepEqual(st, { code: 128 + 15, signal: null }, `lsptap exit; stderr:\n${stderr.text()}`);
  assert.ok(!pidAlive(pid), `server (pid ${pid}) still running`);
  const exits = eventsNamed(checkedSession(sessions), 'exit');
  assert.equal(exits.length, 1, 'one exit event');
  assert.equal(exits[0].signal, 15, `exit event names SIGTERM: ${JSON.stringify(exits[0])}`);
});

// ---- 2. SIGPIPE ----

// lsptap itself ignores SIGPIPE; the server must not inherit that (nor any
// blocked signal): it starts as it would without lsptap.
test('relay faults: the server starts with the signal dispositions and mask it would have without lsptap', { timeout: 30000 }, async (t) => {
  const dir = tempDir(t);
  const peer = path.join(peersDir, 'sigstate.sh');
  const direct = spawnTracked(t, peer, [], { cwd: dir, env: childEnv({ PEER_REPORT: path.join(dir, 'direct') }) });
  direct.stdin.end();
  direct.stdout.resume();
  await withTimeout(direct.exited, 10000, 'the peer started directly');
  const want = fs.readFileSync(path.join(dir, 'direct'), 'utf8');

  const report = path.join(dir, 'tapped');
  const { lsptap, stderr } = startTap(t, 'sigstate.sh', { PEER_REPORT: report, LSPTAP_RECORD: 'off' });
  lsptap.stdout.resume();
  await until(() => fs.existsSync(report), 10000, () => `the peer's report; stderr:\n${stderr.text()}`);
  lsptap.stdin.end();
  const st = await withTimeout(lsptap.exited, 10000, 'lsptap exit');
  assert.deepEqual(st, { code: 0, signal: null }, `lsptap exit; stderr:\n${stderr.text()}`);
  const got = fs.readFileSync(report, 'utf8');
  const ign = BigInt(`0x${/^SigIgn:\s*([0-9a-f]+)/m.exec(got)[1]}`);
  assert.equal((ign >> BigInt(os.constants.signals.SIGPIPE - 1)) & 1n, 0n, `the server inherited SIGPIPE ignored:\n${got}`);
  assert.equal(got, want, 'signal mask and ignored set, through lsptap and directly');
});

// The server leads a process group of its own (the SIGKILL stage kills the
// whole group) but stays in lsptap's session, where a server the editor
// started directly would be: on Linux a new session is a new scheduler
// autogroup, which made a busy machine's hovers slower (docs/decisions.md).
test('relay faults: the server leads its own process group inside lsptap\'s session', { timeout: 30000 }, async (t) => {
  const { lsptap, stderr } = startTap(t, 'echo.mjs', { LSPTAP_RECORD: 'off' });
  lsptap.stdout.resume();
  const pid = await serverPid(lsptap, stderr, 'echo.mjs');
  // /proc/PID/stat after the command's ')': state ppid pgrp session ...
  const ids = (p) => {
    const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pgrp: Number(f[2]), session: Number(f[3]) };
  };
  const server = ids(pid);
  const tap = ids(lsptap.pid);
  assert.equal(server.pgrp, pid, `the server (pid ${pid}) leads its process group: ${JSON.stringify(server)}`);
  assert.notEqual(tap.pgrp, pid, 'lsptap is not in the server\'s group');
  assert.equal(server.session, tap.session, `the server is in lsptap's session: server ${JSON.stringify(server)}, lsptap ${JSON.stringify(tap)}`);
  lsptap.stdin.end();
  const st = await withTimeout(lsptap.exited, 10000, 'lsptap exit');
  assert.deepEqual(st, { code: 0, signal: null }, `lsptap exit; stderr:\n${stderr.text()}`);
});

test('relay faults: editor closes its end of stdout while the server writes: no SIGPIPE, server input closed, its status', { timeout: 30000 }, async (t) => {
  const progress = path.join(tempDir(t), 'progress');
  const { lsptap, stderr } = startTap(t, 'chatter.mjs', { PEER_EXIT: '42', PEER_PROGRESS: progress, LSPTAP_RECORD: 'meta' });
  const pid = await serverPid(lsptap, stderr, 'chatter.mjs');
  // Some frames reach the editor first: the relay is flowing.
  let seen = 0;
  lsptap.stdout.on('data', (b) => {
    seen += b.length;
  });
  await until(() => seen > 256 * 1024, 10000, () => `frames from the server (got ${seen} bytes); stderr:\n${stderr.text()}`);
  const written = () => (fs.existsSync(progress) ? Number(fs.readFileSync(progress, 'utf8')) || 0 : 0);
  const before = written();

  // The editor's read end goes away; its stdin (lsptap's input) stays open.
  lsptap.stdout.destroy();
  const st = await withTimeout(lsptap.exited, 20000, 'lsptap exit after the editor stopped reading');
  const err = stderr.text();
  assert.notEqual(st.signal, 'SIGPIPE', `lsptap was killed by SIGPIPE; stderr:\n${err}`);
  assert.deepEqual(st, { code: 42, signal: null }, `lsptap exits with the server's status (42, given only at its stdin EOF); stderr:\n${err}`);
  assert.ok(!pidAlive(pid), `server (pid ${pid}) still running`);
  const gone = ownLines(err).filter((l) => /editor stopped reading/.test(l));
  assert.equal(gone.length, 1, `exactly one lsptap: line says the editor stopped reading:\n${err}`);
  assert.match(gone[0], /input/, `it says the server's input is closed: ${gone[0]}`);
  t.diagnostic(`the server had written ${before} bytes when the editor went away, ${written()} when its input closed`);
});

test('relay faults: server closes its stdin while the editor writes: no SIGPIPE, told once, the server\'s status', { timeout: 30000 }, async (t) => {
  const ready = path.join(tempDir(t), 'ready');
  const { lsptap, stderr, sessions } = startTap(t, 'deaf.mjs', { PEER_READY: ready, PEER_EXIT: '5', PEER_LINGER_MS: '1500', LSPTAP_RECORD: 'meta' });
  lsptap.stdout.resume();
  lsptap.stdin.on('error', () => {}); // EPIPE once lsptap is gone
  await until(() => fs.existsSync(ready), 10000, () => `the server to close its stdin; stderr:\n${stderr.text()}`);
  // The editor keeps writing until lsptap exits.
  let done = false;
  let sent = 0;
  const writer = (async () => {
    for (let i = 0; !done && !lsptap.stdin.destroyed; i++) {
      const f = padded(i, 64 * 1024);
      sent += f.length;
      if (!lsptap.stdin.write(f)) await Promise.race([new Promise((r) => lsptap.stdin.once('drain', r)), lsptap.exited]);
      await sleep(2);
    }
  })();
  const st = await withTimeout(lsptap.exited, 20000, 'lsptap exit after the server exited');
  done = true;
  await writer;
  const err = stderr.text();
  assert.notEqual(st.signal, 'SIGPIPE', `lsptap was killed by SIGPIPE; stderr:\n${err}`);
  assert.deepEqual(st, { code: 5, signal: null }, `lsptap exits with the server's status; stderr:\n${err}`);
  const lost = ownLines(err).filter((l) => /writing to .* failed/.test(l));
  assert.equal(lost.length, 1, `exactly one lsptap: line says the server's input is lost:\n${err}`);
  assert.match(lost[0], /broken pipe|EPIPE/i, `it gives the reason: ${lost[0]}`);
  const summary = eventsNamed(checkedSession(sessions, { record: 'meta' }), 'summary')[0];
  t.diagnostic(`editor wrote ${sent} bytes; summary read ${JSON.stringify(summary.read)} written ${JSON.stringify(summary.written)}`);
  assert.ok(summary.written.c2s < summary.read.c2s, `the summary shows the editor's bytes the server never got: ${JSON.stringify(summary)}`);
});

// ---- 3. rotation ----

test('relay faults: old sessions over LSPTAP_MAX_TOTAL_MB: the oldest *.jsonl go, the newest stay, nothing else is touched', { timeout: 30000 }, async (t) => {
  const dir = tempDir(t);
  const sessions = path.join(dir, 'sessions');
  fs.mkdirSync(sessions, { mode: 0o700 });
  const day = 86400;
  const now = Date.now() / 1000;
  // Names sort the other way round from age: rotation must go by mtime.
  const old = [];
  for (let i = 0; i < 5; i++) {
    const name = `${String.fromCharCode(0x65 - i)}-old.jsonl`; // e (oldest) ... a (newest)
    const p = path.join(sessions, name);
    fs.writeFileSync(p, Buffer.alloc(400 * 1024, 0x61 + i));
    const mtime = now - (10 - i) * day;
    fs.utimesSync(p, mtime, mtime);
    old.push({ name, mtime });
  }
  // Not session files, and older than all of them.
  const outside = path.join(dir, 'outside.txt');
  fs.writeFileSync(outside, Buffer.alloc(400 * 1024, 0x6f));
  const others = {
    'notes.txt': Buffer.alloc(3 << 20, 0x6e),
    'e-old.jsonl.bak': Buffer.alloc(400 * 1024, 0x62),
    jsonl: Buffer.from('not a session\n'),
  };
  for (const [name, data] of Object.entries(others)) {
    const p = path.join(sessions, name);
    fs.writeFileSync(p, data);
    fs.utimesSync(p, now - 30 * day, now - 30 * day);
  }
  fs.symlinkSync(outside, path.join(sessions, 'link.jsonl'));
  fs.mkdirSync(path.join(sessions, 'dir.jsonl'));

  const { lsptap, stderr } = startTap(t, 'silent.mjs', { LSPTAP_DIR: sessions, LSPTAP_MAX_TOTAL_MB: '1' });
  lsptap.stdout.resume();
  lsptap.stdin.end(frame({ jsonrpc: '2.0', method: 'test/hello' }));
  const st = await withTimeout(lsptap.exited, 15000, 'lsptap exit');
  assert.deepEqual(st, { code: 0, signal: null }, `lsptap exit; stderr:\n${stderr.text()}`);

  const left = new Set(fs.readdirSync(sessions));
  const kept = old.filter((o) => left.has(o.name));
  const removed = old.filter((o) => !left.has(o.name));
  const total = kept.reduce((n, o) => n + fs.statSync(path.join(sessions, o.name)).size, 0);
  assert.ok(total <= 1 << 20, `old sessions left total ${total} bytes (> 1 MiB): ${kept.map((o) => o.name)}`);
  // Oldest first, and no more than needed: 2 x 400 KiB fit under 1 MiB.
  assert.deepEqual(removed.map((o) => o.name), ['e-old.jsonl', 'd-old.jsonl', 'c-old.jsonl'], 'the three oldest are removed');
  assert.deepEqual(kept.map((o) => o.name), ['b-old.jsonl', 'a-old.jsonl'], 'the two newest are kept');
  for (const o of kept) assert.equal(fs.statSync(path.join(sessions, o.name)).size, 400 * 1024, `${o.name} unchanged`);

  for (const [name, data] of Object.entries(others)) {
    assert.ok(left.has(name), `${name} (not a *.jsonl) was removed`);
    assert.ok(fs.readFileSync(path.join(sessions, name)).equals(data), `${name} changed`);
  }
  assert.ok(fs.lstatSync(path.join(sessions, 'dir.jsonl')).isDirectory(), 'a directory named *.jsonl is left alone');
  assert.ok(fs.existsSync(outside) && fs.statSync(outside).size === 400 * 1024, 'the file a *.jsonl symlink points to is left alone');

  // And this session was recorded beside them.
  const mine = [...left].filter((f) => f.endsWith('.jsonl') && !old.some((o) => o.name === f) && f !== 'link.jsonl' && f !== 'dir.jsonl');
  assert.equal(mine.length, 1, `one new session file: ${JSON.stringify([...left])}`);
  readSession(path.join(sessions, mine[0]));
});

// ---- 4. disk full ----

// A tmpfs of `size` mounted on a fresh directory, unmounted and removed
// after the test. Returns null when it cannot be mounted (not root, no
// CAP_SYS_ADMIN, a container that forbids it) together with the reason.
function smallTmpfs(t, size) {
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'lsptap-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', mnt], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    fs.rmSync(mnt, { recursive: true, force: true });
    return { mnt: null, why: (e.stderr && e.stderr.toString().trim()) || e.message };
  }
  t.after(() => {
    try {
      execFileSync('umount', [mnt], { stdio: 'ignore' });
    } catch {
      execFileSync('umount', ['-l', mnt], { stdio: 'ignore' });
    }
    fs.rmSync(mnt, { recursive: true, force: true });
  });
  return { mnt, why: null };
}

// Writes `buf` to `stream` in chunks of `chunk`, honouring backpressure.
async function writeAll(stream, buf, chunk = 256 * 1024) {
  for (let off = 0; off < buf.length; off += chunk) {
    if (!stream.write(buf.subarray(off, off + chunk))) await new Promise((r) => stream.once('drain', r));
  }
}

test('relay faults: the disk fills up under the session file: every byte still relayed, stderr says so once, exit 0', { timeout: 60000 }, async (t) => {
  const { mnt, why } = smallTmpfs(t, '256k');
  if (!mnt) {
    t.skip(`cannot mount a small tmpfs to fill (needs root with CAP_SYS_ADMIN): ${why}`);
    return;
  }
  const sessions = path.join(mnt, 'sessions');
  const { lsptap, stderr } = startTap(t, 'echo.mjs', { LSPTAP_DIR: sessions, LSPTAP_RECORD: 'full' });
  const out = collect(lsptap.stdout);
  const input = frames(4 << 20);
  await writeAll(lsptap.stdin, input);
  lsptap.stdin.end();
  const st = await withTimeout(lsptap.exited, 30000, 'lsptap exit');
  const err = stderr.text();
  assert.deepEqual(st, { code: 0, signal: null }, `lsptap exit; stderr:\n${err}`);
  assertSameBytes(out.buffer(), input, 'editor -> echo server -> editor');

  const own = ownLines(err);
  const failed = own.filter((l) => /writing the session file/i.test(l));
  assert.equal(failed.length, 1, `exactly one lsptap: line says writing the session file failed:\n${err}`);
  assert.match(failed[0], /No space left|ENOSPC/, `it gives the reason: ${failed[0]}`);
  assert.ok(failed[0].includes(sessions), `it names the file: ${failed[0]}`);
  const summary = own[own.length - 1];
  assert.match(summary, /session ended/, `the summary is lsptap's last line:\n${err}`);
  assert.match(summary, /dropped/, `the summary mentions the dropped lines: ${summary}`);
  // Apart from the summary, nothing else repeats the disk error.
  assert.equal(own.filter((l) => l !== summary && /No space left|ENOSPC/.test(l)).length, 1, `the disk error is told once:\n${err}`);
  // The file is cut short where the disk filled; the reader still uses it.
  const file = findSession(sessions);
  let stats;
  try {
    stats = execFileSync(lsptapBin(), ['stats', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    assert.fail(`lsptap stats on the cut-short session failed (${e.status}): ${e.stderr}`);
  }
  assert.match(stats, /test\/data/, `lsptap stats reads the lines before the cut:\n${stats}`);
});

// The disk fills while the editor is slow to read stderr (a server that logs
// a lot): the one line that says why recording stopped must still reach the
// editor, after the server's lines already queued, and none of those may be
// lost. (lp_log's writer thread writes that line straight to fd 2, which
// shares its file description with the non-blocking libuv stream: with the
// pipe full the write fails with EAGAIN and the line is gone.)
test('relay faults: the disk fills while stderr is backed up: the write failure is still told once', {
  timeout: 60000,
}, async (t) => {
  const { mnt, why } = smallTmpfs(t, '256k');
  if (!mnt) {
    t.skip(`cannot mount a small tmpfs to fill (needs root with CAP_SYS_ADMIN): ${why}`);
    return;
  }
  const sessions = path.join(mnt, 'sessions');
  // The server first logs 4 MB on stderr, which the editor does not read
  // yet: lsptap queues up to its high mark and the pipe to the editor is
  // full.
  // Whole 4 KiB lines keep every page of the pipe full (Linux merges a
  // small write into a last page that has room, which would hide the bug).
  const { lsptap, stderr } = startTap(t, 'echo.mjs', {
    LSPTAP_DIR: sessions,
    LSPTAP_RECORD: 'full',
    PEER_STDERR_BYTES: String(4 << 20),
    PEER_STDERR_LINE: '4096',
  });
  lsptap.stderr.pause();
  const out = collect(lsptap.stdout);
  await sleep(1000);
  // Meanwhile the editor sends more than the disk holds.
  const input = frames(2 << 20);
  lsptap.stdin.write(input);
  const free = () => fs.statfsSync(mnt).bfree;
  await until(() => free() === 0, 10000, () => `the tmpfs to fill (${free()} blocks free)`);
  await until(() => out.buffer().length >= input.length, 20000, () => `the echo (got ${out.buffer().length} of ${input.length} bytes)`);
  await sleep(500);
  // Now the editor reads stderr again.
  lsptap.stderr.resume();
  lsptap.stdin.end();
  const st = await withTimeout(lsptap.exited, 30000, 'lsptap exit');
  const err = stderr.text();
  const own = ownLines(err);
  assert.deepEqual(st, { code: 0, signal: null }, `lsptap exit; lsptap's lines:\n${own.join('\n')}`);
  assertSameBytes(out.buffer(), input, 'editor -> echo server -> editor');
  assert.equal(err.split('\n').filter((l) => l.startsWith('echo: ')).length, 1 << 10, 'every server stderr line passed through');
  const failed = own.filter((l) => /writing the session file/i.test(l));
  assert.equal(failed.length, 1, `exactly one lsptap: line says writing the session file failed; lsptap's lines:\n${own.join('\n')}`);
  assert.match(failed[0], /No space left|ENOSPC/, `it gives the reason: ${failed[0]}`);
});

// ---- 5. regular files as stdin and stdout ----

test('relay faults: stdin and stdout are regular files: the output file is the input file, exit 0', { timeout: 30000 }, async (t) => {
  const dir = tempDir(t);
  const inPath = path.join(dir, 'in');
  const outPath = path.join(dir, 'out');
  const input = Buffer.concat([
    frame({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { processId: null, rootUri: null, capabilities: {} } }),
    frame({ jsonrpc: '2.0', method: 'initialized', params: {} }),
    padded(2, 300 * 1024),
    frame({ jsonrpc: '2.0', id: 'two', method: 'shutdown' }),
    frame({ jsonrpc: '2.0', method: 'exit' }),
  ]);
  fs.writeFileSync(inPath, input);
  const inFd = fs.openSync(inPath, 'r');
  const outFd = fs.openSync(outPath, 'w');
  let started;
  try {
    started = startTap(t, 'echo.mjs', {}, { stdio: [inFd, outFd, 'pipe'] });
  } finally {
    fs.closeSync(inFd);
    fs.closeSync(outFd);
  }
  const { lsptap, stderr, sessions } = started;
  const st = await withTimeout(lsptap.exited, 15000, 'lsptap exit');
  assert.deepEqual(st, { code: 0, signal: null }, `lsptap exit; stderr:\n${stderr.text()}`);
  assertSameBytes(fs.readFileSync(outPath), input, 'output file');
  const s = checkedSession(sessions);
  assert.equal(s.messages.filter((m) => m.dir === 'c2s').length, 5, 'five messages recorded editor -> server');
});

test('relay faults: stdin, stdout and stderr all regular files: output equals input, stderr has the server\'s lines then the summary', { timeout: 30000 }, async (t) => {
  const dir = tempDir(t);
  const [inPath, outPath, errPath] = ['in', 'out', 'err'].map((f) => path.join(dir, f));
  const input = frames(8 << 20);
  fs.writeFileSync(inPath, input);
  const fds = [fs.openSync(inPath, 'r'), fs.openSync(outPath, 'w'), fs.openSync(errPath, 'w')];
  let started;
  try {
    started = startTap(t, 'echo.mjs', { PEER_STDERR_BYTES: String(1 << 20) }, { stdio: fds });
  } finally {
    fds.forEach((fd) => fs.closeSync(fd));
  }
  const st = await withTimeout(started.lsptap.exited, 20000, 'lsptap exit');
  const err = fs.readFileSync(errPath, 'utf8');
  const own = ownLines(err);
  assert.deepEqual(st, { code: 0, signal: null }, `lsptap exit; lsptap's lines:\n${own.join('\n')}`);
  assertSameBytes(fs.readFileSync(outPath), input, 'output file');
  const lines = err.split('\n');
  assert.equal(lines.filter((l) => l.startsWith('echo: ')).length, 1 << 10, 'every server stderr line, whole');
  assert.equal(lines.filter((l) => l && !l.startsWith('echo: ') && !l.startsWith('lsptap:')).length, 0, 'no line mixed from two writers');
  assert.equal(own.length, 1, `one lsptap: line:\n${own.join('\n')}`);
  assert.match(own[0], /session ended/, 'the summary');
  assert.equal(lines[lines.length - 1], '', 'stderr ends with a newline');
  assert.equal(lines[lines.length - 2], own[0], 'the summary is last');
});

// stdout is a file that cannot be written (a full disk; /dev/full says
// ENOSPC to every write). The copying thread behind a file stdout must not
// fail silently: it is the editor going away, as EPIPE on a pipe is.
test('relay faults: stdout is a file that fails (ENOSPC): lsptap says so and ends, it does not hang', {
  timeout: 60000,
}, async (t) => {
  const dir = tempDir(t);
  const inPath = path.join(dir, 'in');
  fs.writeFileSync(inPath, frames(2 << 20));
  const fds = [fs.openSync(inPath, 'r'), fs.openSync('/dev/full', 'w')];
  let started;
  try {
    started = startTap(t, 'echo.mjs', { LSPTAP_GRACE_MS: '1000', LSPTAP_KILL_MS: '1000' }, { stdio: [fds[0], fds[1], 'pipe'] });
  } finally {
    fds.forEach((fd) => fs.closeSync(fd));
  }
  const { lsptap, stderr, sessions } = started;
  const st = await withTimeout(lsptap.exited, 15000, 'lsptap exit').catch((e) => {
    throw new Error(`${e.message}; lsptap stderr so far:\n${stderr.text()}`);
  });
  const err = stderr.text();
  assert.equal(st.signal, null, `lsptap exit; stderr:\n${err}`);
  const told = ownLines(err).filter((l) => /No space left|ENOSPC/.test(l));
  assert.equal(told.length >= 1, true, `an lsptap: line says writing to the editor failed (No space left on device):\n${err}`);
  const exits = eventsNamed(checkedSession(sessions), 'exit');
  assert.equal(exits.length, 1, 'one exit event');
  assert.equal(st.code, exits[0].signal ? 128 + exits[0].signal : exits[0].status, `lsptap exits with the server's status: ${JSON.stringify(exits[0])}`);
});

// ---- 6. a server that reads slowly ----

test('relay faults: the editor writes 100 MB while the server pauses reading: lsptap stays under 64 MB, every byte arrives', { timeout: 120000 }, async (t) => {
  const report = path.join(tempDir(t), 'report');
  const { lsptap, stderr } = startTap(t, 'slow-reader.mjs', {
    PEER_REPORT: report,
    PEER_PAUSE_MS: '2000',
    PEER_PAUSE_EVERY: String(32 << 20),
    // Under the sanitizer build, ASan keeps freed chunks in a 256 MB
    // quarantine: the RSS would measure that, not lsptap's buffers. Other
    // builds ignore the variable.
    ASAN_OPTIONS: [process.env.ASAN_OPTIONS, 'quarantine_size_mb=8'].filter(Boolean).join(':'),
  });
  lsptap.stdout.resume();
  let peak = 0;
  const sampler = setInterval(() => {
    const rss = rssBytes(lsptap.pid);
    if (rss !== null) peak = Math.max(peak, rss);
  }, 50);
  t.after(() => clearInterval(sampler));

  const total = 100e6;
  const hash = crypto.createHash('sha256');
  let sent = 0;
  const t0 = Date.now();
  for (let i = 0; sent < total; i++) {
    const f = padded(i, 4096 << i % 9); // 4 KiB to 1 MiB
    hash.update(f);
    sent += f.length;
    if (!lsptap.stdin.write(f)) {
      await withTimeout(new Promise((r) => lsptap.stdin.once('drain', r)), 30000, `lsptap to take more input after ${sent} bytes; stderr:\n${stderr.text()}`);
    }
  }
  lsptap.stdin.end();
  const st = await withTimeout(lsptap.exited, 60000, 'lsptap exit');
  clearInterval(sampler);
  assert.deepEqual(st, { code: 0, signal: null }, `lsptap exit; stderr:\n${stderr.text()}`);
  const got = JSON.parse(fs.readFileSync(report, 'utf8'));
  t.diagnostic(`${sent} bytes in ${Date.now() - t0} ms, the server paused ${got.pauses} times; lsptap peak VmRSS ${(peak / 1048576).toFixed(1)} MiB`);
  assert.ok(got.pauses >= 3, `the server paused reading (${got.pauses} times)`);
  assert.ok(peak > 0, 'sampled lsptap memory');
  assert.ok(peak < 64 * 1048576, `lsptap VmRSS peaked at ${peak} bytes`);
  assert.equal(got.bytes, sent, 'byte count at the server');
  assert.equal(got.sha256, hash.digest('hex'), 'sha256 at the server');
});

// The reverse: the editor is slow to read just when the server exits. lsptap
// has stopped reading the server's stdout for backpressure, so it cannot see
// EOF there; what is still in that pipe is the server's last output and must
// reach the editor once it reads again (principles 2 and 4). No process is
// holding the pipe, so nothing may be reported as such.
test('relay faults: server exits while the editor is not reading: its last bytes still arrive, no orphans claimed', {
  timeout: 60000,
}, async (t) => {
  const dir = tempDir(t);
  const report = path.join(dir, 'report');
  const { lsptap, stderr, sessions } = startTap(t, 'fill.mjs', { PEER_REPORT: report, LSPTAP_RECORD: 'meta' });
  const out = collect(lsptap.stdout);
  lsptap.stdout.pause();
  await until(() => fs.existsSync(report), 30000, () => `the server to fill the pipe and exit; stderr:\n${stderr.text()}`);
  const want = JSON.parse(fs.readFileSync(report, 'utf8'));
  // Longer than lsptap's 2 s wait for a closed stdout after the server exited.
  await sleep(3500);
  lsptap.stdout.resume();
  lsptap.stdin.end();
  const st = await withTimeout(lsptap.exited, 20000, 'lsptap exit');
  const err = stderr.text();
  const got = out.buffer();
  t.diagnostic(`the server wrote ${want.bytes} bytes and exited; the editor got ${got.length}`);
  assert.deepEqual(st, { code: 0, signal: null }, `lsptap exit; stderr:\n${err}`);
  assert.equal(got.length, want.bytes, `every byte the server wrote before it exited reaches the editor; stderr:\n${err}`);
  assert.equal(digest(got).sha256, want.sha256, 'sha256');
  assert.ok(!/still open|process group/.test(err), `nothing holds the server's stdout, and none is claimed to:\n${err}`);
  assert.equal(eventsNamed(checkedSession(sessions, { record: 'meta' }), 'orphans_killed').length, 0, 'no orphans_killed event');
});

// ---- 7. a message over the inspection cap ----

test('relay faults: a 5 MiB message over LSPTAP_MAX_INSPECT_MB=1 in meta mode: relayed whole, recorded truncated without body', { timeout: 60000 }, async (t) => {
  const { lsptap, stderr, sessions } = startTap(t, 'echo.mjs', { LSPTAP_RECORD: 'meta', LSPTAP_MAX_INSPECT_MB: '1' });
  const out = collect(lsptap.stdout);
  const huge = frame({ jsonrpc: '2.0', id: 7, method: 'test/huge', params: { pad: 'h'.repeat(5 << 20) } });
  const after = frame({ jsonrpc: '2.0', method: 'test/after', params: {} });
  const input = Buffer.concat([huge, after]);
  await writeAll(lsptap.stdin, input);
  await until(() => out.buffer().length >= input.length, 20000, () => `the echo (got ${out.buffer().length} of ${input.length} bytes)`);
  lsptap.stdin.end();
  const st = await withTimeout(lsptap.exited, 15000, 'lsptap exit');
  const err = stderr.text();
  assert.deepEqual(st, { code: 0, signal: null }, `lsptap exit; stderr:\n${err}`);
  assertSameBytes(out.buffer(), input, 'the 5 MiB message and the one after it, both ways');

  const s = checkedSession(sessions, { record: 'meta' });
  for (const dir of ['c2s', 's2c']) {
    const lines = s.messages.filter((m) => m.dir === dir);
    assert.equal(lines.length, 2, `${dir}: two message lines: ${JSON.stringify(lines)}`);
    const [big, small] = lines;
    assert.equal(big.bytes, huge.length, `${dir}: the big line counts the whole frame`);
    assert.equal(big.truncated, true, `${dir}: the big line says it was truncated: ${JSON.stringify(big)}`);
    assert.ok(!('body' in big), `${dir}: no body`);
    assert.equal(big.kind, 'request', `${dir}: still classified from its start: ${JSON.stringify(big)}`);
    assert.equal(big.method, 'test/huge', `${dir}: method`);
    assert.equal(big.id, 7, `${dir}: id`);
    assert.ok(!('truncated' in small), `${dir}: the message after it is inspected normally: ${JSON.stringify(small)}`);
    assert.equal(small.method, 'test/after', `${dir}: the message after it`);
  }
  const summary = eventsNamed(s, 'summary')[0];
  assert.equal(summary.truncated, 2, `summary counts two truncated messages: ${JSON.stringify(summary)}`);
});
