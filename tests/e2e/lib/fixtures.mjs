// Session files for the tests that read sessions (report, stats, ls,
// export): real ones recorded through the stand-in, and synthetic ones
// written here following docs/session-format.md (a DAP session, since the
// dlv stand-in does not record yet; and a 100,000-message one).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { childEnv, childPids, collect, copyExample, peersDir, sleep, spawnTracked, standIn, tempDir, withTimeout } from './env.mjs';
import { startEditor } from './lsp.mjs';
import { checkedSession, findSession, validateSession } from './session.mjs';

export const frame = (msg) => {
  const body = Buffer.from(JSON.stringify(msg));
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]);
};

async function until(fn, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'function' ? what() : what}`);
    await sleep(50);
  }
}

// A short session with the real gopls on a copy of tests/example: hover,
// definition, completion, documentSymbol, then shutdown and exit.
export async function goplsSession(t) {
  const ws = copyExample(t);
  const sessions = path.join(tempDir(t), 'sessions');
  const ed = startEditor(t, standIn(), [], { workspace: ws, env: childEnv({ LSPTAP_DIR: sessions }) });
  await ed.initialize(30000);
  ed.notify('initialized', {});
  const main = ed.uri('main.go');
  ed.notify('textDocument/didOpen', {
    textDocument: { uri: main, languageId: 'go', version: 1, text: fs.readFileSync(path.join(ws, 'main.go'), 'utf8') },
  });
  await ed.hoverWhenLoaded({ textDocument: { uri: main }, position: { line: 17, character: 14 } });
  await ed.request('textDocument/definition', { textDocument: { uri: main }, position: { line: 17, character: 14 } });
  await ed.request('textDocument/completion', { textDocument: { uri: main }, position: { line: 17, character: 13 } });
  await ed.request('textDocument/documentSymbol', { textDocument: { uri: main } });
  const st = await ed.shutdown();
  assert.deepEqual(st, { code: 0, signal: null }, `lsptap exit; stderr:\n${ed.stderr.text()}`);
  checkedSession(sessions);
  return findSession(sessions);
}

// The scripted server of stats.test.mjs: five test/slow (20 ms), three
// test/fail (error replies), one test/cancel named by $/cancelRequest, one
// test/never left pending (id "never-1"); the editor then hangs up. The
// session goes to `sessions` when given; `pause` ms between messages.
export async function answerSession(t, { sessions = null, pause = 0 } = {}) {
  const dir = tempDir(t);
  sessions = sessions || path.join(dir, 'sessions');
  const before = new Set(fs.existsSync(sessions) ? fs.readdirSync(sessions) : []);
  const lsptap = spawnTracked(t, standIn(), [], {
    cwd: dir,
    env: childEnv({ LSPTAP_GOPLS: path.join(peersDir, 'answer.mjs'), LSPTAP_DIR: sessions }),
  });
  const stderr = collect(lsptap.stderr);
  const out = collect(lsptap.stdout);
  let id = 1;
  const msgs = [];
  for (let i = 0; i < 5; i++) msgs.push({ jsonrpc: '2.0', id: id++, method: 'test/slow', params: { delayMs: 20 } });
  for (let i = 0; i < 3; i++) msgs.push({ jsonrpc: '2.0', id: id++, method: 'test/fail' });
  const cancelId = id++;
  msgs.push({ jsonrpc: '2.0', id: cancelId, method: 'test/cancel', params: { delayMs: 200 } });
  msgs.push({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: cancelId } });
  msgs.push({ jsonrpc: '2.0', id: 'never-1', method: 'test/never' });
  if (pause) {
    // One message at a time, so a reader can watch the session grow.
    for (const m of msgs) {
      lsptap.stdin.write(frame(m));
      await sleep(pause);
    }
  } else {
    lsptap.stdin.write(Buffer.concat(msgs.map(frame)));
  }
  await until(() => (out.text().match(/Content-Length/g) || []).length >= 9, 10000, () => `nine replies; stderr:\n${stderr.text()}`);
  lsptap.stdin.end();
  const st = await withTimeout(lsptap.exited, 15000, 'lsptap exit');
  assert.deepEqual(st, { code: 0, signal: null }, `lsptap exit; stderr:\n${stderr.text()}`);
  const made = fs.readdirSync(sessions).filter((f) => f.endsWith('.jsonl') && !before.has(f));
  assert.equal(made.length, 1, `one new session file in ${sessions}: ${JSON.stringify(made)}`);
  const file = path.join(sessions, made[0]);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600, `${file}: file mode`);
  validateSession(file);
  return file;
}

// A server (silent.mjs behind a script that writes two stderr lines) that holds two requests
// (4242 and "req-abc") and is then killed with SIGKILL: lsptap exits 137.
export async function killedSession(t) {
  const dir = tempDir(t);
  const sessions = path.join(dir, 'sessions');
  const record = path.join(dir, 'received');
  // The server says something on stderr first, as a crashing gopls does.
  const server = path.join(dir, 'server.sh');
  fs.writeFileSync(server, `#!/bin/sh\necho 'starting up' >&2\necho 'fatal: out of luck' >&2\nexec node ${path.join(peersDir, 'silent.mjs')}\n`, { mode: 0o755 });
  const lsptap = spawnTracked(t, standIn(), [], {
    cwd: dir,
    env: childEnv({ LSPTAP_GOPLS: server, LSPTAP_DIR: sessions, PEER_RECORD: record }),
  });
  const stderr = collect(lsptap.stderr);
  lsptap.stdin.write(Buffer.concat([
    frame({ jsonrpc: '2.0', id: 4242, method: 'textDocument/hover', params: {} }),
    frame({ jsonrpc: '2.0', method: 'textDocument/didOpen', params: { textDocument: { uri: 'file:///w/a.go' } } }),
    frame({ jsonrpc: '2.0', id: 'req-abc', method: 'textDocument/definition', params: {} }),
  ]));
  await until(() => fs.existsSync(record) && fs.readFileSync(record, 'latin1').includes('req-abc'), 10000, 'the peer to receive both requests');
  const pid = await until(() => childPids(lsptap.pid).find((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('silent.mjs');
    } catch {
      return false;
    }
  }), 10000, 'the server pid');
  process.kill(pid, 'SIGKILL');
  const st = await withTimeout(lsptap.exited, 15000, 'lsptap exit');
  assert.equal(st.code, 137, `lsptap exit; stderr:\n${stderr.text()}`);
  return findSession(sessions);
}

