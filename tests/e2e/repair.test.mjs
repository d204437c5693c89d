// The gopls stand-in's handshake supervision (docs/repair.md): a gopls whose
// handshake fails because of the environment the editor gave it is restarted
// once with a repaired environment, and the editor sees one working session;
// what cannot be repaired is explained to the editor, never left silent.
//
// The three poisoned environments run against the real gopls, first alone
// (to prove gopls really fails there) and then through the stand-in. The
// other cases use the scripted gopls peers/handshake.mjs, which fails in a
// chosen way while GOFLAGS is set (or always).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { childEnv, copyExample, peersDir, realGopls, sleep, standIn, tempDir, withTimeout } from './lib/env.mjs';
import { startEditor } from './lib/lsp.mjs';
import { assertMatchesTraffic, checkedSession, eventsNamed } from './lib/session.mjs';

const FAKE = path.join(peersDir, 'handshake.mjs');
const MAIN = 'main.go';
const GREET_NEW = { line: 17, character: 14 }; // greet.New in main.go (0-based)
const RESTARTED = 'lsptap restarted gopls with a repaired environment';
// On stderr every lsptap line starts "lsptap: ".
const RESTARTED_LINE = 'lsptap: restarted gopls with a repaired environment';

// Variables that would give the environment rules something the test did
// not set (the machine's own GOFLAGS, say).
const GO_VARS = ['GOFLAGS', 'GOROOT', 'GOPROXY', 'GO111MODULE', 'GOWORK', 'GOENV', 'GOPATH',
  'GOMODCACHE', 'GOCACHE', 'HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'];

// The environment of one run: the test's own minus GO_VARS, plus `extra`.
function cleanEnv(extra = {}) {
  const env = childEnv(extra);
  for (const k of GO_VARS) if (!(k in extra)) delete env[k];
  return env;
}

// A PATH without go that still finds gopls: a directory holding only a link
// to it (on this Debian /bin is /usr/bin, so no system directory will do).
function pathWithoutGo(t) {
  const bin = tempDir(t, 'lsptap-nogo-');
  fs.symlinkSync(realGopls(), path.join(bin, 'gopls'));
  return bin;
}

const POISONS = [
  { name: 'GOFLAGS=-mod=bogus', variable: 'GOFLAGS', env: () => ({ GOFLAGS: '-mod=bogus' }) },
  { name: 'GOROOT=/nonexistent', variable: 'GOROOT', env: () => ({ GOROOT: '/nonexistent' }) },
  { name: 'a PATH without go', variable: 'PATH', env: (t) => ({ PATH: pathWithoutGo(t) }) },
];

// Resolves once fn() returns something truthy; fails naming `what` after ms.
async function until(fn, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

const showMessages = (ed, type) =>
  ed.received.filter((m) => m.method === 'window/showMessage' && (type === undefined || m.params.type === type));
const ownErrors = (ed) => showMessages(ed, 1).filter((m) => m.params.message.startsWith('lsptap: '));
const describe = (ed) => `received: ${JSON.stringify(ed.received.map((m) => m.method ?? `reply ${JSON.stringify(m.id)}`))}\nstderr:\n${ed.stderr.text()}`;

function initReplies(ed) {
  const init = ed.sent.find((m) => m.method === 'initialize');
  return ed.received.filter((m) => !('method' in m) && m.id === init.id);
}

async function openMain(ed, ws) {
  ed.notify('initialized', {});
  ed.notify('textDocument/didOpen', {
    textDocument: { uri: ed.uri(MAIN), languageId: 'go', version: 1, text: fs.readFileSync(path.join(ws, MAIN), 'utf8') },
  });
}

// One hover on greet.New: its result, or {error} when the server answered
// with an error.
async function hover(ed) {
  try {
    return { result: await ed.request('textDocument/hover', { textDocument: { uri: ed.uri(MAIN) }, position: GREET_NEW }) };
  } catch (e) {
    return { error: e.message };
  }
}

// The stand-in on a fresh workspace copy; the session directory comes back.
function standInEditor(t, env, { gopls = realGopls() } = {}) {
  const ws = copyExample(t);
  const sessions = `${tempDir(t, 'lsptap-sessions-')}/s`;
  const ed = startEditor(t, standIn(), [], { workspace: ws, env: { ...env, LSPTAP_GOPLS: gopls, LSPTAP_DIR: sessions } });
  return { ws, ed, sessions };
}

// The scripted gopls behind the stand-in; `log` is what each of its starts
// received (peers/handshake.mjs).
function fakeEditor(t, env) {
  const logFile = `${tempDir(t, 'lsptap-peer-')}/peer.jsonl`;
  const r = standInEditor(t, { ...env, PEER_LOG: logFile }, { gopls: FAKE });
  r.log = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l)) : []);
  r.starts = () => r.log().filter((l) => l.start);
  return r;
}

