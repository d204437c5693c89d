// Handshake supervision against more of the variables go reads (`go help
// environment`) than repair.test.mjs's three: gopls reports some load
// failures only as window/logMessage type 1 ("initial workspace load
// failed: ..."), and those are seen too. What the rules repair is repaired
// (hover then works); what they cannot, lsptap says so in a showMessage of
// type 1; what go accepts causes no restart.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { childEnv, copyExample, realGopls, sleep, standIn, tempDir } from './lib/env.mjs';
import { startEditor } from './lib/lsp.mjs';
import { checkedSession, eventsNamed } from './lib/session.mjs';

const GREET_NEW = { line: 17, character: 14 }; // greet.New in main.go (0-based)
const GO_VARS = ['GOFLAGS', 'GOROOT', 'GOPROXY', 'GO111MODULE', 'GOWORK', 'GOENV', 'GOPATH', 'GOOS', 'GOARCH',
  'GOTOOLCHAIN', 'CGO_ENABLED', 'GOMODCACHE', 'GOCACHE', 'HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'];

function cleanEnv(extra) {
  const env = childEnv(extra);
  for (const k of GO_VARS) if (!(k in extra)) delete env[k];
  return env;
}

async function until(fn, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(150);
  }
}

const shows = (ed, type) => ed.received.filter((m) => m.method === 'window/showMessage' && m.params.type === type);
const logErrors = (ed) => ed.received.filter((m) => m.method === 'window/logMessage' && m.params.type === 1 &&
  /initial workspace load failed/.test(m.params.message));
const describe = (ed) => `received: ${JSON.stringify(ed.received.filter((m) => /Message/.test(m.method ?? '')).map((m) => m.params))}\nstderr:\n${ed.stderr.text()}`;

async function open(t, cmd, env) {
  const ws = copyExample(t);
  const ed = startEditor(t, cmd, [], { workspace: ws, env });
  await ed.initialize(30000);
  ed.notify('initialized', {});
  ed.notify('textDocument/didOpen', {
    textDocument: { uri: ed.uri('main.go'), languageId: 'go', version: 1, text: fs.readFileSync(path.join(ws, 'main.go'), 'utf8') },
  });
  return ed;
}

async function hover(ed) {
  try {
    return await ed.request('textDocument/hover', { textDocument: { uri: ed.uri('main.go') }, position: GREET_NEW });
  } catch {
    return null;
  }
}

function standInEnv(t, extra) {
  const sessions = `${tempDir(t, 'lsptap-sessions-')}/s`;
  return { sessions, env: cleanEnv({ ...extra, LSPTAP_GOPLS: realGopls(), LSPTAP_DIR: sessions }) };
}

const notGo = (t) => tempDir(t, 'lsptap-notgo-'); // a directory, but no Go installation in it

// gopls says these only in window/logMessage (checked against gopls alone).
const LOG_ONLY = [
  { name: 'GOROOT naming a directory without Go', variable: 'GOROOT', env: (t) => ({ GOROOT: notGo(t) }) },
  { name: 'GOWORK naming a missing file', variable: 'GOWORK', env: (t) => ({ GOWORK: path.join(tempDir(t), 'no', 'go.work') }) },
];
// And these in a showMessage too.
const SHOWN = [
  { name: 'GO111MODULE=bogus', variable: 'GO111MODULE', env: () => ({ GO111MODULE: 'bogus' }) },
  { name: 'GOPATH relative', variable: 'GOPATH', env: () => ({ GOPATH: 'relative/path' }) },
  { name: 'GOFLAGS with an unknown flag', variable: 'GOFLAGS', env: () => ({ GOFLAGS: '-bogusflag' }) },
];

