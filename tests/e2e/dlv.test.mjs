// The dlv stand-in in front of the real dlv, driven by VS Code's own DAP test
// client (DebugClient from @vscode/debugadapter-testsupport) over TCP, the
// way vscode-go starts `dlv dap` and connects to the port it announces: a
// debug session on tests/example runs as it would against dlv alone, lsptap
// exits with dlv's status, and the session file holds every request paired
// with its response. When dlv cannot start, the client hears why inside DAP.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { childEnv, childPids, copyExample, freePort, lsptapBin, peersDir, pidAlive, sleep, tempDir, withTimeout } from './lib/env.mjs';
import { ANNOUNCE, assertDapTraffic, connectClient, dlvStandIn, realDlv, startDlv, validateDapSession } from './lib/dap.mjs';
import { launch, noChromium } from './lib/chromium.mjs';
import { eventsNamed, findSession } from './lib/session.mjs';

// Building the example under dlv takes seconds on two cores.
const BUILD_MS = 120000;

// The 1-based line of the first line of `file` containing `text`.
function lineOf(file, text) {
  const i = fs.readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(text));
  assert.ok(i >= 0, `${file} has no line containing ${text}`);
  return i + 1;
}


function stats(args) {
  const r = spawnSync(lsptapBin(), ['stats', ...args], { timeout: 15000, encoding: 'utf8' });
  assert.equal(r.status, 0, `lsptap stats ${args.join(' ')} exit; stderr:\n${r.stderr}`);
  return r.stdout;
}

// Rows of the stats table by command name (event rows, "name (event)", are
// left out), read through its header line; the count column is REQ.
function commandRows(text) {
  const lines = text.split('\n');
  const h = lines.findIndex((l) => /p50/i.test(l) && /p99/i.test(l));
  assert.ok(h >= 0, `no header line with p50 ... p99:\n${text}`);
  const cols = lines[h].trim().split(/\s+/);
  const req = cols.findIndex((c) => /^(req|requests|count|n)$/i.test(c));
  const err = cols.findIndex((c) => /^err/i.test(c));
  assert.ok(req >= 0 && err >= 0, `no request/error count columns in ${JSON.stringify(cols)}`);
  const rows = {};
  for (const l of lines.slice(h + 1)) {
    const f = l.trim().replace(/(\d) (B|[KMG]i?B)\b/g, '$1$2').split(/\s+/);
    if (f.length === cols.length) rows[f[0]] = { requests: Number(f[req]), errors: Number(f[err]) };
  }
  return rows;
}

// The stand-in in front of the real dlv on a fresh copy of the example,
// a client attached, the example launched with a breakpoint on g.count++ in
// greet.(*Greeter).Greet, and stopped there (stack checked). `args` are the
// stand-in's; the line is read from `from`.
async function toBreakpoint(t, { args, from }) {
  const ws = copyExample(t);
  const sessions = `${tempDir(t, 'lsptap-sessions-')}/s`;
  const dlv = startDlv(t, args, { cwd: ws, env: childEnv({ LSPTAP_DLV: realDlv(), LSPTAP_DIR: sessions }), from });
  const where = await dlv.announced;
  assert.equal(where.host, '127.0.0.1', `announced ${where.line}`);
  assert.ok(where.port > 0, `announced ${where.line}`);

  const c = await connectClient(t, where.port);
  const { dc } = c;
  const greet = path.join(ws, 'greet/greet.go');
  const line = lineOf(greet, 'g.count++');
  const stopped = dc.waitForEvent('stopped');
  const [, , stack] = await withTimeout(
    dc.hitBreakpoint({ name: 'Launch', type: 'go', request: 'launch', mode: 'debug', program: ws, args: ['Ann'] }, { path: greet, line }),
    BUILD_MS,
    `build, launch and stop at greet.go:${line}; stderr:\n${dlv.stderr.text()}`,
  );
  const threadId = (await stopped).body.threadId;
  const frames = stack.body.stackFrames;
  assert.match(frames[0].name, /greet\.\(\*Greeter\)\.Greet$/, 'top frame is the method with the breakpoint');
  assert.equal(frames[0].line, line, 'top frame line');
  assert.equal(frames[0].source.path, greet, 'top frame file');
  assert.equal(frames[1].name, 'main.main', 'called from main.main');
  assert.equal(frames[1].line, lineOf(path.join(ws, 'main.go'), 'g.Greet(name)'), 'caller line');
  return { ws, sessions, dlv, where, c, threadId, frames };
}