for (const poison of POISONS) {
  test(`${poison.name}: gopls alone loads nothing; through the stand-in it is repaired and hover works`, { timeout: 120000 }, async (t) => {
    const env = cleanEnv(poison.env(t));

    // (a) gopls alone: a load failure, and hover never gives anything.
    {
      const ws = copyExample(t);
      const ed = startEditor(t, realGopls(), [], { workspace: ws, env });
      await ed.initialize();
      await openMain(ed, ws);
      await until(() => showMessages(ed, 1).length, 30000, `gopls's load failure (showMessage type 1) ${describe(ed)}`);
      // A bounded wait: gopls alone never gets to a useful answer.
      const answers = [];
      const deadline = Date.now() + 3000;
      while (Date.now() < deadline) {
        answers.push(await hover(ed));
        await sleep(300);
      }
      assert.ok(answers.every((a) => a.error || a.result === null), `gopls alone answered a hover in ${poison.name}: ${JSON.stringify(answers)}`);
      assert.match(showMessages(ed, 1)[0].params.message, /failed to load view|Error loading workspace/);
      assert.deepEqual(await ed.shutdown(), { code: 0, signal: null });
    }

    // (b) through the stand-in: repaired once, and gopls's normal answer.
    const { ws, ed, sessions } = standInEditor(t, env);
    const init = await ed.initialize(30000);
    assert.equal(init.serverInfo?.name, 'gopls', 'the initialize result is gopls\'s');
    await openMain(ed, ws);
    const answer = await until(async () => {
      const h = await hover(ed);
      return h.result ? h.result : null;
    }, 45000, `a hover result through the stand-in ${describe(ed)}`);
    assert.match(JSON.stringify(answer.contents), /greet\.New/, `hover: ${JSON.stringify(answer)}`);
    await sleep(500); // room for a second failure, were there one

    const warnings = showMessages(ed, 2);
    assert.equal(warnings.length, 1, `one warning (showMessage type 2): ${describe(ed)}`);
    assert.ok(warnings[0].params.message.startsWith(RESTARTED), warnings[0].params.message);
    assert.ok(warnings[0].params.message.includes(poison.variable), `the warning names ${poison.variable}: ${warnings[0].params.message}`);
    assert.deepEqual(showMessages(ed, 1), [], 'no error (type 1) reached the editor: the load failure was the old server\'s');
    assert.equal(initReplies(ed).length, 1, 'exactly one initialize response reached the editor');

    const st = await ed.shutdown();
    assert.deepEqual(st, { code: 0, signal: null }, `lsptap exit; stderr:\n${ed.stderr.text()}`);
    const stderr = ed.stderr.text();
    const restartLines = stderr.split('\n').filter((l) => l.startsWith(RESTARTED_LINE));
    assert.equal(restartLines.length, 1, `one restart line on stderr:\n${stderr}`);
    assert.ok(restartLines[0].includes(poison.variable), `stderr names ${poison.variable}: ${restartLines[0]}`);
    assert.equal(stderr.split('\n').filter((l) => l.startsWith('lsptap: the handshake failed')).length, 1, `one failure on stderr:\n${stderr}`);

    const s = checkedSession(sessions);
    // The session records what crossed the editor's pipe, lsptap's own
    // message included, and nothing of what it kept from the editor.
    assertMatchesTraffic(s, 'c2s', ed.sent);
    assertMatchesTraffic(s, 's2c', ed.received);
    const repairs = eventsNamed(s, 'repair');
    assert.equal(repairs.length, 1, 'one repair event');
    assert.ok(repairs[0].reason, 'the repair says why');
    assert.ok(repairs[0].changes.some((c) => c.variable === poison.variable), `the repair changes ${poison.variable}: ${JSON.stringify(repairs[0].changes)}`);
    assert.equal(eventsNamed(s, 'spawn').length, 2, 'two servers: the failed one and the repaired one');
    assert.equal(eventsNamed(s, 'handshake_failed').length, 1, 'one failed handshake');
    assert.equal(eventsNamed(s, 'gave_up').length, 0, 'no give-up');
    const exits = eventsNamed(s, 'exit');
    assert.equal(exits.filter((e) => !e.retired).length, 1, `one exit of the current server: ${JSON.stringify(exits)}`);
    assert.equal(exits.find((e) => !e.retired).status, 0);
    const summary = eventsNamed(s, 'summary')[0];
    assert.equal(summary.restarts, 1, 'the summary counts the restart');
    assert.equal(summary.exit_code, 0);
  });
}