// Writes session lines (objects) as a session file.
export function writeSession(file, lines) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n', { mode: 0o600 });
  return file;
}

// A Delve DAP session as lsptap records one: initialize, launch,
// breakpoints, a stop, threads and stack, an error reply, continue, a
// framing error, and the end (terminated event, disconnect, exit 0).
export function dapSession(file) {
  const lines = [{ lsptap: 1, protocol: 'dap', start: '2026-11-28T01:00:00Z', lsptap_version: '0.1.0', argv: ['dlv', 'dap', '--listen=127.0.0.1:38697'], pid: 5000, cwd: '/w/hello' }];
  lines.push({ t_us: 0, event: 'spawn', pid: 5001, path: '/usr/bin/dlv', argv: ['dlv', 'dap', '--listen=127.0.0.1:41000'] });
  let t = 1000;
  let cseq = 1;
  let sseq = 1;
  const bytes = (b) => JSON.stringify(b).length + 22;
  const req = (command, args, latency, reply = {}) => {
    const body = { seq: cseq++, type: 'request', command, arguments: args };
    lines.push({ t_us: t, dir: 'c2s', bytes: bytes(body), kind: 'request', command, id: body.seq, body });
    const rt = t + latency;
    const rb = { seq: sseq++, type: 'response', request_seq: body.seq, success: reply.success !== false, command, ...(reply.message ? { message: reply.message } : {}), ...(reply.body ? { body: reply.body } : {}) };
    const line = { t_us: rt, dir: 's2c', bytes: bytes(rb), kind: 'response', command, id: rb.seq, request_seq: body.seq, latency_us: latency };
    if (reply.success === false) line.error = reply.message || '';
    line.body = rb;
    lines.push(line);
    t = rt + 500;
  };
  const ev = (event, b) => {
    const body = { seq: sseq++, type: 'event', event, body: b };
    lines.push({ t_us: t, dir: 's2c', bytes: bytes(body), kind: 'event', event, id: body.seq, body });
    t += 300;
  };
  req('initialize', { clientID: 'vscode', adapterID: 'go', linesStartAt1: true }, 1200, { body: { supportsConfigurationDoneRequest: true } });
  req('launch', { request: 'launch', mode: 'debug', program: '/w/hello' }, 850000);
  ev('initialized', {});
  req('setBreakpoints', { source: { path: '/w/hello/main.go' }, breakpoints: [{ line: 18 }] }, 3000, { body: { breakpoints: [{ verified: true, line: 18 }] } });
  req('configurationDone', {}, 800);
  ev('output', { category: 'console', output: 'Type \'dlv help\' for list of commands.\n' });
  t += 40000;
  ev('stopped', { reason: 'breakpoint', threadId: 1, allThreadsStopped: true });
  req('threads', {}, 900, { body: { threads: [{ id: 1, name: 'main.main' }] } });
  req('stackTrace', { threadId: 1, startFrame: 0, levels: 20 }, 4500, { body: { stackFrames: [{ id: 1000, name: 'main.main', line: 18 }], totalFrames: 1 } });
  req('scopes', { frameId: 1000 }, 700, { body: { scopes: [{ name: 'Locals', variablesReference: 1001 }] } });
  req('variables', { variablesReference: 1001 }, 2500, { body: { variables: [{ name: 'g', value: '<*greet.Greeter>' }] } });
  req('evaluate', { expression: 'nosuch', frameId: 1000, context: 'hover' }, 1500, { success: false, message: 'could not find symbol value for nosuch' });
  req('continue', { threadId: 1 }, 600, { body: { allThreadsContinued: true } });
  lines.push({ t_us: t, event: 'framing_error', stream: 'c2s', offset: 4242, code: 'LF_EBADLEN', message: 'Content-Length is not a decimal number within the maximum' });
  lines.push({ t_us: t, event: 'framing_skip', stream: 'c2s', offset: 4242, skipped: 31 });
  ev('output', { category: 'stdout', output: 'HELLO, WORLD\n' });
  t += 20000;
  ev('terminated', {});
  req('disconnect', { restart: false }, 2000);
  lines.push({ t_us: t, event: 'exit', pid: 5001, status: 0, signal: null });
  const msgs = lines.filter((l) => l.dir);
  const count = (d) => msgs.filter((l) => l.dir === d).length;
  const sum = (d) => msgs.filter((l) => l.dir === d).reduce((a, l) => a + l.bytes, 0);
  lines.push({ t_us: t + 100, event: 'summary', messages: { c2s: count('c2s'), s2c: count('s2c') }, bytes: { c2s: sum('c2s'), s2c: sum('s2c') }, errors: 1, invalid: { c2s: 0, s2c: 0 }, framing_errors: { c2s: 0, s2c: 0 }, cancelled: 0, pending: 0, evicted: 0, truncated: 0, ending: 'dlv exited with status 0', exit_code: 0 });
  return writeSession(file, lines);
}