const step = (p, what) => withTimeout(p, 30000, what);

// One debug session, as VS Code runs it: launch the example with a
// breakpoint in greet.(*Greeter).Greet, stop there, look at the stack,
// the locals and two expressions, continue to the end, disconnect.
async function debugSession(t, { from, listen }) {
  const args = ['dap', `--listen=${listen}`];
  if (from === 'fd3') args.push('--log-dest=3');
  const r = await toBreakpoint(t, { args, from });
  const { dlv, c, threadId, frames } = r;
  const { dc } = c;
  const scopes = await step(dc.scopesRequest({ frameId: frames[0].id }), 'scopes');
  const locals = scopes.body.scopes.find((s) => /local/i.test(s.name));
  assert.ok(locals, `a Locals scope: ${JSON.stringify(scopes.body)}`);
  const vars = await step(dc.variablesRequest({ variablesReference: locals.variablesReference }), 'variables');
  const name = vars.body.variables.find((v) => v.name === 'name');
  assert.ok(name, `argument "name" among the locals: ${JSON.stringify(vars.body.variables)}`);
  assert.equal(name.value, '"Ann"');
  const ev = await step(dc.evaluateRequest({ expression: 'g.Punct', frameId: frames[0].id, context: 'repl' }), 'evaluate g.Punct');
  assert.equal(ev.body.result, '"."');
  const count = await step(dc.evaluateRequest({ expression: 'g.count', frameId: frames[0].id, context: 'watch' }), 'evaluate g.count');
  assert.equal(count.body.result, '0', 'the breakpoint is before the increment');
  // A name dlv does not know: success:false from dlv itself, recorded as an error.
  const bad = await step(
    dc.evaluateRequest({ expression: 'nosuchname', frameId: frames[0].id, context: 'watch' }).then(
      () => null,
      (e) => e,
    ),
    'evaluate nosuchname',
  );
  assert.ok(bad && bad.message, 'dlv refuses an unknown name, with a message');
  r.evaluateError = bad.message;

  const terminated = dc.waitForEvent('terminated');
  await step(dc.continueRequest({ threadId }), 'continue');
  await step(terminated, 'terminated event after the program ran to its end');
  await step(dc.disconnectRequest({}), 'disconnect');
  c.hangUp();
  const exit = await withTimeout(dlv.child.exited, 30000, `lsptap exit after disconnect; stderr:\n${dlv.stderr.text()}`);
  return { ...r, exit };
}

