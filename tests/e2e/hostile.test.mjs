// Hostile or careless input around the relay (issue 15, docs/hardening.md):
// files that are not what they seem, settings at their edges, processes
// killed at the wrong moment. One behaviour per test.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { childEnv, collect, peersDir, spawnTracked, standIn, tempDir, withTimeout } from './lib/env.mjs';

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
