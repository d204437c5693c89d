// The debugger side of the e2e tests: the dlv stand-in started the way
// vscode-go starts it, VS Code's own DAP test client (DebugClient from
// @vscode/debugadapter-testsupport) connected to the port it announces, and
// the checks of a DAP session file (docs/design.md "Interfaces other tools rely
// on", protocol "dap").
import assert from 'node:assert/strict';
import path from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import { childPids, collect, lsptapBin, pidAlive, spawnTracked, withTimeout } from './env.mjs';
import { readSession } from './session.mjs';

export const ANNOUNCE = 'DAP server listening at: ';

// The dlv stand-in: the link `dlv -> lsptap` next to the binary.
export function dlvStandIn() {
  return path.join(path.dirname(lsptapBin()), 'dlv');
}

// The real dlv: REAL_DLV, else /usr/bin/dlv (Debian's delve package).
export function realDlv() {
  return process.env.REAL_DLV || '/usr/bin/dlv';
}

// Starts `dlv args...` (the stand-in unless `cmd` says otherwise) as
// vscode-go does on Unix: stdio [pipe, pipe, pipe, pipe], so that an fd 3
// named by --log-dest=3 is a pipe. `from` is the stream the listening line
// is read from: 'fd3' or 'stdout' (vscode-go reads both). Returns
// { child, stdout, stderr, log, announced, children } where `announced`
// resolves to { host, port, line } on the first "DAP server listening at:"
// line, and rejects when the child exits first or after `announceMs`.
// `children` are lsptap's child pids when it announced (the real dlv): dlv
// leads its own process group, out of reach of spawnTracked's cleanup, so
// the test's after-hook kills those groups too.
export function startDlv(t, args, { env, cwd, from = 'fd3', cmd = dlvStandIn(), announceMs = 60000 }) {
  const child = spawnTracked(t, cmd, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
  const stdout = collect(child.stdout);
  const stderr = collect(child.stderr);
  const log = collect(child.stdio[3]);
  const src = from === 'fd3' ? child.stdio[3] : child.stdout;
  const text = from === 'fd3' ? log.text : stdout.text;
  const children = [];
  t.after(() => {
    for (const pid of children) {
      if (!pidAlive(pid)) continue;
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone meanwhile.
        }
      }
    }
  });
  const announced = withTimeout(
    new Promise((resolve, reject) => {
      const look = () => {
        const m = /^DAP server listening at: (.*):(\d+)\r?\n/m.exec(text());
        if (m) {
          src.off('data', look);
          children.push(...childPids(child.pid));
          resolve({ host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]), line: m[0] });
        }
      };
      src.on('data', look);
      child.exited.then((st) =>
        reject(new Error(`dlv exited (${JSON.stringify(st)}) before saying where it listens; stderr:\n${stderr.text()}`)),
      );
    }),
    announceMs,
    `the "${ANNOUNCE}" line on ${from}`,
  );
  announced.catch(() => {});
  return { child, stdout, stderr, log, announced, children };
}

// DebugClient connected to 127.0.0.1:port (its server mode, as when VS Code
// attaches to a running debug adapter). `sent` and `received` list every
// message object the client wrote and read, in order, so the session file
// can be held against the traffic. In server mode DebugClient has no
// timeouts of its own: callers bound their waits with withTimeout.
export async function connectClient(t, port) {
  const dc = new DebugClient('', '', 'go');
  await dc.start(port);
  const sock = dc._socket;
  // A reset by the peer is a test failure seen through the requests, not an
  // uncaught exception.
  sock.on('error', () => {});
  const sent = [];
  const received = [];
  const write = sock.write.bind(sock);
  sock.write = (data, ...rest) => {
    const s = String(data);
    const m = /^Content-Length: (\d+)\r\n\r\n/.exec(s);
    if (m) sent.push(JSON.parse(s.slice(m[0].length)));
    return write(data, ...rest);
  };
  const dispatch = dc.dispatch.bind(dc);
  dc.dispatch = (body) => {
    received.push(JSON.parse(body));
    dispatch(body);
  };
  const closed = new Promise((resolve) => sock.once('close', resolve));
  t.after(() => sock.destroy());
  return { dc, sock, sent, received, closed, hangUp: () => sock.end() };
}

const isInt = (v) => Number.isInteger(v) && v >= 0;