// What every successful session must show afterwards.
function checkAfter(r, { listen }) {
  const { dlv, where, c, exit, sessions } = r;
  const stderr = dlv.stderr.text();
  assert.deepEqual(exit, { code: 0, signal: null }, `lsptap exits with dlv's status; stderr:\n${stderr}`);

  // The announcement: first line of stdout (and of fd 3 when --log-dest=3
  // named it), exactly once each, with lsptap's own address.
  const firstLine = (text) => text.slice(0, text.indexOf('\n') + 1);
  assert.equal(firstLine(dlv.stdout.text()), where.line, 'stdout starts with the listening line');
  assert.equal(dlv.stdout.text().split(ANNOUNCE).length - 1, 1, 'one listening line on stdout');
  if (r.from === 'fd3') {
    assert.equal(firstLine(dlv.log.text()), where.line, 'fd 3 starts with the listening line');
    assert.equal(dlv.log.text().split(ANNOUNCE).length - 1, 1, 'one listening line on fd 3');
  } else {
    assert.equal(dlv.log.text(), '', 'nothing on fd 3 when --log-dest was not given');
  }
  if (!/:0$/.test(listen)) assert.equal(`${where.host}:${where.port}`, listen, 'listens where --listen said');
  // dlv's other output passes through: the debuggee's own stdout.
  assert.match(dlv.stdout.text(), /Hello, Ann\.!\ngreetings: 1\n/, 'the program\'s output on stdout');

  // stderr: in a clean session lsptap adds one line, its summary, last.
  const lines = stderr.split('\n').filter((l) => l.length > 0);
  const own = lines.filter((l) => l.startsWith('lsptap:'));
  assert.equal(own.length, 1, `one lsptap: line (the summary) in a clean session:\n${stderr}`);
  assert.equal(lines[lines.length - 1], own[0], 'the summary is the last stderr line');
  const file = findSession(sessions);
  assert.ok(own[0].includes(file), `the summary names the session file ${file}: ${own[0]}`);

  const s = validateDapSession(file);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'session file mode');
  assertDapTraffic(s, 'c2s', c.sent);
  assertDapTraffic(s, 's2c', c.received);
  assert.deepEqual(s.unanswered, [], 'every request has its response');
  const commands = s.messages.filter((m) => m.dir === 'c2s').map((m) => m.command);
  assert.deepEqual(
    commands,
    ['initialize', 'launch', 'setBreakpoints', 'configurationDone', 'stackTrace', 'scopes', 'variables', 'evaluate', 'evaluate', 'evaluate', 'continue', 'disconnect'],
    'the requests, in order',
  );
  for (const m of s.messages.filter((x) => x.kind === 'response')) assert.ok('latency_us' in m, `response to ${m.command} paired`);
  const errors = s.messages.filter((m) => 'error' in m);
  assert.equal(errors.length, 1, `one error reply, dlv's answer to the unknown name: ${JSON.stringify(errors)}`);
  assert.equal(errors[0].command, 'evaluate');
  assert.equal(errors[0].error, r.evaluateError, 'the error is dlv\'s message');
  for (const ev of ['initialized', 'stopped', 'terminated']) {
    assert.ok(s.messages.some((m) => m.kind === 'event' && m.event === ev), `a ${ev} event line`);
  }
  const spawns = eventsNamed(s, 'spawn');
  assert.equal(spawns.length, 1, 'one spawn event');
  assert.equal(spawns[0].path, realDlv(), 'spawned the real dlv');
  assert.ok(!pidAlive(spawns[0].pid), `dlv (pid ${spawns[0].pid}) is gone`);
  const exits = eventsNamed(s, 'exit');
  assert.equal(exits.length, 1, 'one exit event');
  assert.equal(exits[0].status, 0, `exit event: ${JSON.stringify(exits[0])}`);
  assert.equal(eventsNamed(s, 'pending').length, 0, 'nothing pending');
  const summary = eventsNamed(s, 'summary')[0];
  assert.equal(summary.listen, `${where.host}:${where.port}`, 'summary: lsptap\'s address');
  assert.ok(summary.dlv && summary.dlv !== summary.listen, `summary: dlv listened on its own port (${summary.dlv})`);
  assert.ok(s.header.argv.includes(`--listen=127.0.0.1:0`), `dlv was started on a free loopback port: ${JSON.stringify(s.header.argv)}`);

  // `lsptap stats` reads the DAP session back.
  const text = stats([file]);
  const rows = commandRows(text);
  const want = { initialize: 1, launch: 1, setBreakpoints: 1, configurationDone: 1, stackTrace: 1, scopes: 1, variables: 1, evaluate: 3, continue: 1, disconnect: 1 };
  const wantErrors = (cmd) => (cmd === 'evaluate' ? 1 : 0);
  for (const [cmd, n] of Object.entries(want)) {
    assert.deepEqual(rows[cmd], { requests: n, errors: wantErrors(cmd) }, `stats row for ${cmd}:\n${text}`);
  }
  assert.match(text, /\bdap\b/, `stats names the protocol:\n${text}`);
  const doc = JSON.parse(stats([file, '--json']));
  assert.equal(doc.protocol, 'dap');
  for (const [cmd, n] of Object.entries(want)) {
    const m = doc.methods.find((x) => x.method === cmd && !x.event);
    assert.ok(m, `stats --json has ${cmd}`);
    assert.equal(m.requests, n, `stats --json ${cmd} requests`);
    assert.equal(m.replies, n, `stats --json ${cmd} replies`);
    assert.equal(m.latency_us.count, n, `stats --json ${cmd} latencies`);
    assert.equal(m.errors, wantErrors(cmd), `stats --json ${cmd} errors`);
  }
  const stoppedRow = doc.methods.find((x) => x.method === 'stopped' && x.event);
  assert.ok(stoppedRow, 'stats --json counts the stopped event');
}

test('dlv dap --listen=127.0.0.1:0 --log-dest=3, as vscode-go runs it: breakpoint, stack, variables, run to the end; exit 0; paired session; stats', { timeout: 180000 }, async (t) => {
  const listen = '127.0.0.1:0';
  const r = await debugSession(t, { from: 'fd3', listen });
  checkAfter({ ...r, from: 'fd3' }, { listen });
});

