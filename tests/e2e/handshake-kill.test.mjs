// The server killed (SIGKILL) at every phase of the handshake: before the
// editor's initialize reaches it, after initialize was forwarded but before
// its result, after the result but before `initialized`, inside the first
// workspace load window, and after the handshake. Whatever the phase, the
// editor gets an answer inside the protocol (lsptap's diagnosis as the error
// of initialize, or a window/showMessage) or an honest ending (its stdout
// closes), lsptap exits with 137 (128 + SIGKILL, the server's status), and
// nothing of the server is left running. The environment is clean (no GO*
// variable), so there is nothing to repair and lsptap gives up at once.
//
// The server is peers/handshake.mjs in its working mode (PEER_FAIL=never):
// it logs each message it receives to PEER_LOG, which tells the test which
// phase it is in.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { childEnv, peersDir, pidAlive, serverPid, standIn, tempDir, until, withTimeout } from './lib/env.mjs';
import { startEditor } from './lib/lsp.mjs';
import { checkedSession, eventsNamed } from './lib/session.mjs';

const FAKE = path.join(peersDir, 'handshake.mjs');
const GO_VARS = ['GOFLAGS', 'GOROOT', 'GOPROXY', 'GO111MODULE', 'GOWORK', 'GOENV', 'GOPATH',
  'GOMODCACHE', 'GOCACHE', 'HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'];

// Starts the stand-in in front of handshake.mjs on a fresh workspace
// (a go.mod only: the fake server reads nothing) and session directory.
function start(t, extra = {}) {
  const ws = fs.realpathSync(tempDir(t, 'lsptap-ws-'));
  fs.writeFileSync(path.join(ws, 'go.mod'), 'module example.com/k\n\ngo 1.19\n');
  const sessions = tempDir(t);
  const log = path.join(tempDir(t), 'peer.log');
  const env = childEnv({ LSPTAP_GOPLS: FAKE, LSPTAP_DIR: sessions, PEER_FAIL: 'never', PEER_LOG: log, ...extra });
  for (const k of GO_VARS) delete env[k];
  const ed = startEditor(t, standIn(), [], { workspace: ws, env });
  const eof = new Promise((r) => ed.child.stdout.once('end', r));
  return { ed, sessions, log, eof };
}

// The messages the server has received so far (from PEER_LOG).
function peerGot(log) {
  try {
    return fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.msg).map((e) => e.msg.method);
  } catch {
    return [];
  }
}

async function killServer(ed) {
  const pid = await serverPid(ed.child, ed.stderr, 'handshake.mjs');
  process.kill(pid, 'SIGKILL');
  return pid;
}

// The ending every phase shares: stdout closed, exit 137, no server left,
// the session finalised with the kill recorded.
async function ended(ed, eof, sessions, pid) {
  await withTimeout(eof, 20000, `lsptap's stdout to close; stderr:\n${ed.stderr.text()}`);
  const st = await withTimeout(ed.child.exited, 20000, `lsptap to exit; stderr:\n${ed.stderr.text()}`);
  assert.deepEqual(st, { code: 137, signal: null }, ed.stderr.text());
  assert.equal(pidAlive(pid), false, 'the server is gone');
  const s = checkedSession(sessions, { record: 'full' });
  const exits = eventsNamed(s, 'exit');
  assert.equal(exits.length, 1);
  assert.equal(exits[0].signal, 9);
  return s;
}

const lsptapLines = (ed) => ed.stderr.text().split('\n').filter((l) => l.startsWith('lsptap: '));
const showMessages = (ed) => ed.received.filter((m) => m.method === 'window/showMessage');
const replies = (ed) => ed.received.filter((m) => !('method' in m));

// The one summary line lsptap ends with names the signal.
function summaryLast(ed) {
  const lines = lsptapLines(ed);
  assert.match(lines.at(-1), /^lsptap: gopls session ended: gopls killed by signal 9/, ed.stderr.text());
  return lines;
}

// lsptap gave up with its diagnosis: the reason (the server went away
// during the handshake) and that the environment has nothing to repair.
function assertDiagnosis(text) {
  assert.match(text, /^lsptap: .*handshake\.mjs was killed by signal 9 \(Killed\) before the handshake completed/);
  assert.match(text, /No environment problem lsptap can fix was found/);
}

test('killed before initialize: no answer to give, stdout closes, exit 137', { timeout: 60000 }, async (t) => {
  const { ed, sessions, log, eof } = start(t);
  await until(() => fs.existsSync(log), 10000, 'the server to start');
  const pid = await killServer(ed);
  // The editor has sent nothing: there is no handshake to judge, no request
  // to answer, and lsptap ends as gopls would have (vscode-go restarts a
  // server that crashed). Had the editor's initialize got in before lsptap
  // saw the server go, it would be answered as in the next test.
  const s = await ended(ed, eof, sessions, pid);
  assert.deepEqual(ed.received, [], 'nothing made up for the editor');
  assert.equal(summaryLast(ed).length, 1, ed.stderr.text());
  const off = eventsNamed(s, 'supervision_off');
  assert.equal(off.length, 1);
  assert.match(off[0].reason, /the server ended before initialize/);
  assert.equal(eventsNamed(s, 'gave_up').length, 0);
});

