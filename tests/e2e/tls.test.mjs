// TLS for `lsptap relay` (issue 5): editor -> relay --connect tls:// ->
// relay --listen tls:// with client certificates -> the real gopls, and
// every way it can fail, each with its own message.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { makeCerts } from './lib/certs.mjs';
import { childEnv, collect, copyExample, lsptapBin, peersDir, realGopls, spawnTracked, standIn, tempDir, until, withTimeout } from './lib/env.mjs';
import { digest, makeStream, prng, writeChopped } from './lib/frames.mjs';
import { startEditor } from './lib/lsp.mjs';
import { hoverSession, listeningAt } from './lib/relay.mjs';
import { readSession, validateSession } from './lib/session.mjs';

// A TLS listener in front of CMD (default: the real gopls), with the
// server certificate `cert` (a name in makeCerts) and client certificates
// required from the test CA.
async function tlsListener(t, certs, { cert = 'server', cmd = [realGopls()], cwd, extra = [], env = {} } = {}) {
  const sessions = tempDir(t);
  const child = spawnTracked(t, lsptapBin(), ['relay', '--listen', 'tls://127.0.0.1:0',
    '--cert', certs.file(cert), '--key', certs.file(cert, 'key'), '--client-ca', certs.file('ca'), ...extra,
    '--', ...cmd], { cwd, env: childEnv({ LSPTAP_DIR: sessions, ...env }) });
  const err = collect(child.stderr);
  const addr = await listeningAt(child);
  return { child, err, sessions, port: addr.split(':').pop() };
}

function sessionFiles(dir) {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl')).map((f) => path.join(dir, f));
}

// An editor whose initialize through `relay --connect` must fail; returns
// the error message and lsptap's stderr.
async function refusedInitialize(t, args, env = {}) {
  const ed = startEditor(t, lsptapBin(), ['relay', ...args], {
    workspace: tempDir(t),
    env: childEnv({ LSPTAP_DIR: tempDir(t), ...env }),
  });
  let message = null;
  await assert.rejects(ed.initialize(), (e) => {
    message = e.message;
    return true;
  });
  ed.hangUp();
  await withTimeout(ed.child.exited, 20000, 'lsptap exit after the editor hung up');
  return { message, stderr: ed.stderr.text() };
}

test('TLS both ways with client certificates: hover answered by gopls, both sides recorded', { timeout: 120000 }, async (t) => {
  const certs = makeCerts(t);
  const ws = copyExample(t);
  const l = await tlsListener(t, certs, { cwd: ws });
  const mine = tempDir(t);
  const { ed, hover, st } = await hoverSession(t, lsptapBin(), ['relay', '--connect', `tls://127.0.0.1:${l.port}`,
    '--ca', certs.file('ca'), '--cert', certs.file('client'), '--key', certs.file('client', 'key')],
  childEnv({ LSPTAP_DIR: mine }), ws);
  assert.match(JSON.stringify(hover), /greet\.New/);
  assert.deepEqual(st, { code: 0, signal: null }, ed.stderr.text());

  const [cs] = sessionFiles(mine);
  const c = validateSession(cs);
  const ctls = c.events.find((e) => e.event === 'tls');
  assert.ok(ctls, 'the client recorded its TLS session');
  assert.match(ctls.protocol, /^TLSv1\.[23] /);
  assert.match(ctls.peer_certificate, /CN=localhost/);
  assert.ok(c.messages.some((m) => m.method === 'textDocument/hover' && m.kind === 'response'));

  await until(() => sessionFiles(l.sessions).some((f) => /"event":"summary"/.test(fs.readFileSync(f, 'utf8'))), 15000, 'listener session summary');
  const s = readSession(sessionFiles(l.sessions)[0]);
  const stls = s.events.find((e) => e.event === 'tls');
  assert.match(stls.peer_certificate, /CN=editor/, 'the listener saw the client certificate');
  assert.ok(s.events.some((e) => e.event === 'spawn'));
  assert.ok(s.messages.some((m) => m.method === 'textDocument/hover' && m.kind === 'response'), 'plaintext inspected on the listener');
  assert.match(l.err.text(), /relay #1: TLSv1\.[23] \S+, client certificate \/CN=editor/);
});

test('TLS both ways: 8 MB each way of every frame shape, malformed input included, arrive byte for byte', { timeout: 120000 }, async (t) => {
  const SEED = 20261128;
  const c2s = makeStream(SEED, 'c2s', 8 << 20);
  const s2c = makeStream(SEED + 1, 's2c', 8 << 20);
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'script'), s2c.buf);
  const certs = makeCerts(t);
  const l = await tlsListener(t, certs, {
    cmd: [process.execPath, path.join(peersDir, 'record-replay.mjs')],
    env: { PEER_SCRIPT: path.join(dir, 'script'), PEER_RECORD: path.join(dir, 'record'), PEER_SEED: String(SEED + 2) },
  });
  const child = spawnTracked(t, lsptapBin(), ['relay', '--connect', `tls://127.0.0.1:${l.port}`, '--ca', certs.file('ca'),
    '--cert', certs.file('client'), '--key', certs.file('client', 'key')], { env: childEnv({ LSPTAP_DIR: tempDir(t) }) });
  const out = collect(child.stdout);
  const err = collect(child.stderr);
  child.stdin.on('error', () => {});
  await writeChopped(child.stdin, c2s.buf, prng(SEED + 3));
  child.stdin.end();
  const st = await withTimeout(child.exited, 60000, 'relay --connect exit');
  assert.equal(st.code, 0, err.text());
  await until(() => /session ended: server exited with status 0/.test(l.err.text()), 20000, () => `listener end: ${l.err.text()}`);
  const same = (got, want, what) => assert.deepEqual(digest(got), digest(want), what);
  same(fs.readFileSync(path.join(dir, 'record')), c2s.buf, 'editor -> server through two TLS hops');
  same(out.buffer(), s2c.buf, 'server -> editor through two TLS hops');
});

