// `lsptap relay`: LSP over TCP and unix sockets, each connection recorded.
// The editor is VS Code's client library; gopls is the real one.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { childEnv, collect, copyExample, freePort, lsptapBin, realGopls, spawnTracked, tempDir, waitForPort, withTimeout } from './lib/env.mjs';
import { startEditor } from './lib/lsp.mjs';
import { hoverSession, listeningAt } from './lib/relay.mjs';
import { readSession, validateSession } from './lib/session.mjs';

test('relay --connect: an editor reaches a gopls daemon over TCP, recorded', { timeout: 90000 }, async (t) => {
  const ws = copyExample(t);
  const port = await freePort();
  spawnTracked(t, realGopls(), ['serve', `-listen=127.0.0.1:${port}`], { cwd: ws, env: childEnv() });
  await waitForPort(port);
  const sessions = tempDir(t);
  const { ed, hover, st } = await hoverSession(t, lsptapBin(), ['relay', '--connect', `127.0.0.1:${port}`],
    childEnv({ LSPTAP_DIR: sessions }), ws);
  assert.match(JSON.stringify(hover), /greet\.New/);
  assert.deepEqual(st, { code: 0, signal: null }, ed.stderr.text());
  const files = fs.readdirSync(sessions).filter((f) => f.endsWith('.jsonl'));
  assert.equal(files.length, 1);
  const s = validateSession(path.join(sessions, files[0]));
  assert.equal(s.header.role, 'relay');
  assert.ok(s.events.some((e) => e.event === 'connected'), 'connected event');
  assert.ok(s.messages.some((m) => m.method === 'textDocument/hover' && m.kind === 'response' && Number.isInteger(m.latency_us)));
});