test('dlv dap --listen=127.0.0.1:PORT without --log-dest: the line on stdout, the same session through the stand-in', { timeout: 180000 }, async (t) => {
  const listen = `127.0.0.1:${await freePort()}`;
  const r = await debugSession(t, { from: 'stdout', listen });
  checkAfter({ ...r, from: 'stdout' }, { listen });
  // The recorded DAP session, as `lsptap report` shows it in a browser.
  if (noChromium()) {
    t.diagnostic(`report of the recorded DAP session not rendered: ${noChromium()}`);
    return;
  }
  const file = findSession(r.sessions);
  const html = path.join(tempDir(t), 'dap-recorded.html');
  const rep = spawnSync(lsptapBin(), ['report', file, '-o', html], { encoding: 'utf8', timeout: 60000 });
  assert.equal(rep.status, 0, `lsptap report: ${rep.stderr}`);
  const browser = await launch(t, { height: 1000 });
  const page = await browser.open(html);
  const info = await page.evaluate(`(() => ({ ready: !!(window.lsptapReport || {}).ready,
    commands: [...document.querySelectorAll('#latency tbody tr td:first-child')].map((c) => c.textContent),
    ending: document.getElementById('ending').textContent }))()`);
  assert.deepEqual(page.errors, [], 'no console errors');
  assert.ok(info.ready, 'the report rendered');
  for (const c of ['initialize', 'launch', 'setBreakpoints', 'stackTrace', 'evaluate', 'continue', 'disconnect'])
    assert.ok(info.commands.includes(c), `${c} in the latency table: ${info.commands}`);
  assert.match(info.ending, /exit|ended|status 0/i);
  const artifacts = path.join(path.dirname(lsptapBin()), 'e2e-artifacts');
  fs.mkdirSync(artifacts, { recursive: true });
  t.diagnostic(`screenshot: ${await page.screenshot(path.join(artifacts, 'report-dap-recorded.png'))}`);
});

// A short session: initialize, disconnect, hang up. Returns the response
// to initialize and lsptap's exit.
async function shortSession(t, dlv) {
  const where = await dlv.announced;
  const c = await connectClient(t, where.port);
  const init = await step(c.dc.initializeRequest(), `initialize; stderr:\n${dlv.stderr.text()}`);
  await step(c.dc.disconnectRequest({}), 'disconnect');
  c.hangUp();
  const exit = await withTimeout(dlv.child.exited, 30000, `lsptap exit; stderr:\n${dlv.stderr.text()}`);
  return { where, c, init, exit };
}

test('--listen ADDR --log-dest 3 as separate words: dlv gets a free port, the fd is kept', { timeout: 60000 }, async (t) => {
  const cwd = tempDir(t);
  const sessions = `${cwd}/s`;
  const dlv = startDlv(t, ['dap', '--listen', '127.0.0.1:0', '--log-dest', '3'], { cwd, env: childEnv({ LSPTAP_DLV: realDlv(), LSPTAP_DIR: sessions }) });
  const { init, exit } = await shortSession(t, dlv);
  assert.equal(init.body.supportsConfigurationDoneRequest, true, 'dlv\'s initialize result');
  assert.deepEqual(exit, { code: 0, signal: null }, `stderr:\n${dlv.stderr.text()}`);
  const s = validateDapSession(findSession(sessions));
  assert.deepEqual(s.header.argv.slice(1), ['dap', '--listen=127.0.0.1:0', '--log-dest', '3'], 'the child\'s argv');
});

test('--log-dest=FILE --log: dlv\'s log goes to FILE, with lsptap\'s listening line in place of dlv\'s', { timeout: 60000 }, async (t) => {
  const cwd = tempDir(t);
  const file = path.join(cwd, 'dlv.log');
  const dlv = startDlv(t, ['dap', '--listen=127.0.0.1:0', '--log', '--log-output=dap', `--log-dest=${file}`], {
    cwd,
    from: 'stdout',
    env: childEnv({ LSPTAP_DLV: realDlv(), LSPTAP_DIR: `${cwd}/s` }),
  });
  const { where, exit } = await shortSession(t, dlv);
  assert.deepEqual(exit, { code: 0, signal: null }, `stderr:\n${dlv.stderr.text()}`);
  const log = fs.readFileSync(file, 'utf8');
  const announced = log.split('\n').filter((l) => l.startsWith(ANNOUNCE));
  assert.deepEqual(announced, [where.line.trimEnd()], `one listening line in ${file}, lsptap's:\n${log}`);
  assert.match(log, /"command":"initialize"/, `dlv's DAP log reached ${file}:\n${log}`);
  assert.equal(dlv.log.text(), '', 'fd 3 untouched');
});

