// The gopls stand-in and gopls's remote flags: with -remote=HOST:PORT (or
// LSPTAP_REMOTE) lsptap is the forwarder itself, so a failed connect is
// diagnosed; with -listen=ADDR lsptap listens and gives each connection its
// own gopls. -remote=auto stays gopls's own business.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { childEnv, collect, copyExample, freePort, lsptapBin, realGopls, spawnTracked, standIn, tempDir, waitForPort, withTimeout } from './lib/env.mjs';
import { startEditor } from './lib/lsp.mjs';
import { hoverSession } from './lib/relay.mjs';
import { readSession } from './lib/session.mjs';

// The stand-in in front of whatever `args` point it at: { ed, h, st }.
async function hover(t, args, env, ws) {
  const { ed, hover: h, st } = await hoverSession(t, standIn(), args, env, ws);
  return { ed, h, st };
}

async function daemon(t, ws) {
  const port = await freePort();
  spawnTracked(t, realGopls(), ['serve', `-listen=127.0.0.1:${port}`], { cwd: ws, env: childEnv() });
  await waitForPort(port);
  return port;
}

test('stand-in -remote=HOST:PORT: lsptap forwards to a gopls daemon itself, recorded', { timeout: 90000 }, async (t) => {
  const ws = copyExample(t);
  const port = await daemon(t, ws);
  const sessions = tempDir(t);
  const { h, st, ed } = await hover(t, [`-remote=127.0.0.1:${port}`, '-rpc.trace'], childEnv({ LSPTAP_DIR: sessions }), ws);
  assert.match(JSON.stringify(h), /greet\.New/);
  assert.deepEqual(st, { code: 0, signal: null }, ed.stderr.text());
  const files = fs.readdirSync(sessions).filter((f) => f.endsWith('.jsonl'));
  assert.equal(files.length, 1);
  const s = readSession(path.join(sessions, files[0]));
  assert.equal(s.header.role, 'relay', 'lsptap connected itself instead of starting gopls');
  assert.ok(s.events.some((e) => e.event === 'connected'));
});

test('LSPTAP_REMOTE does the same without touching the editor settings', { timeout: 90000 }, async (t) => {
  const ws = copyExample(t);
  const port = await daemon(t, ws);
  const { h, st } = await hover(t, [], childEnv({ LSPTAP_DIR: tempDir(t), LSPTAP_REMOTE: `127.0.0.1:${port}` }), ws);
  assert.match(JSON.stringify(h), /greet\.New/);
  assert.equal(st.code, 0);
});

test('stand-in -remote=unix;PATH: lsptap connects to a gopls daemon on a unix socket itself', { timeout: 90000 }, async (t) => {
  const ws = copyExample(t);
  const sock = path.join(tempDir(t), 'gopls.sock');
  spawnTracked(t, realGopls(), ['serve', `-listen=unix;${sock}`], { cwd: ws, env: childEnv() });
  for (let i = 0; i < 200 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
  const sessions = tempDir(t);
  const { h, st, ed } = await hover(t, [`-remote=unix;${sock}`], childEnv({ LSPTAP_DIR: sessions }), ws);
  assert.match(JSON.stringify(h), /greet\.New/);
  assert.deepEqual(st, { code: 0, signal: null }, ed.stderr.text());
  const files = fs.readdirSync(sessions).filter((f) => f.endsWith('.jsonl'));
  const s = readSession(path.join(sessions, files[0]));
  assert.equal(s.header.role, 'relay');
  assert.ok(s.events.some((e) => e.event === 'connected' && e.target === `unix:${sock}`), JSON.stringify(s.events));
});

test('stand-in -remote to a closed port: initialize says refused and carries the layer report', { timeout: 30000 }, async (t) => {
  const port = await freePort();
  const ed = startEditor(t, standIn(), [`-remote=127.0.0.1:${port}`], {
    workspace: tempDir(t),
    env: childEnv({ LSPTAP_DIR: tempDir(t) }),
  });
  await assert.rejects(ed.initialize(), (e) =>
    /refused/.test(e.message) && /netcheck: transport: connection refused .*nothing listens on that port/.test(e.message));
  ed.hangUp();
  await withTimeout(ed.child.exited, 20000, 'lsptap exit');
  assert.match(ed.stderr.text(), /lsptap: netcheck: +link +ok/);
  assert.match(ed.stderr.text(), /lsptap: netcheck: +transport +fail/);
});

test('stand-in serve -listen=ADDR: lsptap listens and each connection gets its own gopls', { timeout: 90000 }, async (t) => {
  const ws = copyExample(t);
  const sessions = tempDir(t);
  const listener = spawnTracked(t, standIn(), ['serve', '-listen=127.0.0.1:0'], { cwd: ws, env: childEnv({ LSPTAP_DIR: sessions }) });
  const lerr = collect(listener.stderr);
  const addr = await withTimeout(new Promise((resolve) => {
    let out = '';
    listener.stdout.on('data', (d) => {
      out += d;
      const m = /lsptap relay listening at: (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
  }), 10000, 'listening line');
  const { h, st } = await hover(t, [], childEnv({ LSPTAP_DIR: tempDir(t), LSPTAP_REMOTE: addr }), ws);
  assert.match(JSON.stringify(h), /greet\.New/);
  assert.equal(st.code, 0);
  for (let i = 0; i < 100 && !/relay #1 session ended/.test(lerr.text()); i++) await new Promise((r) => setTimeout(r, 100));
  assert.match(lerr.text(), /relay #1: accepted 127\.0\.0\.1:\d+/);
  const s = readSession(path.join(sessions, fs.readdirSync(sessions).find((f) => f.endsWith('.jsonl'))));
  const spawn = s.events.find((e) => e.event === 'spawn');
  assert.ok(spawn, 'a gopls was started for the connection');
  assert.ok(!spawn.argv.some((a) => a.startsWith('-listen')), `-listen is not passed on: ${spawn.argv}`);
});