test('GOFLAGS=-mod=bogus, the stand-in started outside the workspace (as vscode-go starts it, without a cwd): repaired', { timeout: 90000 }, async (t) => {
  const ws = copyExample(t);
  const sessions = `${tempDir(t, 'lsptap-sessions-')}/s`;
  const ed = startEditor(t, standIn(), [], {
    workspace: ws,
    cwd: tempDir(t, 'lsptap-cwd-'),
    env: cleanEnv({ GOFLAGS: '-mod=bogus', LSPTAP_GOPLS: realGopls(), LSPTAP_DIR: sessions }),
  });
  await ed.initialize(30000);
  await openMain(ed, ws);
  const answer = await until(async () => (await hover(ed)).result, 45000, `a hover result through the stand-in ${describe(ed)}`);
  assert.match(JSON.stringify(answer.contents), /greet\.New/);
  assert.equal(showMessages(ed, 2).length, 1, 'the restart was announced');
  assert.deepEqual(showMessages(ed, 1), []);
  assert.deepEqual(await ed.shutdown(), { code: 0, signal: null }, ed.stderr.text());
  const s = checkedSession(sessions);
  assert.ok(eventsNamed(s, 'repair')[0].changes.some((c) => c.variable === 'GOFLAGS'));
});

test('a server that fails every start: one repair, then lsptap gives up and tells the editor why', { timeout: 60000 }, async (t) => {
  const { ws, ed, sessions, starts } = fakeEditor(t, cleanEnv({ GOFLAGS: '-mod=bogus', PEER_MODE: 'load-failure', PEER_FAIL: 'always' }));
  const init = await ed.initialize();
  assert.equal(init.serverInfo.name, 'fake-gopls');
  await openMain(ed, ws);
  const [gaveUp] = await until(() => ownErrors(ed).length && ownErrors(ed), 30000, `lsptap's error message ${describe(ed)}`);
  assert.match(gaveUp.params.message, /failed too/, gaveUp.params.message);
  assert.match(gaveUp.params.message, /Error loading workspace folders/, 'it says what went wrong');
  await sleep(1000); // a third server, were one started, would be in the log by now
  assert.equal(showMessages(ed, 2).length, 1, 'the restart was announced once');
  assert.equal(ownErrors(ed).length, 1, 'one lsptap error message');
  assert.equal(initReplies(ed).length, 1, 'exactly one initialize response');
  // The session goes on (with the server as it is) and ends normally.
  const echo = await ed.request('test/echo', {});
  assert.equal(echo.pid, starts()[1].pid, 'the second server answers');
  assert.deepEqual(await ed.shutdown(), { code: 0, signal: null }, ed.stderr.text());

  assert.equal(starts().length, 2, `two starts, no third: ${JSON.stringify(starts())}`);
  assert.equal(starts()[1].goflags, null, 'the second start had GOFLAGS removed');
  assert.match(ed.stderr.text(), /^lsptap: .*failed too/m, 'stderr says lsptap gave up');
  const s = checkedSession(sessions);
  assert.equal(eventsNamed(s, 'spawn').length, 2, 'two spawn events');
  assert.equal(eventsNamed(s, 'repair').length, 1, 'one repair');
  assert.equal(eventsNamed(s, 'handshake_failed').length, 2, 'two failed handshakes');
  assert.equal(eventsNamed(s, 'gave_up').length, 1, 'one gave_up');
  assert.equal(eventsNamed(s, 'summary')[0].handshake, 'failed, not repaired');
});