// `n` LSP messages over about a minute: didChange/publishDiagnostics
// notifications, hover/completion/definition/semanticTokens requests with
// replies (some errors), a few server requests, a restart-like event burst,
// and 3 requests left pending at the end. Deterministic.
export function bigSession(file, n) {
  const out = [JSON.stringify({ lsptap: 1, protocol: 'lsp', start: '2026-11-28T02:00:00Z', lsptap_version: '0.1.0', argv: ['gopls', 'serve'], pid: 7000, cwd: '/w/big' })];
  out.push(JSON.stringify({ t_us: 0, event: 'spawn', pid: 7001, path: '/usr/bin/gopls', argv: ['gopls', 'serve'] }));
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const methods = ['textDocument/hover', 'textDocument/completion', 'textDocument/definition', 'textDocument/semanticTokens/full', 'textDocument/codeAction', 'textDocument/documentHighlight'];
  let t = 1000;
  let id = 1;
  let count = 0;
  let c2s = 0;
  let s2c = 0;
  const pendingAtEnd = 3;
  const open = [];
  const line = (o) => {
    out.push(JSON.stringify(o));
    count++;
    if (o.dir === 'c2s') c2s++;
    else s2c++;
  };
  // Replies due by `now`, in time order, before anything later: lsptap writes
  // lines in the order frames complete, so a real file is in time order.
  const flush = (now) => {
    open.sort((a, b) => a.t + a.lat - (b.t + b.lat));
    while (open.length && open[0].t + open[0].lat <= now && count < n - pendingAtEnd) {
      const o = open.shift();
      const err = rnd() < 0.02;
      const body = err ? { jsonrpc: '2.0', id: o.rid, error: { code: -32603, message: 'no package for file' } } : { jsonrpc: '2.0', id: o.rid, result: { contents: { kind: 'markdown', value: `result for ${o.m} ${o.rid}` } } };
      const l = { t_us: o.t + o.lat, dir: 's2c', bytes: 200, kind: 'response', method: o.m, id: o.rid, latency_us: o.lat };
      if (err) l.error = body.error;
      l.body = body;
      line(l);
    }
  };
  while (count < n - pendingAtEnd) {
    t += Math.floor(rnd() * 1200);
    flush(t);
    if (count >= n - pendingAtEnd) break;
    const r = rnd();
    if (r < 0.3) {
      const body = { jsonrpc: '2.0', method: 'textDocument/didChange', params: { textDocument: { uri: 'file:///w/big/main.go', version: id }, contentChanges: [{ text: 'x' }] } };
      line({ t_us: t, dir: 'c2s', bytes: 180, kind: 'notification', method: body.method, body });
    } else if (r < 0.45) {
      const body = { jsonrpc: '2.0', method: 'textDocument/publishDiagnostics', params: { uri: 'file:///w/big/main.go', diagnostics: [] } };
      line({ t_us: t, dir: 's2c', bytes: 150, kind: 'notification', method: body.method, body });
    } else if (r < 0.47 && count < n - pendingAtEnd - 2) {
      const sid = id++;
      const body = { jsonrpc: '2.0', id: sid, method: 'workspace/configuration', params: { items: [{ section: 'gopls' }] } };
      line({ t_us: t, dir: 's2c', bytes: 140, kind: 'request', method: body.method, id: sid, body });
      const lat = 100 + Math.floor(rnd() * 400);
      flush(t + lat); // replies due meanwhile come first
      t += lat;
      line({ t_us: t, dir: 'c2s', bytes: 60, kind: 'response', method: body.method, id: sid, latency_us: lat, body: { jsonrpc: '2.0', id: sid, result: [{}] } });
    } else {
      const m = methods[Math.floor(rnd() * methods.length)];
      const rid = id++;
      const body = { jsonrpc: '2.0', id: rid, method: m, params: { textDocument: { uri: 'file:///w/big/main.go' }, position: { line: rid % 500, character: 4 } } };
      line({ t_us: t, dir: 'c2s', bytes: 160, kind: 'request', method: m, id: rid, body });
      open.push({ m, rid, t, lat: Math.floor(200 + Math.pow(rnd(), 3) * (m.includes('completion') ? 400000 : 60000)) });
    }
  }
  for (let i = 0; i < pendingAtEnd; i++) {
    t += 1000;
    const rid = id++;
    line({ t_us: t, dir: 'c2s', bytes: 160, kind: 'request', method: 'textDocument/completion', id: rid, body: { jsonrpc: '2.0', id: rid, method: 'textDocument/completion', params: {} } });
  }
  // Requests still open from the loop are answered after the pending ones
  // would be, so they stay unanswered too: count them all as pending.
  t += 5000;
  out.push(JSON.stringify({ t_us: t, event: 'exit', pid: 7001, status: 2, signal: null }));
  out.push(JSON.stringify({ t_us: t, event: 'summary', messages: { c2s, s2c }, bytes: { c2s: 0, s2c: 0 }, errors: 0, invalid: { c2s: 0, s2c: 0 }, framing_errors: { c2s: 0, s2c: 0 }, cancelled: 0, pending: pendingAtEnd + open.length, evicted: 0, truncated: 0, ending: 'gopls exited with status 2', exit_code: 2, stderr_tail: 'panic: runtime error: index out of range [3] with length 3\n\ngoroutine 42 [running]:\ngolang.org/x/tools/gopls/internal/cache.(*Snapshot).load(...)\n' }));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, out.join('\n') + '\n');
  return { file, messages: count, pending: pendingAtEnd + open.length };
}
