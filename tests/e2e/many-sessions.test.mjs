// 10,000 whole relayed sessions in a row through one long-lived
// `lsptap relay --listen 127.0.0.1:0 -- cat`: each connects, sends a
// request, reads it back (cat echoes it), and hangs up; lsptap starts a cat
// per connection, records the session (full), and ends the connection when
// cat exits at its EOF. The listener must not grow: its open file
// descriptors (/proc/PID/fd) come back to the count they had after the
// warm-up, its RSS grows by less than 1 MiB over the 10,000 sessions (100
// bytes a session; not under the sanitizer build), no child is left, every
// session file is complete, and SIGTERM ends it with status 0 (LeakSanitizer
// has its say there under the sanitizer build).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { test } from 'node:test';
import { childEnv, childPids, collect, lsptapBin, rssBytes, spawnTracked, tempDir, until, withTimeout } from './lib/env.mjs';

// A binary built with -fsanitize=address calls __asan_init (gcc and clang).
const underAsan = () => fs.readFileSync(lsptapBin()).includes('__asan_init');
// MANY_SESSIONS changes the count (to see the trend over more). The
// sanitizer build is several times slower and has no RSS bound to check
// (below): 2,000 sessions there keep it inside the test's time.
const SESSIONS = Number(process.env.MANY_SESSIONS || (underAsan() ? 2000 : 10000));
const WARMUP = 200;
const RSS_GROWTH_LIMIT = 1 << 20;
// The test is bound by CPU, not by waiting: each session is a fork and exec
// of cat (about 8 ms of CPU on the 2-core test machine, as much as a shell's
// `cat </dev/null`), lsptap's own work (about 5 ms, mostly the kernel's:
// the fork, the session file, its writer thread) and this process's (1.5
// ms). Profiled with strace and /proc/PID/stat (docs/testing.md): the chain
// client -> lsptap -> cat -> lsptap -> client is never idle, so running
// sessions side by side made it no faster (measured: 14 ms a session one at
// a time, 22 with four at once, under a load of 4). The budget is therefore
// time for the work: 10,000 sessions at up to 55 ms each (four times the
// worst figure measured on the loaded machine) — a hang is caught long
// before, by the 10 s limit on each session.
const TIMEOUT_MS = 600000;

const fdCount = (pid) => fs.readdirSync(`/proc/${pid}/fd`).length;

// CPU time (ms, user + system) of a process, and of its reaped children.
function cpuMs(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const [utime, stime, cutime, cstime] = f.slice(f.lastIndexOf(')') + 2).split(' ').slice(11, 15).map(Number);
  return { self: (utime + stime) * 10, children: (cutime + cstime) * 10 }; // 100 clock ticks a second
}

// One short session: connect, one request, its echo, hang up, wait for
// lsptap to close the connection.
function session(port, i) {
  return new Promise((resolve, reject) => {
    const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: i, method: 'test/ping', params: { i } }));
    const msg = Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]);
    const s = net.connect(port, '127.0.0.1');
    let got = 0;
    s.on('error', reject);
    s.on('data', (c) => {
      got += c.length;
      if (got === msg.length) s.end();
    });
    s.on('close', () => (got === msg.length ? resolve() : reject(new Error(`session ${i}: ${got} of ${msg.length} bytes back`))));
    s.write(msg);
  });
}