test('a server that exits after initialize, every time: one repair, then the editor is told and the session ends', { timeout: 60000 }, async (t) => {
  const { ed, sessions, starts } = fakeEditor(t, cleanEnv({ GOFLAGS: '-mod=bogus', PEER_MODE: 'exit', PEER_FAIL: 'always' }));
  const init = await ed.initialize();
  assert.equal(init.serverInfo.name, 'fake-gopls');
  ed.notify('initialized', {});
  const st = await withTimeout(ed.child.exited, 30000, `lsptap to exit ${describe(ed)}`);
  assert.deepEqual(st, { code: 1, signal: null }, 'lsptap exits with the server\'s status');
  const own = ownErrors(ed);
  assert.equal(own.length, 1, `one lsptap error message: ${describe(ed)}`);
  assert.match(own[0].params.message, /(exited with status 1|closed its output) before the handshake completed/);
  assert.match(own[0].params.message, /failed too/);
  assert.equal(showMessages(ed, 2).length, 1, 'the restart was announced once');
  assert.equal(initReplies(ed).length, 1, 'exactly one initialize response');
  assert.equal(starts().length, 2, 'two starts, no third');
  const s = checkedSession(sessions);
  assert.equal(eventsNamed(s, 'spawn').length, 2, 'two spawn events');
  assert.equal(eventsNamed(s, 'gave_up').length, 1, 'one gave_up');
});

test('a failure with a clean environment: nothing to repair, the editor is told at once, one server', { timeout: 60000 }, async (t) => {
  const { ws, ed, sessions, starts } = fakeEditor(t, cleanEnv({ PEER_MODE: 'load-failure', PEER_FAIL: 'always' }));
  await ed.initialize();
  await openMain(ed, ws);
  const [gaveUp] = await until(() => ownErrors(ed).length && ownErrors(ed), 30000, `lsptap's error message ${describe(ed)}`);
  assert.match(gaveUp.params.message, /No environment problem lsptap can fix was found/, gaveUp.params.message);
  // The server's own message still reaches the editor, after lsptap's.
  const errors = showMessages(ed, 1);
  assert.equal(errors.length, 2, `lsptap's message and the server's: ${describe(ed)}`);
  assert.match(errors[1].params.message, /^Error loading workspace folders/);
  assert.equal(showMessages(ed, 2).length, 0, 'no restart announced');
  assert.deepEqual(await ed.shutdown(), { code: 0, signal: null }, ed.stderr.text());
  assert.equal(starts().length, 1, 'one start');
  assert.match(ed.stderr.text(), /^lsptap: .*No environment problem lsptap can fix was found/m);
  const s = checkedSession(sessions);
  assert.equal(eventsNamed(s, 'spawn').length, 1, 'one spawn event');
  assert.equal(eventsNamed(s, 'repair').length, 0, 'no repair');
  const gave = eventsNamed(s, 'gave_up');
  assert.equal(gave.length, 1, 'one gave_up');
  assert.match(gave[0].diagnosis, /No environment problem/);
});

test('initialize unanswered, clean environment: initialize itself fails with the diagnosis', { timeout: 60000 }, async (t) => {
  const { ed, sessions, starts } = fakeEditor(t, cleanEnv({ PEER_MODE: 'silent', PEER_FAIL: 'always', LSPTAP_INIT_TIMEOUT_MS: '1000' }));
  await assert.rejects(ed.initialize(), (e) => {
    assert.match(e.message, /^lsptap: .*did not answer initialize within 1000 ms/);
    assert.match(e.message, /No environment problem lsptap can fix was found/);
    return true;
  });
  assert.equal(initReplies(ed).length, 1, 'exactly one initialize response: the error');
  ed.hangUp();
  await withTimeout(ed.child.exited, 20000, 'lsptap to exit after the editor hung up');
  assert.equal(starts().length, 1, 'one start');
  const s = checkedSession(sessions);
  assert.equal(eventsNamed(s, 'spawn').length, 1);
  assert.equal(eventsNamed(s, 'gave_up').length, 1);
});