test('relay --listen -- gopls, reached through relay --connect over a unix socket', { timeout: 90000 }, async (t) => {
  const ws = copyExample(t);
  const dir = tempDir(t);
  const sock = path.join(dir, 'run', 'gopls.sock');
  const listenerSessions = tempDir(t);
  const listener = spawnTracked(t, lsptapBin(), ['relay', '--listen', `unix:${sock}`, '--', realGopls()], {
    cwd: ws,
    env: childEnv({ LSPTAP_DIR: listenerSessions }),
  });
  const lerr = collect(listener.stderr);
  assert.equal(await listeningAt(listener), `unix:${sock}`);
  assert.equal(fs.statSync(sock).mode & 0o777, 0o600, 'socket mode');
  assert.equal(fs.statSync(path.dirname(sock)).mode & 0o777, 0o700, 'socket directory mode');

  const { hover, st } = await hoverSession(t, lsptapBin(), ['relay', '--connect', `unix:${sock}`],
    childEnv({ LSPTAP_DIR: tempDir(t) }), ws);
  assert.match(JSON.stringify(hover), /greet\.New/);
  assert.equal(st.code, 0);
  // The listener's session for that connection is complete once gopls exits.
  const deadline = Date.now() + 15000;
  let files = [];
  while (Date.now() < deadline) {
    files = fs.readdirSync(listenerSessions).filter((f) => f.endsWith('.jsonl'));
    if (files.length && /"event":"summary"/.test(fs.readFileSync(path.join(listenerSessions, files[0]), 'utf8'))) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const s = readSession(path.join(listenerSessions, files[0]));
  assert.ok(s.events.some((e) => e.event === 'spawn'), 'spawned gopls for the connection');
  assert.ok(s.events.some((e) => e.event === 'exit' && e.status === 0), `gopls exit 0; stderr:\n${lerr.text()}`);
  assert.match(lerr.text(), /relay #1: accepted local/);
});

test('relay --connect to a closed port: initialize fails with the reason', { timeout: 30000 }, async (t) => {
  const port = await freePort();
  const ed = startEditor(t, lsptapBin(), ['relay', '--connect', `127.0.0.1:${port}`], {
    workspace: tempDir(t),
    env: childEnv({ LSPTAP_DIR: tempDir(t) }),
  });
  await assert.rejects(ed.initialize(), (e) =>
    /cannot connect to 127\.0\.0\.1:\d+: connection refused\. netcheck: transport: connection refused .*nothing listens on that port/.test(e.message));
  // netcheck's report, layer by layer, is on stderr for the output channel.
  ed.hangUp();
  await withTimeout(ed.child.exited, 20000, 'lsptap exit after the editor hung up');
  assert.match(ed.stderr.text(), /lsptap: netcheck: +transport +fail +connection refused/);
});

test('relay refuses a plain listener off loopback unless --insecure', { timeout: 20000 }, async (t) => {
  const child = spawnTracked(t, lsptapBin(), ['relay', '--listen', '0.0.0.0:0', '--', '/bin/cat'], { env: childEnv() });
  const err = collect(child.stderr);
  const st = await withTimeout(child.exited, 10000, 'relay exit');
  assert.equal(st.code, 2);
  assert.match(err.text(), /refusing to listen on 0\.0\.0\.0:0 without TLS/);
});

test('relay: usage errors name the problem and exit 2', { timeout: 20000 }, async (t) => {
  for (const [args, re] of [
    [['relay'], /give --listen, --connect, or both/],
    [['relay', '--listen', '127.0.0.1:0'], /--listen needs a server/],
    [['relay', '--connect', 'nohost'], /is not HOST:PORT/],
    [['relay', '--connect', 'https://h.invalid'], /"https:\/\/h\.invalid": a URL \("https:\/\/"\), not HOST:PORT; give tls:\/\/ and the host and port: tls:\/\/h\.invalid:443 \(443 is https's default port\)$/m],
    // Credentials in a TLS address: the hint keeps tls:// (h.invalid:1 alone
    // would be plain TCP) and the password is redacted.
    [['relay', '--connect', 'tls://u:TOK9iiii@h.invalid:1'], /^lsptap relay: "tls:\/\/u:REDACTED@h\.invalid:1": a user name and password before '@' are not part of HOST:PORT; give tls:\/\/ and the host and port: tls:\/\/h\.invalid:1$/m],
    [['relay', '--connect', '127.0.0.1:1', '--ca', '/dev/null'], /--ca goes with --connect tls:/],
    [['relay', '--listen', 'tls://127.0.0.1:0', '--', '/bin/cat'], /needs its certificate and key: --cert FILE --key FILE/],
    [['relay', '--connect', 'tls://127.0.0.1:1', '--cert', '/dev/null'], /--cert and --key go together/],
    [['relay', '--connect', '127.0.0.1:1', '--tls'], /write the address as tls:/],
  ]) {
    const child = spawnTracked(t, lsptapBin(), args, { env: childEnv() });
    const err = collect(child.stderr);
    const st = await withTimeout(child.exited, 10000, 'relay exit');
    assert.equal(st.code, 2, `${args.join(' ')}: ${err.text()}`);
    assert.match(err.text(), re);
    assert.ok(!err.text().includes('TOK9iiii'), err.text());
  }
});

test('relay --listen on [::1]: an IPv6 peer is named [::1]:PORT, the form HOST:PORT parsers read back', { timeout: 30000 }, async (t) => {
  const sessions = tempDir(t);
  const listener = spawnTracked(t, lsptapBin(), ['relay', '--listen', '[::1]:0', '--', 'cat'], {
    env: childEnv({ LSPTAP_DIR: sessions }),
  });
  const lerr = collect(listener.stderr);
  const addr = await listeningAt(listener);
  const m = /^\[::1\]:(\d+)$/.exec(addr);
  assert.ok(m, `listening at ${addr}`);
  const sock = net.connect({ host: '::1', port: Number(m[1]) });
  await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
  const local = `[::1]:${sock.localPort}`;
  sock.end();
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline && !lerr.text().includes('accepted')) await new Promise((r) => setTimeout(r, 50));
  assert.match(lerr.text(), new RegExp(`relay #1: accepted ${local.replace(/[[\]]/g, '\\$&')} on \\[::1\\]:`));
  // The connection's session is read once its summary line is written.
  let file;
  while (Date.now() < deadline) {
    const files = fs.readdirSync(sessions).filter((f) => f.endsWith('.jsonl'));
    if (files.length && /"event":"summary"/.test(fs.readFileSync(path.join(sessions, files[0]), 'utf8'))) {
      file = path.join(sessions, files[0]);
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(file, 'the connection\'s session was finished');
  const ev = readSession(file).events.find((e) => e.event === 'accepted');
  assert.equal(ev?.peer, local);
});