test(`${SESSIONS} relayed sessions in a row: no growth in fds, memory or children`, { timeout: TIMEOUT_MS }, async (t) => {
  const sessions = tempDir(t);
  const listener = spawnTracked(t, lsptapBin(), ['relay', '--listen', '127.0.0.1:0', '--', 'cat'], {
    env: childEnv({
      LSPTAP_DIR: sessions,
      LSPTAP_RECORD: 'full',
      // The sanitizer build's quarantine would hold freed chunks and be
      // measured as growth (see relay-faults.test.mjs).
      ASAN_OPTIONS: [process.env.ASAN_OPTIONS, 'quarantine_size_mb=1'].filter(Boolean).join(':'),
    }),
  });
  const stderr = collect(listener.stderr);
  const out = collect(listener.stdout);
  const addr = await until(() => /listening at: 127\.0\.0\.1:(\d+)/.exec(out.text()), 10000, () => `the listening line; stderr:\n${stderr.text()}`);
  const port = Number(addr[1]);
  const pid = listener.pid;
  // Connections end when cat has exited and been reaped; wait for that
  // before sampling, so the count is of an idle listener.
  const idle = () => until(() => childPids(pid).length === 0, 10000, 'the listener to reap every cat');

  // ... and the last connection's handles close a moment after its cat is
  // reaped: the count is taken once it has held still for 300 ms.
  const settledFds = async () => {
    let last = fdCount(pid);
    for (let still = 0, t0 = Date.now(); still < 6 && Date.now() - t0 < 10000; ) {
      await new Promise((r) => setTimeout(r, 50));
      const n = fdCount(pid);
      still = n === last ? still + 1 : 0;
      last = n;
    }
    return last;
  };

  for (let i = 0; i < WARMUP; i++) await session(port, i);
  await idle();
  const fds0 = await settledFds();
  const rss0 = rssBytes(pid);
  const cpu0 = cpuMs(pid);
  const mine0 = process.cpuUsage();
  const started = Date.now();
  for (let i = WARMUP; i < SESSIONS; i++) {
    await withTimeout(session(port, i), 10000, `session ${i}`).catch((e) => {
      throw new Error(`${e.message}; stderr ends:\n${stderr.text().slice(-2000)}`);
    });
  }
  await idle();
  const n = SESSIONS - WARMUP;
  const cpu1 = cpuMs(pid);
  const mine = process.cpuUsage(mine0);
  const per = (ms) => (ms / n).toFixed(1);
  // Where the time went (the figures in the comment on TIMEOUT_MS).
  t.diagnostic(`${n} sessions in ${((Date.now() - started) / 1000).toFixed(1)} s, ${per(Date.now() - started)} ms each; CPU a session: lsptap ${per(cpu1.self - cpu0.self)} ms, its cats ${per(cpu1.children - cpu0.children)} ms, this test ${per((mine.user + mine.system) / 1000)} ms`);
  // The last connection's handles close a moment after cat is reaped.
  await until(() => fdCount(pid) <= fds0, 10000, () => `the listener's fds to come back to ${fds0} (now ${fdCount(pid)}: ${fs.readdirSync(`/proc/${pid}/fd`).map((f) => { try { return fs.readlinkSync(`/proc/${pid}/fd/${f}`); } catch { return '?'; } }).join(' ')})`);
  const fds1 = fdCount(pid);
  const rss1 = rssBytes(pid);
  t.diagnostic(`listener after ${WARMUP} sessions: ${fds0} fds, RSS ${(rss0 / 1024).toFixed(0)} KiB; after ${SESSIONS}: ${fds1} fds, RSS ${(rss1 / 1024).toFixed(0)} KiB`);
  assert.ok(fds1 <= fds0, `open fds grew: ${fds0} after the warm-up, ${fds1} at the end`);
  // The RSS bound is glibc's allocator's: the sanitizer build's allocator
  // and bookkeeping grow by about 500 bytes a session (a writer thread
  // each) without a leak; there LeakSanitizer checks at the SIGTERM exit.
  if (!underAsan()) {
    assert.ok(rss1 - rss0 < RSS_GROWTH_LIMIT, `RSS grew by ${rss1 - rss0} bytes over ${SESSIONS - WARMUP} sessions (limit ${RSS_GROWTH_LIMIT})`);
  }
  assert.equal(listener.exitCode, null, 'the listener still runs');

  // Every session was recorded and finalised: one file each, each ending in
  // its summary line.
  const files = fs.readdirSync(sessions).filter((f) => f.endsWith('.jsonl'));
  assert.equal(files.length, SESSIONS, 'one session file per connection');
  for (const f of [files[0], files[files.length >> 1], files.at(-1)]) {
    const lines = fs.readFileSync(`${sessions}/${f}`, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.at(-1).event, 'summary', `${f} ends in its summary`);
    assert.equal(lines.filter((l) => l.dir).length, 2, `${f}: the request each way`);
  }
  process.kill(pid, 'SIGTERM');
  const st = await withTimeout(listener.exited, 10000, 'the listener to end on SIGTERM');
  assert.deepEqual(st, { code: 0, signal: null });
});
