// dlv's reverse mode (`dlv dap --client-addr=HOST:PORT`, which vscode-go uses
// for `console: integratedTerminal`): the editor listens and dlv dials it.
// Through the stand-in, dlv dials lsptap and lsptap dials the editor, so the
// session is relayed and recorded like the --listen one.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { childEnv, collect, spawnTracked, tempDir, withTimeout } from './lib/env.mjs';
import { dlvStandIn, realDlv, validateDapSession } from './lib/dap.mjs';
import { findSession } from './lib/session.mjs';

// The editor's side: listens, accepts one connection, and exchanges DAP
// messages over it with Content-Length framing.
async function editorListening() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const accepted = new Promise((resolve) => srv.once('connection', resolve));
  let buf = Buffer.alloc(0);
  const waiters = [];
  const queue = [];
  let seq = 0;
  const conn = accepted.then((sock) => {
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) break;
        const n = Number(/Content-Length: (\d+)/i.exec(buf.subarray(0, end).toString())[1]);
        if (buf.length < end + 4 + n) break;
        const msg = JSON.parse(buf.subarray(end + 4, end + 4 + n).toString());
        buf = buf.subarray(end + 4 + n);
        if (waiters.length) waiters.shift()(msg);
        else queue.push(msg);
      }
    });
    return sock;
  });
  const next = () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiters.push(r)));
  return {
    port: srv.address().port,
    close: () => srv.close(),
    async request(command, args = {}) {
      const sock = await withTimeout(conn, 20000, 'dlv dialing the editor');
      const body = JSON.stringify({ seq: ++seq, type: 'request', command, arguments: args });
      sock.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      for (;;) {
        const m = await withTimeout(next(), 20000, `${command} response`);
        if (m.type === 'response' && m.request_seq === seq) return m;
      }
    },
    async end() {
      (await conn).end();
    },
  };
}

test('reverse mode: dlv dials lsptap, lsptap dials the editor; the session is recorded', { timeout: 60000 }, async (t) => {
  const ed = await editorListening();
  t.after(() => ed.close());
  const sessions = tempDir(t);
  const child = spawnTracked(t, dlvStandIn(), ['dap', `--client-addr=127.0.0.1:${ed.port}`], {
    env: childEnv({ LSPTAP_DLV: realDlv(), LSPTAP_DIR: sessions }),
  });
  const err = collect(child.stderr);
  const init = await ed.request('initialize', { adapterID: 'go' });
  assert.equal(init.success, true, JSON.stringify(init));
  const bye = await ed.request('disconnect', {});
  assert.equal(bye.success, true);
  await ed.end();
  const st = await withTimeout(child.exited, 20000, 'lsptap exit');
  assert.deepEqual(st, { code: 0, signal: null }, err.text());
  const s = validateDapSession(findSession(sessions));
  assert.ok(s.events.some((e) => e.event === 'dlv_dialed'), 'dlv dialed lsptap');
  assert.ok(s.messages.some((m) => m.command === 'initialize' && m.kind === 'response' && Number.isInteger(m.latency_us)));
  assert.match(s.header.argv.join(' '), /--client-addr=127\.0\.0\.1:\d+/);
  assert.ok(!s.header.argv.includes(`--client-addr=127.0.0.1:${ed.port}`), 'dlv was pointed at lsptap, not at the editor');
});

test('reverse mode: dlv fails before dialing; lsptap dials the editor and says why', { timeout: 60000 }, async (t) => {
  const ed = await editorListening();
  t.after(() => ed.close());
  const dir = tempDir(t);
  const fake = `${dir}/dlv`;
  (await import('node:fs')).writeFileSync(fake, '#!/bin/sh\necho "could not launch process: not an executable file" >&2\nexit 3\n', { mode: 0o755 });
  const child = spawnTracked(t, dlvStandIn(), ['dap', `--client-addr=127.0.0.1:${ed.port}`], {
    env: childEnv({ LSPTAP_DLV: fake, LSPTAP_DIR: `${dir}/s` }),
  });
  const err = collect(child.stderr);
  const init = await ed.request('initialize', { adapterID: 'go' });
  assert.equal(init.success, false);
  assert.match(init.message, /^lsptap: dlv exited with status 3 before it dialed lsptap: could not launch process/);
  await ed.request('disconnect', {});
  await ed.end();
  const st = await withTimeout(child.exited, 20000, 'lsptap exit');
  assert.equal(st.code, 3, err.text());
});
