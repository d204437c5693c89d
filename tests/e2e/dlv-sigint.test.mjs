// vscode-go's end of a debug session: `disconnect`, then, when the adapter
// process has not exited 1 s later, SIGINT. The real dlv exits right after
// disconnect; an editor that keeps its socket open would hold the stand-in
// in its 2 s drain (DRAIN_MS in proxy/lp_dlv.c), and a SIGINT must end that
// wait: lsptap exits within milliseconds once dlv is gone, as dlv would.
// The bound asserted (1 s) is half the drain: what it proves is that the
// signal, not the drain timer, ended the stand-in.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { childEnv, pidAlive, sleep, tempDir, until, withTimeout } from './lib/env.mjs';
import { realDlv, startDlv, validateDapSession } from './lib/dap.mjs';
import { eventsNamed, findSession } from './lib/session.mjs';

const frame = (msg) => {
  const body = JSON.stringify(msg);
  return `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
};

test('SIGINT after disconnect, dlv gone, the editor still connected: lsptap exits at once, not after its drain', { timeout: 60000 }, async (t) => {
  const cwd = tempDir(t);
  const sessions = `${cwd}/s`;
  const dlv = startDlv(t, ['dap', '--listen=127.0.0.1:0', '--log-dest=3'], { cwd, env: childEnv({ LSPTAP_DLV: realDlv(), LSPTAP_DIR: sessions }) });
  const where = await dlv.announced;
  const [pid] = dlv.children;
  assert.ok(pid && pidAlive(pid), 'the real dlv runs');

  // A socket that stays open after lsptap's side ends, as an editor that has
  // not closed its connection yet.
  const sock = net.connect({ host: where.host, port: where.port, allowHalfOpen: true });
  t.after(() => sock.destroy());
  sock.on('error', () => {});
  let got = '';
  sock.on('data', (d) => (got += d.toString('utf8')));
  await new Promise((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  sock.write(frame({ seq: 1, type: 'request', command: 'initialize', arguments: { adapterID: 'go', clientID: 'vscode' } }));
  sock.write(frame({ seq: 2, type: 'request', command: 'disconnect', arguments: {} }));
  await until(() => /"command":"disconnect"/.test(got), 20000, () => `the disconnect response; got:\n${got}\nstderr:\n${dlv.stderr.text()}`);
  const deadline = Date.now() + 20000;
  while (pidAlive(pid)) {
    assert.ok(Date.now() < deadline, 'dlv did not exit after disconnect');
    await sleep(5);
  }

  const sent = Date.now();
  process.kill(dlv.child.pid, 'SIGINT');
  const st = await withTimeout(dlv.child.exited, 15000, `lsptap exit after SIGINT; stderr:\n${dlv.stderr.text()}`);
  const took = Date.now() - sent;
  t.diagnostic(`lsptap exited ${took} ms after SIGINT`);
  assert.ok(took < 1000, `lsptap took ${took} ms to exit after SIGINT with dlv gone (its drain is 2000 ms); stderr:\n${dlv.stderr.text()}`);
  assert.deepEqual(st, { code: 0, signal: null }, `lsptap exits with dlv's status; stderr:\n${dlv.stderr.text()}`);
  const s = validateDapSession(findSession(sessions));
  const sigs = eventsNamed(s, 'signal');
  assert.equal(sigs.length, 1);
  assert.equal(sigs[0].action, 'ending');
});