test('LSPTAP_REPAIR=off: no restart; the editor hears what is wrong from lsptap and from gopls', { timeout: 90000 }, async (t) => {
  const { ws, ed, sessions } = standInEditor(t, cleanEnv({ GOFLAGS: '-mod=bogus', LSPTAP_REPAIR: 'off' }));
  await ed.initialize(30000);
  await openMain(ed, ws);
  const [own] = await until(() => ownErrors(ed).length && ownErrors(ed), 45000, `lsptap's error message ${describe(ed)}`);
  assert.match(own.params.message, /LSPTAP_REPAIR=off/, own.params.message);
  assert.match(own.params.message, /GOFLAGS/, 'lsptap names the variable');
  await until(() => showMessages(ed, 1).some((m) => /failed to load view/.test(m.params.message)), 10000, `gopls's own message ${describe(ed)}`);
  assert.equal(showMessages(ed, 2).length, 0, 'no restart announced');
  assert.deepEqual(await ed.shutdown(), { code: 0, signal: null }, ed.stderr.text());
  assert.doesNotMatch(ed.stderr.text(), new RegExp(RESTARTED_LINE));
  const s = checkedSession(sessions);
  assert.equal(eventsNamed(s, 'spawn').length, 1, 'one spawn');
  assert.equal(eventsNamed(s, 'repair').length, 0, 'no repair');
  assert.equal(eventsNamed(s, 'gave_up').length, 1, 'gave_up: reported, not repaired');
});

test('after a restart the new server\'s requests get lsptap-2 ids, and the replies their own ids back', { timeout: 60000 }, async (t) => {
  const { ws, ed, sessions, log, starts } = fakeEditor(t, cleanEnv({ GOFLAGS: '-mod=bogus', PEER_MODE: 'request' }));
  await ed.initialize();
  await openMain(ed, ws);
  const second = () => starts()[1]?.pid;
  const repliesTo2 = () => log().filter((l) => l.pid === second() && l.msg && !('method' in l.msg));
  await until(() => repliesTo2().length >= 2, 30000, `the editor's replies to reach the second server ${describe(ed)}`);
  await sleep(300);

  const configs = ed.received.filter((m) => m.method === 'workspace/configuration');
  assert.deepEqual(configs.map((m) => m.id), [1, 'lsptap-2:n:1', 'lsptap-2:s:cfg-a'], 'the ids the editor saw');
  const sentIds = ed.sent.filter((m) => !('method' in m)).map((m) => m.id);
  for (const id of ['lsptap-2:n:1', 'lsptap-2:s:cfg-a']) assert.ok(sentIds.includes(id), `the editor answered ${id}`);

  // The second server got exactly its own two replies, with its own ids,
  // and nothing of the editor's reply to the first server's request id 1.
  const got = repliesTo2().map((l) => ({ id: l.msg.id, items: l.msg.result?.length }));
  assert.deepEqual(got.sort((a, b) => String(a.id).localeCompare(String(b.id))), [{ id: 1, items: 1 }, { id: 'cfg-a', items: 3 }]);

  assert.deepEqual(await ed.shutdown(), { code: 0, signal: null }, ed.stderr.text());
  const s = checkedSession(sessions);
  assert.equal(eventsNamed(s, 'repair').length, 1);
  assert.equal(eventsNamed(s, 'spawn').length, 2);
  // The session records the ids as the editor saw and sent them.
  assertMatchesTraffic(s, 'c2s', ed.sent);
  assertMatchesTraffic(s, 's2c', ed.received);
});

// A server that sends a request id again before the editor answered it
// (JSON-RPC wants ids in flight unique; lsptap must still not misroute):
// the first is renamed lsptap-2:n:7, the second goes on as 7, and the
// server gets its own id 7 back in both replies. Renamed twice, the editor
// got two requests with one id and the second server never had its second
// reply.
test('after a restart a request id sent twice before the reply is renamed once: both replies come back as 7', { timeout: 60000 }, async (t) => {
  const { ws, ed, log, starts } = fakeEditor(t, cleanEnv({ GOFLAGS: '-mod=bogus', PEER_MODE: 'request-dup' }));
  await ed.initialize();
  await openMain(ed, ws);
  const second = () => starts()[1]?.pid;
  const repliesTo2 = () => log().filter((l) => l.pid === second() && l.msg && !('method' in l.msg));
  const configs = () => ed.received.filter((m) => m.method === 'workspace/configuration');
  await until(() => configs().length >= 3, 30000, `the second server's requests to reach the editor ${describe(ed)}`);
  assert.deepEqual(configs().map((m) => [m.id, m.params.items.length]), [[1, 2], ['lsptap-2:n:7', 1], [7, 2]], 'the ids the editor saw');
  await until(() => repliesTo2().length >= 2, 30000, `the editor's replies to reach the second server ${describe(ed)}`);
  const got = repliesTo2().map((l) => ({ id: l.msg.id, items: l.msg.result?.length }));
  assert.deepEqual(got.sort((a, b) => a.items - b.items), [{ id: 7, items: 1 }, { id: 7, items: 2 }]);
  assert.deepEqual(await ed.shutdown(), { code: 0, signal: null }, ed.stderr.text());
});

