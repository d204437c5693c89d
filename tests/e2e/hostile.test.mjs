// Hostile or careless input around the relay (issue 15, docs/hardening.md):
// files that are not what they seem, settings at their edges, processes
// killed at the wrong moment. One behaviour per test.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { childEnv, collect, lsptapBin, peersDir, pidAlive, serverPid, spawnTracked, standIn, tempDir, until, withTimeout } from './lib/env.mjs';

const dlvStandIn = () => path.join(path.dirname(lsptapBin()), 'dlv');

const frame = (msg) => {
  const body = Buffer.from(JSON.stringify(msg));
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]);
};

test('a session directory others can reach is tightened to 0700, and lsptap says so', { timeout: 30000 }, async (t) => {
  const sessions = path.join(tempDir(t), 'sessions');
  fs.mkdirSync(sessions);
  fs.chmodSync(sessions, 0o777);
  const lsptap = spawnTracked(t, standIn(), [], {
    cwd: tempDir(t),
    env: childEnv({ LSPTAP_GOPLS: path.join(peersDir, 'echo.mjs'), LSPTAP_DIR: sessions }),
  });
  const stderr = collect(lsptap.stderr);
  lsptap.stdin.end(frame({ jsonrpc: '2.0', method: 'test/one', params: {} }));
  const st = await withTimeout(lsptap.exited, 15000, `lsptap exit; stderr:\n${stderr.text()}`);
  assert.deepEqual(st, { code: 0, signal: null }, stderr.text());
  assert.equal(fs.statSync(sessions).mode & 0o777, 0o700);
  assert.match(stderr.text(), new RegExp(`lsptap: the session directory ${sessions} had mode 0777 \\(other users could reach the sessions\\); changed it to 0700`));
});

// A server that never reads its stdin never sees lsptap's end: only the
// kernel can tell it (PR_SET_PDEATHSIG). `sleep` stands for such a gopls.
test('SIGKILL to the gopls stand-in takes a gopls that ignores stdin with it', { timeout: 30000 }, async (t) => {
  const dir = tempDir(t);
  const fake = path.join(dir, 'deaf-gopls');
  fs.writeFileSync(fake, '#!/bin/sh\nexec sleep 600\n', { mode: 0o755 });
  const lsptap = spawnTracked(t, standIn(), [], {
    cwd: dir,
    env: childEnv({ LSPTAP_GOPLS: fake, LSPTAP_DIR: path.join(dir, 's') }),
  });
  const stderr = collect(lsptap.stderr);
  const child = await serverPid(lsptap, stderr, 'sleep');
  t.after(() => {
    try {
      process.kill(child, 'SIGKILL');
    } catch {
      // Gone, as it should be.
    }
  });
  process.kill(lsptap.pid, 'SIGKILL');
  await withTimeout(lsptap.exited, 10000, 'lsptap killed');
  await until(() => !pidAlive(child), 10000, `the server (pid ${child}) to die with lsptap`);
});

test('SIGKILL to the dlv stand-in takes dlv with it', { timeout: 30000 }, async (t) => {
  const dir = tempDir(t);
  const lsptap = spawnTracked(t, dlvStandIn(), ['dap', '--listen=127.0.0.1:0'], {
    cwd: dir,
    env: childEnv({ LSPTAP_DLV: path.join(peersDir, 'dlv-mute.mjs'), LSPTAP_DIR: path.join(dir, 's'), LSPTAP_DLV_START_MS: '60000' }),
  });
  const stderr = collect(lsptap.stderr);
  const child = await serverPid(lsptap, stderr, 'dlv-mute');
  t.after(() => {
    try {
      process.kill(child, 'SIGKILL');
    } catch {
      // Gone, as it should be.
    }
  });
  process.kill(lsptap.pid, 'SIGKILL');
  await withTimeout(lsptap.exited, 10000, 'lsptap killed');
  await until(() => !pidAlive(child), 10000, `dlv (pid ${child}) to die with lsptap`);
});