// Checks every line of a DAP session file: header with "lsptap" and
// "protocol":"dap"; message lines with t_us (monotonic per direction), dir,
// bytes, kind request|response|event, "command" on requests and responses,
// "event" on events, "id" = seq, "request_seq" on responses, "latency_us" on
// every response to a recorded request (never more than the time since it)
// and on nothing else, "error" exactly on success:false responses (holding
// their "message"), "body" in full recording; one summary, last. Returns the
// session.
export function validateDapSession(file, { record = 'full' } = {}) {
  const s = readSession(file);
  const where = (i) => `${file}:${i + 1}: ${JSON.stringify(s.lines[i]).slice(0, 300)}`;
  assert.ok(s.header && (typeof s.header.lsptap === 'number' || typeof s.header.lsptap === 'string'), `${where(0)}: header lacks "lsptap"`);
  assert.equal(s.header.protocol, 'dap', `${where(0)}: header "protocol"`);
  const lastT = { c2s: -1, s2c: -1 };
  const open = { c2s: new Map(), s2c: new Map() };
  let summaries = 0;
  s.lines.forEach((l, i) => {
    if (i === 0) return;
    if (!('dir' in l)) {
      assert.equal(typeof l.event, 'string', `${where(i)}: neither a message nor an event line`);
      if (l.event === 'summary') {
        summaries++;
        assert.equal(i, s.lines.length - 1, `${where(i)}: summary is not the last line`);
      }
      return;
    }
    assert.ok(l.dir === 'c2s' || l.dir === 's2c', `${where(i)}: bad "dir"`);
    assert.ok(isInt(l.t_us) && l.t_us >= lastT[l.dir], `${where(i)}: "t_us" missing or going backwards within ${l.dir}`);
    lastT[l.dir] = l.t_us;
    assert.ok(isInt(l.bytes) && l.bytes > 0, `${where(i)}: "bytes"`);
    assert.ok(['request', 'response', 'event'].includes(l.kind), `${where(i)}: bad "kind" for DAP`);
    assert.ok(isInt(l.id), `${where(i)}: "id" (the DAP seq) not a non-negative integer`);
    if (l.kind === 'event') assert.equal(typeof l.event, 'string', `${where(i)}: event without "event"`);
    else assert.equal(typeof l.command, 'string', `${where(i)}: ${l.kind} without "command"`);
    if (l.kind === 'response') assert.ok(isInt(l.request_seq), `${where(i)}: response without "request_seq"`);
    else assert.ok(!('request_seq' in l) && !('latency_us' in l), `${where(i)}: "request_seq"/"latency_us" on a ${l.kind}`);
    if (record === 'full') {
      assert.ok('body' in l, `${where(i)}: no "body" in full recording`);
      if (l.kind === 'response') {
        assert.equal('error' in l, l.body.success === false, `${where(i)}: "error" must be present exactly on success:false`);
        if ('error' in l) assert.equal(l.error, l.body.message ?? '', `${where(i)}: "error" is the response's message`);
      }
    } else {
      assert.ok(!('body' in l), `${where(i)}: "body" in ${record} recording`);
    }
    const other = l.dir === 'c2s' ? 's2c' : 'c2s';
    if (l.kind === 'request') open[l.dir].set(l.id, l);
    if (l.kind === 'response') {
      const req = open[other].get(l.request_seq);
      if (req) {
        open[other].delete(l.request_seq);
        assert.equal(l.command, req.command, `${where(i)}: response command differs from its request's`);
        assert.ok(isInt(l.latency_us), `${where(i)}: reply to ${req.command} seq ${req.id} has no "latency_us"`);
        assert.ok(l.latency_us <= l.t_us - req.t_us + 1000, `${where(i)}: "latency_us" exceeds the time since its request`);
      }
    }
  });
  assert.equal(summaries, 1, `${file}: expected exactly one "summary" event, found ${summaries}`);
  s.unanswered = [...open.c2s.values(), ...open.s2c.values()];
  return s;
}

// The session's message lines of one direction equal, in order, the DAP
// messages that crossed the socket: kind, command/event, seq, request_seq,
// and in full recording the body.
export function assertDapTraffic(s, dir, msgs, { record = 'full' } = {}) {
  const lines = s.messages.filter((m) => m.dir === dir);
  const want = msgs.map((m) => ({
    kind: m.type,
    name: m.type === 'event' ? m.event : m.command,
    id: m.seq,
    request_seq: m.request_seq,
  }));
  const got = lines.map((l) => ({
    kind: l.kind,
    name: l.kind === 'event' ? l.event : l.command,
    id: l.id,
    request_seq: l.request_seq,
  }));
  assert.deepEqual(got, want, `${dir} message lines differ from the ${msgs.length} messages that crossed the socket`);
  if (record === 'full') lines.forEach((l, i) => assert.deepEqual(l.body, msgs[i], `${dir} message ${i + 1}: recorded body differs`));
}