test('initialize answered with an error: repaired, and the editor\'s initialize succeeds', { timeout: 60000 }, async (t) => {
  const { ed, sessions, starts } = fakeEditor(t, cleanEnv({ GOFLAGS: '-mod=bogus', PEER_MODE: 'init-error' }));
  const init = await ed.initialize();
  assert.equal(init.serverInfo.name, 'fake-gopls');
  assert.equal(starts().length, 2, 'two starts');
  assert.equal(init.serverInfo.version, String(starts()[1].pid), 'the result is the second server\'s');
  assert.equal(starts()[1].goflags, null, 'started without GOFLAGS');
  ed.notify('initialized', {});
  assert.equal((await ed.request('test/echo', {})).pid, starts()[1].pid);
  assert.equal(initReplies(ed).length, 1, 'exactly one initialize response');
  assert.ok(!ed.received.some((m) => 'error' in m), 'no error reply reached the editor');
  const warnings = showMessages(ed, 2);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0].params.message, /answered initialize with an error/);
  assert.match(warnings[0].params.message, /GOFLAGS/);
  assert.deepEqual(await ed.shutdown(), { code: 0, signal: null }, ed.stderr.text());
  const s = checkedSession(sessions);
  assert.equal(eventsNamed(s, 'repair').length, 1);
  assert.equal(eventsNamed(s, 'spawn').length, 2);
});

test('initialize not answered in time (LSPTAP_INIT_TIMEOUT_MS): repaired, and the editor\'s initialize succeeds', { timeout: 60000 }, async (t) => {
  const { ed, sessions, starts } = fakeEditor(t, cleanEnv({ GOFLAGS: '-mod=bogus', PEER_MODE: 'silent', LSPTAP_INIT_TIMEOUT_MS: '1000' }));
  const init = await ed.initialize();
  assert.equal(init.serverInfo.version, String(starts()[1].pid), 'the result is the second server\'s');
  assert.equal(initReplies(ed).length, 1, 'exactly one initialize response');
  ed.notify('initialized', {});
  assert.deepEqual(await ed.shutdown(), { code: 0, signal: null }, ed.stderr.text());
  const s = checkedSession(sessions);
  const failed = eventsNamed(s, 'handshake_failed');
  assert.equal(failed.length, 1);
  assert.match(failed[0].reason, /did not answer initialize within 1000 ms/);
  assert.equal(eventsNamed(s, 'repair').length, 1);
});

test('initialize answered with an error by every start: one repair, then initialize fails and lsptap says why', { timeout: 60000 }, async (t) => {
  const { ed, sessions, starts } = fakeEditor(t, cleanEnv({ GOFLAGS: '-mod=bogus', PEER_MODE: 'init-error', PEER_FAIL: 'always' }));
  let initError;
  await assert.rejects(ed.initialize(), (e) => {
    initError = e.message;
    return true;
  });
  // The diagnosis reaches the editor in words: in the initialize error or
  // (as lsptap does while it holds the server's own error) in a
  // showMessage type 1 next to it.
  const words = [initError, ...ownErrors(ed).map((m) => m.params.message)].filter((m) => m.startsWith('lsptap: '));
  assert.equal(words.length, 1, `one diagnosis from lsptap: ${describe(ed)}`);
  assert.match(words[0], /answered initialize with an error/);
  assert.match(words[0], /failed too/);
  assert.equal(initReplies(ed).length, 1, 'exactly one initialize response');
  assert.equal(showMessages(ed, 2).length, 1, 'the restart was announced once');
  ed.hangUp();
  await withTimeout(ed.child.exited, 20000, 'lsptap to exit after the editor hung up');
  assert.equal(starts().length, 2, 'two starts, no third');
  const s = checkedSession(sessions);
  assert.equal(eventsNamed(s, 'spawn').length, 2);
  assert.equal(eventsNamed(s, 'gave_up').length, 1);
});