test('killed after initialize was forwarded, before its result: initialize fails with the diagnosis', { timeout: 60000 }, async (t) => {
  // PEER_MODE=silent: the server never answers initialize.
  const { ed, sessions, log, eof } = start(t, { PEER_FAIL: 'always', PEER_MODE: 'silent' });
  // The answer is read from what the editor received: the request's own
  // promise may lose the race with lsptap's exit that follows it.
  ed.initialize(20000).catch(() => {});
  await until(() => peerGot(log).includes('initialize'), 10000, 'initialize to reach the server');
  const pid = await killServer(ed);
  const s = await ended(ed, eof, sessions, pid);
  assert.equal(replies(ed).length, 1, `one answer to initialize: ${JSON.stringify(ed.received)}`);
  const e = replies(ed)[0].error;
  assert.ok(e, 'initialize failed');
  assert.equal(e.code, -32603);
  assert.deepEqual(e.data, { retry: false });
  assertDiagnosis(e.message);
  assert.equal(showMessages(ed).length, 0);
  assert.equal(eventsNamed(s, 'handshake_failed').length, 1);
  assert.equal(eventsNamed(s, 'gave_up').length, 1);
  summaryLast(ed);
});

test('killed after the initialize result, before initialized: a showMessage with the diagnosis', { timeout: 60000 }, async (t) => {
  const { ed, sessions, eof } = start(t);
  const init = await ed.initialize(20000);
  assert.equal(init.serverInfo.name, 'fake-gopls');
  const pid = await killServer(ed);
  const s = await ended(ed, eof, sessions, pid);
  const msgs = showMessages(ed);
  assert.equal(msgs.length, 1, JSON.stringify(ed.received));
  assert.equal(msgs[0].params.type, 1);
  assertDiagnosis(msgs[0].params.message);
  assert.equal(replies(ed).length, 1, 'the one initialize result');
  assert.equal(eventsNamed(s, 'handshake_failed').length, 1);
  assert.equal(eventsNamed(s, 'gave_up').length, 1);
  summaryLast(ed);
});

test('killed inside the first workspace load window: a showMessage with the diagnosis', { timeout: 60000 }, async (t) => {
  const { ed, sessions, log, eof } = start(t);
  await ed.initialize(20000);
  ed.notify('initialized', {});
  await until(() => peerGot(log).includes('initialized'), 10000, 'initialized to reach the server');
  const pid = await killServer(ed);
  const s = await ended(ed, eof, sessions, pid);
  const msgs = showMessages(ed);
  assert.equal(msgs.length, 1, JSON.stringify(ed.received));
  assert.equal(msgs[0].params.type, 1);
  assertDiagnosis(msgs[0].params.message);
  assert.equal(eventsNamed(s, 'handshake_ok').length, 0);
  assert.equal(eventsNamed(s, 'handshake_failed').length, 1);
  assert.equal(eventsNamed(s, 'gave_up').length, 1);
  summaryLast(ed);
});

test('killed after the handshake: nothing made up, stdout closes, exit 137', { timeout: 60000 }, async (t) => {
  const { ed, sessions, log, eof } = start(t, { LSPTAP_HANDSHAKE_MS: '200', LSPTAP_KEEPALIVE: 'off' });
  await ed.initialize(20000);
  ed.notify('initialized', {});
  await until(() => peerGot(log).includes('initialized'), 10000, 'initialized to reach the server');
  // The handshake is over once lsptap has written handshake_ok.
  const file = () => fs.readdirSync(sessions).find((f) => f.endsWith('.jsonl'));
  await until(() => file() && fs.readFileSync(path.join(sessions, file()), 'utf8').includes('"handshake_ok"'), 10000, 'handshake_ok in the session');
  assert.equal((await ed.request('test/after', {})).echo, 'test/after');
  const pid = await killServer(ed);
  const s = await ended(ed, eof, sessions, pid);
  assert.equal(showMessages(ed).length, 0, 'no diagnosis after the handshake');
  assert.equal(eventsNamed(s, 'handshake_ok').length, 1);
  assert.equal(eventsNamed(s, 'handshake_failed').length, 0);
  assert.equal(summaryLast(ed).length, 1, ed.stderr.text());
});

// A dying server closes its stdout a moment before its exit status is
// known: lsptap waits for the status, so the user reads how it ended.
test('the diagnosis names the signal that killed the server', { timeout: 60000 }, async (t) => {
  const { ed, sessions, log, eof } = start(t, { PEER_FAIL: 'always', PEER_MODE: 'silent' });
  ed.initialize(20000).catch(() => {});
  await until(() => peerGot(log).includes('initialize'), 10000, 'initialize to reach the server');
  const pid = await killServer(ed);
  await ended(ed, eof, sessions, pid);
  assert.match(replies(ed)[0]?.error?.message ?? '', /was killed by signal 9/);
});
