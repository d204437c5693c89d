// Where things are, and the per-test scaffolding every e2e file shares:
// temp dirs that are removed, child processes that are never left behind.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../../..');
export const exampleDir = path.join(repoRoot, 'tests/example');
export const peersDir = path.resolve(here, '../peers');

// The lsptap binary under test: LSPTAP_BIN (the Makefile passes an absolute
// path), else the default build output.
export function lsptapBin() {
  return path.resolve(process.env.LSPTAP_BIN || path.join(repoRoot, 'build/lsptap'));
}

// The gopls stand-in: the link `gopls -> lsptap` next to the binary.
export function standIn() {
  return path.join(path.dirname(lsptapBin()), 'gopls');
}

// The real gopls: REAL_GOPLS, else the first `gopls` on PATH that is not
// lsptap itself (same device and inode after resolving links).
export function realGopls() {
  if (process.env.REAL_GOPLS) return process.env.REAL_GOPLS;
  let self = null;
  try {
    self = fs.statSync(lsptapBin());
  } catch {
    // No binary built yet: nothing to skip.
  }
  for (const dir of (process.env.PATH || '').split(':')) {
    if (!dir) continue;
    const p = path.join(dir, 'gopls');
    let st;
    try {
      st = fs.statSync(p);
      fs.accessSync(p, fs.constants.X_OK);
    } catch {
      continue;
    }
    if (self && st.dev === self.dev && st.ino === self.ino) continue;
    return p;
  }
  return '/usr/bin/gopls';
}

// A fresh directory removed after the test, whatever its outcome.
export function tempDir(t, prefix = 'lsptap-e2e-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }));
  return dir;
}

// A private copy of tests/example, so each run has its own workspace (and
// gopls writes nothing into the source tree).
export function copyExample(t) {
  const dir = tempDir(t, 'lsptap-ws-');
  fs.cpSync(exampleDir, dir, { recursive: true });
  return fs.realpathSync(dir);
}

// The environment for a child: the caller's, minus anything that would
// make lsptap behave other than the test says, plus `extra`.
export function childEnv(extra = {}) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (k.startsWith('LSPTAP_') && k !== 'LSPTAP_BIN') delete env[k];
  }
  delete env.NODE_OPTIONS;
  delete env.NODE_TEST_CONTEXT;
  return { ...env, ...extra };
}

// spawn(), registered so the test's after-hook leaves nothing behind. The
// child leads its own process group, so the hook's SIGKILL also reaches
// whatever it started (a server lsptap failed to reap must not outlive the
// test, nor hold the test's pipes open). `exited` resolves to {code, signal}
// once the process has exited and its pipes are closed.
export function spawnTracked(t, cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true, ...opts });
  child.exited = new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  child.exited.catch(() => {});
  t.after(() => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // The whole group is already gone.
    }
    for (const s of [child.stdin, child.stdout, child.stderr]) if (s) s.destroy();
  });
  return child;
}

// Collects a stream into a Buffer; `.text()` decodes it.
export function collect(stream) {
  const chunks = [];
  stream.on('data', (c) => chunks.push(c));
  return {
    buffer: () => Buffer.concat(chunks),
    text: () => Buffer.concat(chunks).toString('utf8'),
  };
}

// Resolves with `promise`, or rejects naming `what` after `ms`.
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// True while a process with this pid exists and is not a zombie.
export function pidAlive(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the parenthesised command name.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

// The pids of the direct children of `pid`, from /proc.
export function childPids(pid) {
  const out = [];
  let tasks;
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      const s = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (s) out.push(...s.split(/\s+/).map(Number));
    } catch {
      // Thread gone.
    }
  }
  return out;
}

// VmRSS of a process in bytes, or null once it is gone.
export function rssBytes(pid) {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

// Polls `fn` (which may be async) every 50 ms until it gives a truthy value
// (returned) or `ms` pass (rejects naming `what`, a string or a function
// giving one).
export async function until(fn, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'function' ? what() : what}`);
    await sleep(50);
  }
}

// The server lsptap started: its child whose command line mentions `name`
// (lsptap may run other helpers beside it). `stderr` (a collector) goes
// into the failure message.
export async function serverPid(lsptap, stderr, name, ms = 10000) {
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
  }, ms, () => `lsptap to start ${name}; lsptap stderr:\n${stderr ? stderr.text() : ''}`);
}

// A loopback port that was free a moment ago (as vscode-go picks one).
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Resolves once something accepts connections on 127.0.0.1:port (10 s at most).
export async function waitForPort(port) {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((r) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}