test('initialize answered by neither start in time: the initialize error is the diagnosis', { timeout: 60000 }, async (t) => {
  const { ed, sessions, starts } = fakeEditor(t, cleanEnv({ GOFLAGS: '-mod=bogus', PEER_MODE: 'silent', PEER_FAIL: 'always', LSPTAP_INIT_TIMEOUT_MS: '800' }));
  await assert.rejects(ed.initialize(), (e) => {
    assert.match(e.message, /^lsptap: .*did not answer initialize within 800 ms\. The repaired environment failed too/);
    return true;
  });
  assert.equal(initReplies(ed).length, 1, 'exactly one initialize response: the error');
  assert.equal(showMessages(ed, 2).length, 1, 'the restart was announced');
  ed.hangUp();
  await withTimeout(ed.child.exited, 20000, 'lsptap to exit after the editor hung up');
  assert.equal(starts().length, 2);
  const s = checkedSession(sessions);
  assert.equal(eventsNamed(s, 'handshake_failed').length, 2);
  assert.equal(eventsNamed(s, 'gave_up').length, 1);
});

test('a session whose first message is not initialize is not supervised', { timeout: 60000 }, async (t) => {
  const { ed, sessions, starts } = fakeEditor(t, cleanEnv({ GOFLAGS: '-mod=bogus', PEER_MODE: 'load-failure' }));
  ed.notify('$/setTrace', { value: 'off' });
  await ed.initialize();
  ed.notify('initialized', {});
  await until(() => showMessages(ed, 1).length, 20000, `the server's own message ${describe(ed)}`);
  await sleep(500);
  assert.match(showMessages(ed, 1)[0].params.message, /^Error loading workspace folders/, 'the server\'s message, passed through');
  assert.equal(showMessages(ed).length, 1, 'nothing from lsptap');
  assert.deepEqual(await ed.shutdown(), { code: 0, signal: null }, ed.stderr.text());
  assert.equal(starts().length, 1);
  const s = checkedSession(sessions);
  const off = eventsNamed(s, 'supervision_off');
  assert.equal(off.length, 1);
  assert.equal(off[0].reason, 'the editor\'s first message is not initialize');
  assert.equal(eventsNamed(s, 'handshake_failed').length, 0);
});

test('more than 8 MiB from the editor during the handshake: supervision off, said once, the session goes on', { timeout: 60000 }, async (t) => {
  const { ed, sessions, starts } = fakeEditor(t, cleanEnv({ GOFLAGS: '-mod=bogus', PEER_MODE: 'load-failure' }));
  await ed.initialize();
  // A 9 MiB file opened before initialized: the replay buffer cannot keep it.
  ed.notify('textDocument/didOpen', {
    textDocument: { uri: ed.uri('big.go'), languageId: 'go', version: 1, text: `package main\n\n// ${'x'.repeat(9 << 20)}\n` },
  });
  ed.notify('initialized', {});
  await until(() => showMessages(ed, 1).length, 20000, `the server's own message ${describe(ed)}`);
  assert.match(showMessages(ed, 1)[0].params.message, /^Error loading workspace folders/, 'the server\'s message, passed through');
  assert.equal(showMessages(ed).length, 1, 'nothing from lsptap in the editor');
  assert.deepEqual(await ed.shutdown(), { code: 0, signal: null }, ed.stderr.text());
  assert.equal(starts().length, 1, 'no restart');
  assert.equal(ed.stderr.text().split('\n').filter((l) => /more than 8 MiB/.test(l)).length, 1, `stderr says why, once:\n${ed.stderr.text()}`);
  const s = checkedSession(sessions);
  const off = eventsNamed(s, 'supervision_off');
  assert.equal(off.length, 1);
  assert.equal(off[0].reason, 'replay buffer full');
});