test('the editor goes away mid-session without disconnect: dlv ends, lsptap exits with its status', { timeout: 180000 }, async (t) => {
  const r = await toBreakpoint(t, { args: ['dap', '--listen=127.0.0.1:0', '--log-dest=3'], from: 'fd3' });
  const [pid] = r.dlv.children;
  r.c.sock.destroy();
  const exit = await withTimeout(r.dlv.child.exited, 30000, `lsptap exit after the editor vanished; stderr:\n${r.dlv.stderr.text()}`);
  for (const end = Date.now() + 5000; pidAlive(pid) && Date.now() < end; ) await sleep(50);
  assert.ok(!pidAlive(pid), `dlv (pid ${pid}) is gone`);
  const s = validateDapSession(findSession(r.sessions));
  const exits = eventsNamed(s, 'exit');
  assert.equal(exits.length, 1, 'one exit event');
  assert.deepEqual(exit, { code: exits[0].signal ? 128 + exits[0].signal : exits[0].status, signal: null }, `lsptap's status is dlv's: ${JSON.stringify(exits[0])}`);
  assert.equal(eventsNamed(s, 'editor_eof').length, 1, 'the editor\'s end is recorded');
  assert.deepEqual(s.unanswered, [], 'every request was answered before the editor left');
  assertDapTraffic(s, 'c2s', r.c.sent);
});

test('dlv killed mid-session: the editor sees the socket close, lsptap exits 137 and says so', { timeout: 180000 }, async (t) => {
  const r = await toBreakpoint(t, { args: ['dap', '--listen=127.0.0.1:0', '--log-dest=3'], from: 'fd3' });
  const [pid] = r.dlv.children;
  process.kill(-pid, 'SIGKILL');
  await withTimeout(r.c.closed, 30000, 'the editor\'s socket closes');
  const exit = await withTimeout(r.dlv.child.exited, 30000, `lsptap exit; stderr:\n${r.dlv.stderr.text()}`);
  assert.deepEqual(exit, { code: 137, signal: null }, `stderr:\n${r.dlv.stderr.text()}`);
  assert.match(r.dlv.stderr.text(), /^lsptap: .*signal 9/m, 'stderr names the signal');
  const s = validateDapSession(findSession(r.sessions));
  assert.equal(eventsNamed(s, 'exit')[0].signal, 9);
});

// ---- failures: the editor hears the cause inside DAP ----

// Starts the stand-in in front of a scripted dlv and connects a client to
// the port it still announces. Returns what a test checks.
async function failingDlv(t, peer, env = {}) {
  const dir = tempDir(t);
  const sessions = `${dir}/s`;
  const dlv = startDlv(t, ['dap', '--listen=127.0.0.1:0', '--log-dest=3'], {
    cwd: dir,
    env: childEnv({ LSPTAP_DLV: path.join(peersDir, peer), LSPTAP_DIR: sessions, ...env }),
  });
  const where = await dlv.announced;
  const c = await connectClient(t, where.port);
  return { dlv, where, c, sessions };
}

// initialize fails with a message; disconnect succeeds; hanging up ends lsptap.
async function expectFailedInitialize(f) {
  const { dc } = f.c;
  const err = await withTimeout(
    dc.initializeRequest().then(
      () => null,
      (e) => e,
    ),
    30000,
    'the initialize response',
  );
  assert.ok(err, `initialize must fail; stderr:\n${f.dlv.stderr.text()}`);
  await withTimeout(dc.disconnectRequest({}), 10000, 'disconnect answered');
  f.c.hangUp();
  const exit = await withTimeout(f.dlv.child.exited, 30000, `lsptap exit; stderr:\n${f.dlv.stderr.text()}`);
  return { message: err.message, exit };
}

