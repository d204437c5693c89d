// The session directory is removed while a session is recorded (a cleanup
// job, a user's rm -rf): the relay is not disturbed (every byte back from
// peers/echo.mjs, exit with the server's status), and lsptap's summary line
// says the session file was removed instead of naming a path that is gone.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { childEnv, collect, peersDir, spawnTracked, standIn, tempDir, until, withTimeout } from './lib/env.mjs';

const frame = (msg) => {
  const body = Buffer.from(JSON.stringify(msg));
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]);
};

test('the session directory removed mid-session: the relay goes on, the summary says the file was removed', { timeout: 30000 }, async (t) => {
  const sessions = path.join(tempDir(t), 'sessions');
  const lsptap = spawnTracked(t, standIn(), [], {
    cwd: tempDir(t),
    env: childEnv({ LSPTAP_GOPLS: path.join(peersDir, 'echo.mjs'), LSPTAP_DIR: sessions }),
  });
  const out = collect(lsptap.stdout);
  const stderr = collect(lsptap.stderr);
  const first = frame({ jsonrpc: '2.0', method: 'test/first', params: {} });
  lsptap.stdin.write(first);
  await until(() => out.buffer().length >= first.length, 10000, 'the first echo');
  await until(() => fs.existsSync(sessions) && fs.readdirSync(sessions).some((f) => f.endsWith('.jsonl')), 10000, 'the session file');
  fs.rmSync(sessions, { recursive: true, force: true });
  const second = frame({ jsonrpc: '2.0', method: 'test/second', params: { pad: 'x'.repeat(100000) } });
  lsptap.stdin.end(second);
  const st = await withTimeout(lsptap.exited, 15000, `lsptap exit; stderr:\n${stderr.text()}`);
  assert.deepEqual(st, { code: 0, signal: null }, stderr.text());
  assert.ok(out.buffer().equals(Buffer.concat([first, second])), 'every byte back');
  const lines = stderr.text().split('\n').filter((l) => l.startsWith('lsptap: '));
  assert.equal(lines.length, 1, stderr.text());
  assert.match(lines[0], /^lsptap: gopls session ended: gopls exited with status 0; 2 messages editor->server, 2 server->editor.*; not recorded: the session file \S+\.jsonl was removed while it was written$/);
  assert.equal(fs.existsSync(sessions), false, 'lsptap did not bring the directory back');
});