test('LSPTAP_HANDSHAKE_MS: a load failure after the window is the server\'s business, not a failed handshake', { timeout: 60000 }, async (t) => {
  const { ed, sessions, starts } = fakeEditor(t, cleanEnv({ GOFLAGS: '-mod=bogus', PEER_MODE: 'load-failure', PEER_LOAD_MS: '1500', LSPTAP_HANDSHAKE_MS: '300' }));
  await ed.initialize();
  ed.notify('initialized', {});
  await until(() => showMessages(ed, 1).length, 20000, `the server's own message ${describe(ed)}`);
  await sleep(300);
  assert.match(showMessages(ed, 1)[0].params.message, /^Error loading workspace folders/);
  assert.equal(showMessages(ed).length, 1, 'nothing from lsptap');
  assert.deepEqual(await ed.shutdown(), { code: 0, signal: null }, ed.stderr.text());
  assert.equal(starts().length, 1);
  const s = checkedSession(sessions);
  assert.deepEqual(eventsNamed(s, 'handshake_ok').map((e) => e.server), [1], 'the handshake succeeded (window passed)');
  assert.equal(eventsNamed(s, 'handshake_failed').length, 0);
});

test('LSPTAP_FAIL_PATTERNS: an error message matching none of them is not a failed handshake', { timeout: 60000 }, async (t) => {
  const { ed, sessions, starts } = fakeEditor(t, cleanEnv({ GOFLAGS: '-mod=bogus', PEER_MODE: 'load-failure', LSPTAP_FAIL_PATTERNS: 'no such text|neither this', LSPTAP_HANDSHAKE_MS: '1000' }));
  await ed.initialize();
  ed.notify('initialized', {});
  await until(() => showMessages(ed, 1).length, 20000, `the server's own message ${describe(ed)}`);
  await sleep(1500); // past the window
  assert.equal(showMessages(ed).length, 1, 'only the server\'s message');
  assert.deepEqual(await ed.shutdown(), { code: 0, signal: null }, ed.stderr.text());
  assert.equal(starts().length, 1);
  const s = checkedSession(sessions);
  assert.equal(eventsNamed(s, 'handshake_failed').length, 0);
  assert.equal(eventsNamed(s, 'handshake_ok').length, 1);
});

// Known gaps: each test fails today; docs/repair.md "Known gaps".
test('the editor closes its side while the environment is checked: no restart', { timeout: 60000 }, async (t) => {
  // A check that takes a second: go is not on PATH (only node, for the
  // scripted server), so lsptap asks the login shell, which is slow.
  const dir = tempDir(t, 'lsptap-slow-');
  fs.symlinkSync(process.execPath, path.join(dir, 'node'));
  fs.writeFileSync(path.join(dir, 'slow-shell'), '#!/bin/sh\nsleep 1\nexec /bin/sh "$@"\n', { mode: 0o755 });
  const { ed, sessions, starts } = fakeEditor(t, cleanEnv({ PATH: dir, SHELL: path.join(dir, 'slow-shell'), PEER_MODE: 'load-failure', PEER_FAIL: 'always' }));
  await ed.initialize();
  ed.notify('initialized', {});
  await until(() => ed.stderr.text().includes('lsptap: the handshake failed'), 20000, `the failure ${describe(ed)}`);
  ed.hangUp(); // the editor goes away while lsptap checks the environment
  const st = await withTimeout(ed.child.exited, 20000, 'lsptap to exit');
  assert.deepEqual(st, { code: 0, signal: null });
  const s = checkedSession(sessions);
  const events = s.events.map((e) => e.event).join(' ');
  assert.equal(starts().length, 1, `no second server for an editor that is gone; events: ${events}\n${ed.stderr.text()}`);
  assert.equal(eventsNamed(s, 'handshake_failed').length, 1, `one failure; events: ${events}`);
  assert.equal(eventsNamed(s, 'spawn').length, 1, 'one spawn event');
  assert.equal(eventsNamed(s, 'repair').length, 0, 'no repair event');
  assert.equal(eventsNamed(s, 'editor_gone').length, 0, 'no write to the closed editor');
});

test('an initialize result that comes after lsptap answered initialize with its diagnosis is not a second response', { timeout: 60000 }, async (t) => {
  const { ed, starts } = fakeEditor(t, cleanEnv({ PEER_MODE: 'slow', PEER_FAIL: 'always', PEER_DELAY_MS: '1500', LSPTAP_INIT_TIMEOUT_MS: '500' }));
  await assert.rejects(ed.initialize(), /^Error: lsptap: .*did not answer initialize within 500 ms/);
  await sleep(2500); // the server's late answer has come by now
  assert.equal(starts().length, 1);
  assert.equal(initReplies(ed).length, 1, `exactly one response to initialize: ${JSON.stringify(initReplies(ed))}`);
});