test('dlv exits at start (status 3): initialize fails with "lsptap: ... exited with status 3", stderr says why, lsptap exits 3', { timeout: 60000 }, async (t) => {
  const f = await failingDlv(t, 'dlv-exits.mjs');
  const { message, exit } = await expectFailedInitialize(f);
  assert.match(message, /^lsptap: /, `message starts with "lsptap: ": ${message}`);
  assert.match(message, /exited with status 3/, message);
  assert.match(message, /simulated failure/, `the message carries dlv's last stderr line: ${message}`);
  assert.deepEqual(exit, { code: 3, signal: null }, `lsptap exits with dlv's status; stderr:\n${f.dlv.stderr.text()}`);
  const stderr = f.dlv.stderr.text();
  assert.match(stderr, /^could not launch process: simulated failure/m, 'dlv\'s own stderr passes through');
  assert.match(stderr, /^lsptap: .*exited with status 3/m, 'lsptap says why on stderr');
  for (const l of stderr.split('\n').filter((x) => x && !x.startsWith('could not launch'))) {
    assert.match(l, /^lsptap:/, `every other stderr line is lsptap's: ${l}`);
  }
  // The session records the failed exchange.
  const s = validateDapSession(findSession(f.sessions));
  const init = s.messages.find((m) => m.kind === 'response' && m.command === 'initialize');
  assert.ok(init && init.error && 'latency_us' in init, `initialize response recorded as a paired error: ${JSON.stringify(init)}`);
  assert.equal(eventsNamed(s, 'exit')[0].status, 3);
  assert.ok(eventsNamed(s, 'unavailable').length === 1, 'one unavailable event with the reason');
});

test('dlv never says where it listens (LSPTAP_DLV_START_MS=1000): initialize fails with "did not say where it listens"', { timeout: 60000 }, async (t) => {
  const f = await failingDlv(t, 'dlv-mute.mjs', { LSPTAP_DLV_START_MS: '1000' });
  const { message, exit } = await expectFailedInitialize(f);
  assert.match(message, /^lsptap: /, message);
  assert.match(message, /did not say where it listens/, message);
  assert.deepEqual(exit, { code: 137, signal: null }, `lsptap exits 137 (dlv had to be killed); stderr:\n${f.dlv.stderr.text()}`);
  assert.match(f.dlv.stderr.text(), /^lsptap: .*did not say where it listens/m, 'stderr says why');
  const s = validateDapSession(findSession(f.sessions));
  const spawn = eventsNamed(s, 'spawn')[0];
  assert.ok(!pidAlive(spawn.pid), 'the mute dlv was killed');
});

test('--listen on a port already in use: one clear line, and exit status 1 as dlv alone', { timeout: 60000 }, async (t) => {
  const busy = net.createServer();
  await new Promise((r) => busy.listen(0, '127.0.0.1', r));
  t.after(() => busy.close());
  const listen = `127.0.0.1:${busy.address().port}`;
  const cwd = tempDir(t);
  const want = run(realDlv(), ['dap', `--listen=${listen}`], { cwd, env: childEnv() });
  assert.notEqual(want.status, 0, `dlv alone fails: ${want.stdout}${want.stderr}`);
  const got = run(dlvStandIn(), ['dap', `--listen=${listen}`], { cwd, env: childEnv({ LSPTAP_DLV: realDlv(), LSPTAP_DIR: `${cwd}/s` }) });
  const err = got.stderr.toString();
  assert.equal(got.status, want.status, `the stand-in fails as dlv does; stderr:\n${err}`);
  const why = err.split('\n').filter((l) => l.includes(`cannot listen on ${listen}`));
  assert.equal(why.length, 1, `one line says lsptap cannot listen on ${listen}:\n${err}`);
  assert.match(why[0], /address already in use/);
  assert.doesNotMatch(err, /before it said where it listens/, `dlv did say where it listens:\n${err}`);
});

// vscode-go sends SIGINT when dlv has not exited 1 s after the session
// ended ("let dlv handle cleaning up the child processes"); `kill` sends
// SIGTERM. Either must reach dlv through the stand-in, here while it waits
// for the editor.
for (const sig of ['SIGINT', 'SIGTERM']) {
  test(`${sig} to lsptap reaches dlv: nothing left listening, the session finalised`, { timeout: 60000 }, async (t) => {
    const cwd = tempDir(t);
    const sessions = `${cwd}/s`;
    const dlv = startDlv(t, ['dap', '--listen=127.0.0.1:0', '--log-dest=3'], { cwd, env: childEnv({ LSPTAP_DLV: realDlv(), LSPTAP_DIR: sessions }) });
    await dlv.announced;
    const [pid] = dlv.children;
    assert.ok(pid && pidAlive(pid), 'the real dlv runs');
    process.kill(dlv.child.pid, sig);
    const st = await withTimeout(dlv.child.exited, 15000, `lsptap exit after ${sig}`);
    for (const end = Date.now() + 5000; pidAlive(pid) && Date.now() < end; ) await sleep(50);
    assert.ok(!pidAlive(pid), `dlv (pid ${pid}) outlived lsptap (${JSON.stringify(st)}); stderr:\n${dlv.stderr.text()}`);
    const s = validateDapSession(findSession(sessions));
    assertEndedWithDlv(s, st, sig);
  });
}