for (const p of LOG_ONLY) {
  test(`${p.name}: gopls alone reports it only in window/logMessage`, { timeout: 90000 }, async (t) => {
    const ed = await open(t, realGopls(), cleanEnv(p.env(t)));
    await until(() => logErrors(ed).length, 30000, `gopls's logMessage ${describe(ed)}`);
    await sleep(1000);
    assert.deepEqual(shows(ed, 1), [], 'no showMessage of type 1: the old supervision saw nothing');
    assert.deepEqual(await ed.shutdown(), { code: 0, signal: null });
  });
}

for (const p of [...LOG_ONLY, ...SHOWN]) {
  test(`${p.name}: repaired through the stand-in, hover works`, { timeout: 120000 }, async (t) => {
    const { env, sessions } = standInEnv(t, p.env(t));
    const ed = await open(t, standIn(), env);
    const answer = await until(hover.bind(null, ed), 60000, `a hover result ${describe(ed)}`);
    assert.match(JSON.stringify(answer.contents), /greet\.New/);
    const warn = shows(ed, 2).filter((m) => m.params.message.startsWith('lsptap restarted gopls'));
    assert.equal(warn.length, 1, describe(ed));
    assert.ok(warn[0].params.message.includes(p.variable), warn[0].params.message);
    assert.deepEqual(await ed.shutdown(), { code: 0, signal: null });
    const s = checkedSession(sessions);
    assert.ok(eventsNamed(s, 'repair')[0].changes.some((c) => c.variable === p.variable));
  });
}

// go rejects these, and no rule can say what they should be: lsptap says so.
for (const [k, v] of [['GOARCH', 'bogus'], ['GOOS', 'bogus']]) {
  test(`${k}=${v}: not repairable, and the editor is told so`, { timeout: 120000 }, async (t) => {
    const { env, sessions } = standInEnv(t, { [k]: v });
    const ed = await open(t, standIn(), env);
    const err = await until(() => shows(ed, 1).find((m) => m.params.message.startsWith('lsptap: ')), 60000, `lsptap's error ${describe(ed)}`);
    assert.match(err.params.message, /unsupported GOOS\/GOARCH pair/);
    assert.match(err.params.message, /No environment problem lsptap can fix was found/);
    await ed.shutdown().catch(() => {});
    const s = checkedSession(sessions);
    assert.equal(eventsNamed(s, 'gave_up').length, 1);
    assert.equal(eventsNamed(s, 'spawn').length, 1, 'no pointless restart');
  });
}

// go accepts these (or ignores them): no failure, no restart.
for (const [k, v] of [['CGO_ENABLED', 'x'], ['GOENV', '/nonexistent/go/env']]) {
  test(`${k}=${v}: go accepts it, nothing is restarted`, { timeout: 120000 }, async (t) => {
    const { env, sessions } = standInEnv(t, { [k]: v });
    const ed = await open(t, standIn(), env);
    const answer = await until(hover.bind(null, ed), 60000, `a hover result ${describe(ed)}`);
    assert.match(JSON.stringify(answer.contents), /greet\.New/);
    assert.deepEqual(await ed.shutdown(), { code: 0, signal: null });
    const s = checkedSession(sessions);
    assert.equal(eventsNamed(s, 'handshake_failed').length, 0);
    assert.equal(eventsNamed(s, 'spawn').length, 1);
  });
}

// Whatever this Go makes of a toolchain name it cannot have (go 1.19 ignores
// GOTOOLCHAIN; newer go refuses it): the editor never waits in silence.
test('GOTOOLCHAIN=bogus: either hover works, or lsptap tells the editor why not', { timeout: 120000 }, async (t) => {
  const { env } = standInEnv(t, { GOTOOLCHAIN: 'bogus' });
  const ed = await open(t, standIn(), env);
  const outcome = await until(async () => (await hover(ed)) || shows(ed, 1).find((m) => m.params.message.startsWith('lsptap: ')),
    60000, `a hover result or lsptap's word ${describe(ed)}`);
  assert.ok(outcome.contents || /GOTOOLCHAIN|toolchain/.test(outcome.params.message), JSON.stringify(outcome));
  await ed.shutdown().catch(() => {});
});