test('no client certificate: refused before gopls starts, and initialize says why', { timeout: 60000 }, async (t) => {
  const certs = makeCerts(t);
  const l = await tlsListener(t, certs);
  const { message, stderr } = await refusedInitialize(t, ['--connect', `tls://127.0.0.1:${l.port}`, '--ca', certs.file('ca')]);
  assert.match(message, /^lsptap: TLS handshake failed with tls:\/\/127\.0\.0\.1:\d+: the server requires a client certificate: give --cert FILE --key FILE/);
  assert.match(message, /netcheck: tls: 127\.0\.0\.1:\d+ requires a client certificate and none was given/);
  assert.match(message, /\ntransport: ok, connected/, 'the layer summaries follow');
  assert.match(stderr, /lsptap: netcheck: +tls +fail/);
  await until(() => /refused: the client sent no certificate/.test(l.err.text()), 10000, 'listener refusal line');
  for (const f of sessionFiles(l.sessions)) {
    const s = readSession(f);
    assert.ok(!s.events.some((e) => e.event === 'spawn'), `no server started for a refused client (${f})`);
    assert.ok(s.events.some((e) => e.event === 'tls_refused'));
  }
});

test('a client certificate from another CA is refused with its own message', { timeout: 60000 }, async (t) => {
  const certs = makeCerts(t);
  const l = await tlsListener(t, certs);
  const { message } = await refusedInitialize(t, ['--connect', `tls://127.0.0.1:${l.port}`, '--ca', certs.file('ca'),
    '--cert', certs.file('rogue'), '--key', certs.file('rogue', 'key')]);
  assert.match(message, /the server refused this client's certificate/);
  assert.match(message, /netcheck: tls: .*refused the client certificate/);
  await until(() => /refused: the client's certificate failed verification: unable to get local issuer certificate/.test(l.err.text()), 10000, 'listener line');
});

for (const [name, cert, ca, re, nc] of [
  ['unknown CA', 'server', 'otherca', /the server's certificate failed verification: unable to get local issuer certificate/, /netcheck: tls: certificate .* is issued by an unknown CA/],
  ['expired certificate', 'expired', 'ca', /the server's certificate failed verification: certificate has expired/, /netcheck: tls: certificate .* expired on/],
  ['wrong name', 'wrongname', 'ca', /the server's certificate failed verification: IP address mismatch/, /name mismatch/],
]) {
  test(`TLS failure, ${name}: initialize carries its own message and netcheck's`, { timeout: 60000 }, async (t) => {
    const certs = makeCerts(t);
    const l = await tlsListener(t, certs, { cert, cmd: ['/bin/cat'] });
    const { message } = await refusedInitialize(t, ['--connect', `tls://127.0.0.1:${l.port}`, '--ca', certs.file(ca),
      '--cert', certs.file('client'), '--key', certs.file('client', 'key')]);
    assert.match(message, re);
    assert.match(message, nc);
    assert.match(message, /\ntls: fail, /);
  });
}

test('plain and TLS mixed up: each side says the other does not speak TLS', { timeout: 60000 }, async (t) => {
  const certs = makeCerts(t);
  // A plain LSP server behind a plain listener: it answers the ClientHello in LSP.
  const lsp = ['/bin/sh', '-c', 'printf "Content-Length: 2\\r\\n\\r\\n{}"; exec cat >/dev/null'];
  const plain = spawnTracked(t, lsptapBin(), ['relay', '--listen', '127.0.0.1:0', '--', ...lsp], { env: childEnv({ LSPTAP_DIR: tempDir(t) }) });
  const pport = (await listeningAt(plain)).split(':').pop();
  const { message } = await refusedInitialize(t, ['--connect', `tls://127.0.0.1:${pport}`, '--ca', certs.file('ca')]);
  assert.match(message, /does not speak TLS/);

  const l = await tlsListener(t, certs, { cmd: ['/bin/cat'] });
  const ed = startEditor(t, lsptapBin(), ['relay', '--connect', `127.0.0.1:${l.port}`], { workspace: tempDir(t), env: childEnv({ LSPTAP_DIR: tempDir(t) }) });
  ed.initialize().catch(() => {});
  await until(() => /refused: the client does not speak TLS/.test(l.err.text()), 15000, `listener refusal: ${l.err.text()}`);
  ed.hangUp();
});

test('--listen tls:// --connect tls://: a TLS hop in the middle takes its client certificate from LSPTAP_TLS_CERT/KEY', { timeout: 60000 }, async (t) => {
  const certs = makeCerts(t);
  const end = await tlsListener(t, certs, { cmd: ['/bin/cat'] });
  const midSessions = tempDir(t);
  const mid = spawnTracked(t, lsptapBin(), ['relay', '--listen', 'tls://127.0.0.1:0',
    '--cert', certs.file('server'), '--key', certs.file('server', 'key'), '--client-ca', certs.file('ca'),
    '--connect', `tls://127.0.0.1:${end.port}`, '--ca', certs.file('ca')], {
    env: childEnv({ LSPTAP_DIR: midSessions, LSPTAP_TLS_CERT: certs.file('client'), LSPTAP_TLS_KEY: certs.file('client', 'key') }),
  });
  const midErr = collect(mid.stderr);
  const midPort = (await listeningAt(mid)).split(':').pop();
  const body = '{"jsonrpc":"2.0","method":"tls/ping"}';
  const frame = `Content-Length: ${body.length}\r\n\r\n${body}`;
  const ed = spawnTracked(t, lsptapBin(), ['relay', '--connect', `tls://127.0.0.1:${midPort}`, '--ca', certs.file('ca'),
    '--cert', certs.file('client'), '--key', certs.file('client', 'key')], { env: childEnv({ LSPTAP_DIR: tempDir(t) }) });
  const out = collect(ed.stdout);
  ed.stdin.end(frame);
  const st = await withTimeout(ed.exited, 30000, 'relay --connect exit');
  assert.equal(st.code, 0);
  assert.equal(out.text(), frame, 'echoed through three relays and two TLS hops');
  await until(() => /relay #1 session ended/.test(midErr.text()), 15000, () => `middle relay end: ${midErr.text()}`);
  const s = readSession(sessionFiles(midSessions)[0]);
  const sides = s.events.filter((e) => e.event === 'tls').map((e) => e.side).sort();
  assert.deepEqual(sides, ['editor', 'server'], 'the middle relay recorded both TLS sessions');
  assert.ok(s.messages.some((m) => m.method === 'tls/ping' && m.dir === 'c2s'));
  assert.match(end.err.text(), /client certificate \/CN=editor/, 'the far end saw the certificate from LSPTAP_TLS_CERT');
});

test('a TLS listener off loopback needs --client-ca; with it, it starts', { timeout: 30000 }, async (t) => {
  const certs = makeCerts(t);
  const base = ['relay', '--listen', 'tls://0.0.0.0:0', '--cert', certs.file('server'), '--key', certs.file('server', 'key')];
  const bare = spawnTracked(t, lsptapBin(), [...base, '--', '/bin/cat'], { env: childEnv() });
  const err = collect(bare.stderr);
  assert.equal((await withTimeout(bare.exited, 10000, 'exit')).code, 2);
  assert.match(err.text(), /refusing to listen on tls:\/\/0\.0\.0\.0:0 without --client-ca/);
  const ok = spawnTracked(t, lsptapBin(), [...base, '--client-ca', certs.file('ca'), '--', '/bin/cat'], { env: childEnv() });
  assert.match(await listeningAt(ok), /^0\.0\.0\.0:\d+$/);
});

test('stand-in with LSPTAP_REMOTE=tls:// and LSPTAP_TLS_*: gopls over TLS without editor settings', { timeout: 120000 }, async (t) => {
  const certs = makeCerts(t);
  const ws = copyExample(t);
  const l = await tlsListener(t, certs, { cwd: ws });
  const { hover, st } = await hoverSession(t, standIn(), [], childEnv({
    LSPTAP_DIR: tempDir(t),
    LSPTAP_REMOTE: `tls://127.0.0.1:${l.port}`,
    LSPTAP_TLS_CA: certs.file('ca'),
    LSPTAP_TLS_CERT: certs.file('client'),
    LSPTAP_TLS_KEY: certs.file('client', 'key'),
  }), ws);
  assert.match(JSON.stringify(hover), /greet\.New/);
  assert.equal(st.code, 0);
  assert.match(l.err.text(), /client certificate \/CN=editor/);
});

test('netcheck --tls --cert/--key: ok with the client certificate, exit 7 and the reason without', { timeout: 60000 }, async (t) => {
  const certs = makeCerts(t);
  const l = await tlsListener(t, certs, { cmd: ['/bin/cat'] });
  const run = (args) => new Promise((resolve) => {
    execFile(lsptapBin(), ['netcheck', `127.0.0.1:${l.port}`, '--tls', '--ca', certs.file('ca'), '--probe', 'none', '--json', ...args],
      { env: childEnv() }, (err, stdout) => resolve({ code: err ? err.code : 0, report: JSON.parse(stdout) }));
  });
  const good = await run(['--cert', certs.file('client'), '--key', certs.file('client', 'key')]);
  assert.equal(good.code, 0, JSON.stringify(good.report.verdict));
  const tls = good.report.layers.find((x) => x.layer === 'tls');
  assert.equal(tls.status, 'ok');
  assert.equal(tls.evidence.client_cert_requested, true);
  const bad = await run([]);
  assert.equal(bad.code, 7);
  assert.equal(bad.report.verdict.layer, 'tls');
  assert.equal(bad.report.layers.find((x) => x.layer === 'tls').evidence.class, 'client-cert-required');
});

// A certificate, key or CA file that cannot be loaded is named by its
// absolute path (the user gave a relative one, in a directory they may not
// know) with the cause: the system's reason, or what is wrong with the PEM.
// OpenSSL alone said "system lib".
test('files that cannot be loaded: the absolute path and why, for relay and netcheck', { timeout: 60000 }, async (t) => {
  const certs = makeCerts(t);
  const cwd = fs.realpathSync(tempDir(t));
  fs.writeFileSync(path.join(cwd, 'notpem.pem'), 'hello\n');
  const run = (args) => new Promise((resolve) => {
    execFile(lsptapBin(), args, { cwd, env: childEnv() }, (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
  });
  const missing = await run(['relay', '--connect', 'tls://127.0.0.1:1', '--ca', certs.file('ca'), '--cert', 'client.pem', '--key', 'client.key']);
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, new RegExp(`^lsptap relay: cannot load the certificate ${cwd}/client\\.pem: No such file or directory$`, 'm'));
  const key = await run(['relay', '--connect', 'tls://127.0.0.1:1', '--ca', certs.file('ca'), '--cert', certs.file('client'), '--key', 'notpem.pem']);
  assert.match(key.stderr, new RegExp(`cannot load the key ${cwd}/notpem\\.pem: not a PEM file \\(no -----BEGIN line\\)$`, 'm'));
  const ca = await run(['relay', '--connect', 'tls://127.0.0.1:1', '--ca', 'ca.pem']);
  assert.match(ca.stderr, new RegExp(`cannot load the CA file ${cwd}/ca\\.pem: No such file or directory$`, 'm'));

  // netcheck reads the files once a connection is up: a listener to reach.
  const l = await tlsListener(t, certs, { cmd: ['/bin/cat'] });
  const nc = await run(['netcheck', `127.0.0.1:${l.port}`, '--tls', '--ca', certs.file('ca'), '--cert', 'client.pem', '--key', 'client.key', '--probe', 'none', '--json']);
  const tls = JSON.parse(nc.stdout).layers.find((x) => x.layer === 'tls');
  assert.equal(tls.status, 'fail');
  assert.equal(tls.summary, `cannot load the client certificate ${cwd}/client.pem: No such file or directory`);
});