// lsptap's status is dlv's (128+N when a signal ended it), and the signal
// was recorded as passed on.
function assertEndedWithDlv(s, st, sig) {
  const exits = eventsNamed(s, 'exit');
  assert.equal(exits.length, 1, 'one exit event');
  const want = exits[0].signal ? 128 + exits[0].signal : exits[0].status;
  assert.deepEqual(st, { code: want, signal: null }, `lsptap's status is dlv's: ${JSON.stringify(exits[0])}`);
  const sigs = eventsNamed(s, 'signal');
  assert.equal(sigs.length, 1, `one signal event: ${JSON.stringify(sigs)}`);
  assert.equal(sigs[0].signal, { SIGINT: 2, SIGTERM: 15 }[sig]);
  assert.equal(sigs[0].action, 'passed on');
}

test('SIGINT to lsptap at a breakpoint: dlv and the debuggee end, the editor sees the socket close', { timeout: 180000 }, async (t) => {
  const r = await toBreakpoint(t, { args: ['dap', '--listen=127.0.0.1:0', '--log-dest=3'], from: 'fd3' });
  const [pid] = r.dlv.children;
  const debuggees = childPids(pid);
  assert.ok(debuggees.length > 0, 'dlv runs the debuggee');
  process.kill(r.dlv.child.pid, 'SIGINT');
  await withTimeout(r.c.closed, 30000, `the editor's socket closes; stderr:\n${r.dlv.stderr.text()}`);
  const st = await withTimeout(r.dlv.child.exited, 30000, `lsptap exit; stderr:\n${r.dlv.stderr.text()}`);
  for (const end = Date.now() + 5000; [pid, ...debuggees].some(pidAlive) && Date.now() < end; ) await sleep(50);
  assert.ok(!pidAlive(pid), `dlv (pid ${pid}) is gone`);
  for (const p of debuggees) assert.ok(!pidAlive(p), `the debuggee (pid ${p}) is gone`);
  const s = validateDapSession(findSession(r.sessions));
  assertEndedWithDlv(s, st, 'SIGINT');
  assert.deepEqual(s.unanswered, [], 'nothing was pending');
});

test('--log-dest=2 is fd 2, as dlv reads it: the line on stderr, no file named "2"', { timeout: 60000 }, async (t) => {
  const cwd = tempDir(t);
  const dlv = startDlv(t, ['dap', '--listen=127.0.0.1:0', '--log-dest=2'], { cwd, from: 'stdout', env: childEnv({ LSPTAP_DLV: realDlv(), LSPTAP_DIR: `${cwd}/s` }) });
  const where = await dlv.announced;
  for (const end = Date.now() + 5000; !dlv.stderr.text().includes(where.line) && Date.now() < end; ) await sleep(50);
  assert.ok(!fs.existsSync(path.join(cwd, '2')), `a file named "2" was created in the cwd: ${JSON.stringify(fs.existsSync(path.join(cwd, '2')) && fs.readFileSync(path.join(cwd, '2'), 'utf8'))}`);
  assert.ok(dlv.stderr.text().includes(where.line), `the listening line on stderr (fd 2):\n${dlv.stderr.text()}`);
});

test('-l127.0.0.1:PORT (cobra shorthand, value attached): lsptap listens on PORT, not dlv', { timeout: 60000 }, async (t) => {
  const cwd = tempDir(t);
  const port = await freePort();
  const dlv = startDlv(t, ['dap', `-l127.0.0.1:${port}`], { cwd, from: 'stdout', env: childEnv({ LSPTAP_DLV: realDlv(), LSPTAP_DIR: `${cwd}/s` }) });
  const { where, exit } = await shortSession(t, dlv);
  assert.equal(where.port, port, `announced ${where.line}`);
  assert.deepEqual(exit, { code: 0, signal: null }, `stderr:\n${dlv.stderr.text()}`);
  const s = validateDapSession(findSession(`${cwd}/s`));
  assert.deepEqual(s.header.argv.slice(1), ['dap', '--listen=127.0.0.1:0'], 'dlv got a free port instead');
  assert.ok(s.messages.some((m) => m.command === 'initialize' && m.kind === 'response'), 'the session went through lsptap');
});

