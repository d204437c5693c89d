// Secrets never leave lsptap (issue 15, docs/doctor.md "Redaction"): each
// spelling go accepts, in every output: doctor's text and --json, the session
// file (header env and argv, events), stderr, and what lsptap tells the
// editor (the repair's showMessage, the give-up message, the initialize
// error).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { childEnv, copyExample, lsptapBin, peersDir, standIn, tempDir, until, withTimeout } from './lib/env.mjs';
import { startEditor } from './lib/lsp.mjs';

const GO_VARS = ['GOFLAGS', 'GOROOT', 'GOPROXY', 'GO111MODULE', 'GOWORK', 'GOENV', 'GOPATH',
  'GOMODCACHE', 'GOCACHE', 'HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'ALL_PROXY'];

// Every spelling of issue 15, each with its own secret.
const HOSTILE = {
  // userinfo without a scheme (go accepts it in GOPROXY), a query token; the
  // space makes GOPROXY a problem doctor and the repair quote.
  GOPROXY: 'user:TOK1aaaa@proxy.example, https://p.example/?token=TOK5eeee,direct',
  // a password holding ',', a blank and '@'; malformed (the blank), so quoted.
  HTTPS_PROXY: 'http://u:pa,ss wo@rd@proxy.example:1',
  // -X main.token=, API_TOKEN= in -toolexec, GITHUB_TOKEN's value in another
  // flag; -mod=bogus makes go reject GOFLAGS, so it is quoted and repaired.
  GOFLAGS: '-ldflags=-X=main.token=TOK2bbbb -toolexec=API_TOKEN=TOK3cccc -ldflags=-X=main.v=TOK4dddd -mod=bogus',
  GITHUB_TOKEN: 'TOK4dddd',
};
const SECRETS = ['TOK1aaaa', 'TOK2bbbb', 'TOK3cccc', 'TOK4dddd', 'TOK5eeee', 'pa,ss', 'ss wo', 'wo@rd'];

function hostileEnv(extra = {}) {
  const env = childEnv({ ...HOSTILE, ...extra });
  for (const k of GO_VARS) if (!(k in HOSTILE) && !(k in extra)) delete env[k];
  return env;
}

function assertNoSecret(text, where) {
  for (const s of SECRETS) assert.ok(!text.includes(s), `${where} shows the secret ${JSON.stringify(s)}:\n${text}`);
}

function sessionsText(dir) {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl')).map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('');
}

test('doctor, text and --json: no spelling of a secret is printed', { timeout: 120000 }, (t) => {
  const ws = copyExample(t);
  const env = hostileEnv({ LSPTAP_DIR: tempDir(t, 'lsptap-sessions-') });
  for (const args of [['--json'], []]) {
    const r = spawnSync(lsptapBin(), ['doctor', ...args, ws], { env, timeout: 60000, encoding: 'utf8' });
    if (r.error) throw r.error;
    assert.equal(r.status, 1, `problems found: ${r.stdout}\n${r.stderr}`);
    assertNoSecret(r.stdout, `doctor ${args.join(' ')}`);
    assertNoSecret(r.stderr, `doctor ${args.join(' ')} stderr`);
    // It did talk about them: redacted, not left out.
    assert.match(r.stdout, /GOFLAGS/);
    assert.match(r.stdout, /main\.token=REDACTED/);
    assert.match(r.stdout, /HTTPS_PROXY=http:\/\/u:REDACTED@proxy\.example:1/);
    if (args[0] === '--json') {
      const j = JSON.parse(r.stdout);
      assert.ok(j.problems.some((p) => p.check === 'goflags'), JSON.stringify(j.problems));
    }
  }
});

// The scripted gopls that fails its handshake while GOFLAGS is set
// (peers/handshake.mjs): lsptap repairs (GOFLAGS keeps its good flags, so
// the second start fails too) and then gives up, telling the editor twice.
test('repair and give-up: the editor, stderr and the session file never see a secret', { timeout: 90000 }, async (t) => {
  const ws = copyExample(t);
  const sessions = `${tempDir(t, 'lsptap-sessions-')}/s`;
  const env = hostileEnv({ LSPTAP_GOPLS: path.join(peersDir, 'handshake.mjs'), LSPTAP_DIR: sessions, PEER_MODE: 'load-failure' });
  const ed = startEditor(t, standIn(), ['-rpc.trace', '--api-token=TOK3cccc'], { workspace: ws, env });
  await ed.initialize(30000);
  ed.notify('initialized', {});
  const shown = (type) => ed.received.filter((m) => m.method === 'window/showMessage' && m.params.type === type && m.params.message.startsWith('lsptap'));
  await until(() => shown(2).length && shown(1).length, 45000, () => `the repair and the give-up messages; stderr:\n${ed.stderr.text()}`);
  const texts = [...shown(2), ...shown(1)].map((m) => m.params.message);
  for (const x of texts) assertNoSecret(x, 'a message to the editor');
  assert.match(texts[0], /restarted gopls with a repaired environment/);
  assert.match(texts.join('\n'), /REDACTED/, 'the messages name what they hid');
  ed.hangUp();
  await withTimeout(ed.child.exited, 20000, 'lsptap to exit');
  assertNoSecret(ed.stderr.text(), 'stderr');
  await until(() => /"event":"summary"/.test(sessionsText(sessions)), 10000, 'the session summary');
  const all = sessionsText(sessions);
  assertNoSecret(all, 'the session file');
  const header = JSON.parse(all.split('\n')[0]);
  assert.match(header.env.GOFLAGS, /main\.token=REDACTED/);
  assert.match(header.env.GOPROXY, /^user:REDACTED@proxy\.example/);
  assert.deepEqual(header.argv.slice(1), ['-rpc.trace', '--api-token=REDACTED']);
  const events = all.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((l) => l.event);
  assert.ok(events.some((e) => e.event === 'repair'), 'a repair event');
});

test('initialize error (repair off, no answer): the diagnosis the editor gets has no secret', { timeout: 60000 }, async (t) => {
  const ws = copyExample(t);
  const sessions = `${tempDir(t, 'lsptap-sessions-')}/s`;
  const env = hostileEnv({
    LSPTAP_GOPLS: path.join(peersDir, 'handshake.mjs'), LSPTAP_DIR: sessions,
    PEER_MODE: 'silent', PEER_FAIL: 'always', LSPTAP_INIT_TIMEOUT_MS: '1000', LSPTAP_REPAIR: 'off',
  });
  const ed = startEditor(t, standIn(), [], { workspace: ws, env });
  let message = '';
  await assert.rejects(ed.initialize(30000), (e) => {
    message = e.message;
    return true;
  });
  assert.match(message, /did not answer initialize/);
  assert.match(message, /REDACTED/, `the diagnosis quotes the environment, redacted: ${message}`);
  assertNoSecret(message, 'the initialize error');
  ed.hangUp();
  await withTimeout(ed.child.exited, 20000, 'lsptap to exit');
  assertNoSecret(ed.stderr.text(), 'stderr');
  assertNoSecret(sessionsText(sessions), 'the session file');
});

test('a server that cannot be found: the initialize error quoting its path has no secret', { timeout: 30000 }, async (t) => {
  const sessions = `${tempDir(t, 'lsptap-sessions-')}/s`;
  const ed = startEditor(t, standIn(), [], {
    workspace: tempDir(t),
    env: hostileEnv({ LSPTAP_GOPLS: '/no/such/dir/api_token=TOK6ffff/gopls', LSPTAP_DIR: sessions }),
  });
  let message = '';
  await assert.rejects(ed.initialize(20000), (e) => {
    message = e.message;
    return true;
  });
  assert.match(message, /api_token=REDACTED/, message);
  assert.ok(!message.includes('TOK6ffff'), message);
  ed.hangUp();
  await withTimeout(ed.child.exited, 20000, 'lsptap to exit');
  assert.ok(!ed.stderr.text().includes('TOK6ffff'), ed.stderr.text());
  assert.ok(!sessionsText(sessions).includes('TOK6ffff'), 'the session file');
});

test('netcheck: a target typed with a credential is not echoed with it', { timeout: 30000 }, (t) => {
  for (const target of ['u:TOK7gggg@127.0.0.1:1', 'https://u:TOK7gggg@h.example:1']) {
    const r = spawnSync(lsptapBin(), ['netcheck', target, '--timeout', '2'], { env: childEnv(), timeout: 20000, encoding: 'utf8' });
    if (r.error) throw r.error;
    assert.equal(r.status, 2, `${target}: ${r.stderr}`);
    assert.match(r.stderr, /u:REDACTED@/);
    assert.ok(!(r.stdout + r.stderr).includes('TOK7gggg'), `${target}: ${r.stderr}`);
  }
});

test('netcheck: a target with user information or a URL is refused with the reason and the HOST:PORT to give, before any lookup', { timeout: 30000 }, (t) => {
  const cases = [
    ['u:TOK8hhhh@127.0.0.1:1', /"u:REDACTED@127\.0\.0\.1:1": a user name and password before '@' are not part of HOST:PORT; give the host and port alone: 127\.0\.0\.1:1/],
    ['user@h.invalid:1', /"user@h\.invalid:1": a user name before '@' is not part of HOST:PORT; give the host and port alone: h\.invalid:1/],
    ['http://u:TOK8hhhh@h.invalid:1/x', /"http:\/\/u:REDACTED@h\.invalid:1\/x": a URL \("http:\/\/"\), not HOST:PORT; give the host and port alone: h\.invalid:1/],
    ['tls://h.invalid:1', /"tls:\/\/h\.invalid:1": a URL \("tls:\/\/"\), not HOST:PORT; give the host and port alone: h\.invalid:1 --tls$/m],
    ['https://u:TOK8hhhh@h.invalid/x', /give the host and port alone: h\.invalid:443 --tls \(443 is https's default port\)$/m],
  ];
  for (const [target, reason] of cases) {
    const r = spawnSync(lsptapBin(), ['netcheck', target, '--timeout', '2'], { env: childEnv(), timeout: 20000, encoding: 'utf8' });
    if (r.error) throw r.error;
    assert.equal(r.status, 2, `${target}: a usage error\n${r.stdout}${r.stderr}`);
    assert.match(r.stderr, reason, target);
    assert.equal(r.stdout, '', `${target}: no layer ran`);
    assert.ok(!(r.stdout + r.stderr).includes('TOK8hhhh'), `${target}: ${r.stderr}`);
  }
});
