// The editor closes its side in the middle of a frame: inside the header
// block, or inside the body. lsptap forwards every byte it got (the server,
// peers/echo.mjs, sends them all back), forwards the EOF, and ends with the
// server's status; the session records the complete message before, and
// the cut one as a framing error at the end of the stream in each
// direction, never as a message.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { childEnv, collect, peersDir, spawnTracked, standIn, tempDir, withTimeout } from './lib/env.mjs';
import { checkedSession, eventsNamed } from './lib/session.mjs';

const frame = (msg) => {
  const body = Buffer.from(JSON.stringify(msg));
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]);
};

const whole = frame({ jsonrpc: '2.0', id: 1, method: 'textDocument/hover', params: { position: { line: 1, character: 2 } } });
const next = frame({ jsonrpc: '2.0', id: 2, method: 'textDocument/definition', params: { position: { line: 3, character: 4 } } });

for (const [where, cut] of [
  ['inside the header', Buffer.from('Content-Length: 9')],
  ['inside the body', next.subarray(0, next.length - 20)],
]) {
  test(`the editor closes ${where}: every byte forwarded, exit with the server's status, the cut frame an error`, { timeout: 30000 }, async (t) => {
    const sessions = tempDir(t);
    const lsptap = spawnTracked(t, standIn(), [], {
      cwd: tempDir(t),
      env: childEnv({ LSPTAP_GOPLS: path.join(peersDir, 'echo.mjs'), LSPTAP_DIR: sessions }),
    });
    const out = collect(lsptap.stdout);
    const stderr = collect(lsptap.stderr);
    const sent = Buffer.concat([whole, cut]);
    lsptap.stdin.end(sent);
    const st = await withTimeout(lsptap.exited, 15000, `lsptap exit; stderr:\n${stderr.text()}`);
    assert.deepEqual(st, { code: 0, signal: null }, stderr.text());
    assert.ok(out.buffer().equals(sent), `every byte back: ${out.buffer().length} of ${sent.length}`);
    const s = checkedSession(sessions, { record: 'full' });
    for (const dir of ['c2s', 's2c']) {
      const msgs = s.messages.filter((m) => m.dir === dir);
      assert.equal(msgs.length, 1, `${dir}: only the whole message: ${JSON.stringify(msgs)}`);
      assert.equal(msgs[0].method, 'textDocument/hover');
      assert.equal(msgs[0].bytes, whole.length);
    }
    const errs = eventsNamed(s, 'framing_error');
    for (const dir of ['c2s', 's2c']) {
      const e = errs.filter((x) => x.stream === dir);
      assert.equal(e.length, 1, `${dir}: one framing error: ${JSON.stringify(errs)}`);
      assert.equal(e[0].code, 'LF_PARTIAL');
      assert.equal(e[0].offset, whole.length, `${dir}: where the cut frame starts`);
    }
    const [sum] = eventsNamed(s, 'summary');
    assert.deepEqual(sum.read, { c2s: sent.length, s2c: sent.length });
    assert.deepEqual(sum.written, { c2s: sent.length, s2c: sent.length });
    assert.deepEqual(sum.framing_errors, { c2s: 1, s2c: 1 });
    assert.equal(sum.exit_code, 0);
  });
}