test('dlv not found: initialize fails naming the places searched; lsptap exits 127', { timeout: 60000 }, async (t) => {
  const home = tempDir(t, 'lsptap-home-');
  const env = childEnv({ PATH: '/nonexistent', HOME: home, XDG_CONFIG_HOME: `${home}/.config`, GOPATH: '', GOBIN: '', LSPTAP_DIR: `${home}/s` });
  const dlv = startDlv(t, ['dap', '--listen=127.0.0.1:0', '--log-dest=3'], { cwd: home, env });
  const where = await dlv.announced;
  const c = await connectClient(t, where.port);
  const { message, exit } = await expectFailedInitialize({ dlv, c });
  assert.match(message, /^lsptap: /, message);
  assert.match(message, /not found/i, message);
  assert.match(message, /LSPTAP_DLV/, `names the variable to set: ${message}`);
  assert.deepEqual(exit, { code: 127, signal: null }, `stderr:\n${dlv.stderr.text()}`);
  assert.match(dlv.stderr.text(), /^lsptap: .*not found/im, 'stderr says it too');

  const v = run(dlvStandIn(), ['version'], { cwd: home, env });
  assert.equal(v.status, 127, '`dlv version` exits 127');
  assert.match(v.stderr.toString(), /^lsptap: .*not found/im);
  assert.equal(v.stdout.length, 0);
});

test('dlv announces a port nobody listens on: initialize fails with "cannot connect to dlv at ...", and lsptap ends', { timeout: 60000 }, async (t) => {
  // dlv still runs when the editor hangs up: it gets LSPTAP_GRACE_MS, then SIGTERM.
  const f = await failingDlv(t, 'dlv-unreachable.mjs', { LSPTAP_GRACE_MS: '300' });
  const { message, exit } = await expectFailedInitialize(f);
  assert.match(message, /^lsptap: cannot connect to dlv at 127\.0\.0\.1:\d+: connection refused/i, message);
  // netcheck names the layer: nothing listens on the port dlv announced.
  assert.match(message, /netcheck: transport: connection refused .*nothing listens on that port/, message);
  const stderr = f.dlv.stderr.text();
  assert.match(stderr, /^lsptap: cannot connect to dlv at .*connection refused/im, 'stderr says why');
  assert.match(stderr, /^lsptap: dlv did not exit 300 ms after the editor disconnected; sending SIGTERM/m, 'stderr says dlv was stopped');
  assert.deepEqual(exit, { code: 143, signal: null }, `lsptap exits 143 (dlv ended by SIGTERM); stderr:\n${stderr}`);
  const s = validateDapSession(findSession(f.sessions));
  const spawn = eventsNamed(s, 'spawn')[0];
  assert.ok(!pidAlive(spawn.pid), 'the unreachable dlv was stopped');
});

// ---- everything else is dlv itself ----

function run(cmd, args, opts) {
  const r = spawnSync(cmd, args, { timeout: 30000, maxBuffer: 16 << 20, ...opts });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  return r;
}

for (const args of [['version'], ['dap', '--help'], ['help', 'dap'], ['substitute-path-guess-helper'], ['bogus']]) {
  test(`dlv ${args.join(' ')}: byte-identical stdout, stderr and exit status`, { timeout: 30000 }, (t) => {
    const cwd = tempDir(t);
    const want = run(realDlv(), args, { cwd, env: childEnv() });
    const got = run(dlvStandIn(), args, { cwd, env: childEnv({ LSPTAP_DLV: realDlv() }) });
    assert.equal(got.stdout.toString(), want.stdout.toString(), 'stdout');
    assert.equal(got.stderr.toString(), want.stderr.toString(), 'stderr');
    assert.equal(got.status, want.status, 'exit status');
    assert.equal(got.signal, want.signal, 'signal');
    assert.ok(want.stdout.length + want.stderr.length > 0, 'dlv printed something');
  });
}
