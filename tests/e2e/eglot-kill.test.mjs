// The way Emacs's eglot ends a session: `shutdown`, `exit`, then about
// 10 ms later SIGKILL to the server's whole process group, lsptap included.
// lsptap cannot write its summary after a SIGKILL; what it relayed after
// `shutdown` must be in the session file all the same (the shutdown reply
// and the exit notification), and `lsptap stats` must call the ending what
// it was (killed right after a clean ending), not a crash.
//
// Whether the kill lands before lsptap has finished depends on how fast the
// server exits; the server here is real gopls behind a shell wrapper that
// outlives it (so lsptap waits for the wrapper), and the kill comes as soon
// as gopls has exited, that is once lsptap has relayed `exit`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { test } from 'node:test';
import { ExitNotification, ShutdownRequest } from 'vscode-languageserver-protocol/node';
import path from 'node:path';
import { childEnv, copyExample, lsptapBin, realGopls, serverPid, sleep, standIn, tempDir, withTimeout } from './lib/env.mjs';
import { startEditor } from './lib/lsp.mjs';
import { findSession } from './lib/session.mjs';

test('eglot: shutdown, exit, SIGKILL of the process group 10 ms later: the ending is in the file', { timeout: 90000 }, async (t) => {
  const ws = copyExample(t);
  const sessions = tempDir(t);
  const dir = tempDir(t);
  const mark = path.join(dir, 'gopls-exited');
  const wrapper = path.join(dir, 'slow-exit-gopls');
  fs.writeFileSync(wrapper, `#!/bin/sh\n"${realGopls()}" "$@"\ntouch "${mark}"\nexec sleep 60\n`, { mode: 0o755 });
  const env = childEnv({ LSPTAP_GOPLS: wrapper, LSPTAP_DIR: sessions });
  const ed = startEditor(t, standIn(), [], { workspace: ws, env });
  const server = await serverPid(ed.child, ed.stderr, 'slow-exit-gopls');
  t.after(() => {
    try {
      process.kill(-server, 'SIGKILL'); // the server leads its own group: eglot's kill misses it
    } catch {
      // Already gone.
    }
  });
  await ed.initialize(60000);
  ed.notify('initialized', {});
  await withTimeout(ed.conn.sendRequest(ShutdownRequest.type), 30000, `shutdown; stderr:\n${ed.stderr.text()}`);
  await ed.conn.sendNotification(ExitNotification.type);
  const deadline = Date.now() + 30000;
  while (!fs.existsSync(mark)) {
    assert.ok(Date.now() < deadline, 'gopls did not exit after the exit notification');
    await sleep(2);
  }
  process.kill(-ed.child.pid, 'SIGKILL'); // spawnTracked made lsptap a group leader
  const st = await withTimeout(ed.child.exited, 20000, 'lsptap to die');
  assert.equal(st.signal, 'SIGKILL');

  const file = findSession(sessions);
  const text = fs.readFileSync(file, 'utf8');
  assert.ok(text.endsWith('\n'), `the last line is complete:\n${text.slice(-300)}`);
  const lines = text.trim().split('\n').map((l) => JSON.parse(l));
  const shutdown = lines.find((l) => l.dir === 'c2s' && l.method === 'shutdown');
  assert.ok(shutdown, 'the shutdown request is recorded');
  const reply = lines.find((l) => l.dir === 's2c' && l.kind === 'response' && l.id === shutdown.id);
  assert.ok(reply, `the shutdown reply is recorded; the file ends:\n${text.slice(-600)}`);
  assert.ok(lines.some((l) => l.dir === 'c2s' && l.kind === 'notification' && l.method === 'exit'),
    `the exit notification is recorded; the file ends:\n${text.slice(-600)}`);

  const r = spawnSync(lsptapBin(), ['stats', file, '--json'], { encoding: 'utf8', timeout: 15000 });
  assert.equal(r.status, 0, r.stderr);
  const ending = JSON.parse(r.stdout).ending;
  assert.equal(ending.how, 'killed_after_exit', ending.summary);
  assert.equal(ending.abnormal, false);
  assert.match(ending.summary, /^Killed right after a clean ending: the editor sent shutdown and exit/);
});
