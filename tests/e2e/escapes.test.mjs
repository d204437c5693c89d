// Terminal escapes from a peer (issue 15): any TCP client of `lsptap relay
// --listen` names its request's method; that name reaches lsptap's stderr
// (the requests pending at the end) and `lsptap stats`, `tail` and `ls`. It
// must arrive escaped, whole (a NUL is not its end), with no raw ESC or BEL
// to retitle or clear the operator's terminal.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { childEnv, collect, lsptapBin, peersDir, spawnTracked, tempDir, until, withTimeout } from './lib/env.mjs';
import { listeningAt } from './lib/relay.mjs';

// OSC "set the title" ended by BEL, "clear the screen", a NUL, then a C1 CSI
// (U+009B) and more: JSON escapes, so the body itself is valid JSON.
const METHOD_JSON = '"\\u001b]0;pwned\\u0007\\u001b[2J\\u0000after-nul\\u009b[31mred"';
const SHOWN = '\\x1b]0;pwned\\x07\\x1b[2J\\x00after-nul\\u009b[31mred';

function assertSafe(text, where) {
  assert.ok(!/[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f]/.test(text), `${where} holds a raw control character:\n${JSON.stringify(text)}`);
}

test('a method name with ESC, BEL, NUL and C1 from a relay client: escaped in full on stderr and in stats, tail, ls', { timeout: 60000 }, async (t) => {
  const sessions = tempDir(t, 'lsptap-sessions-');
  const got = path.join(tempDir(t, 'lsptap-peer-'), 'got');
  const relay = spawnTracked(t, lsptapBin(), ['relay', '--listen', '127.0.0.1:0', '--', process.execPath, path.join(peersDir, 'silent.mjs')], {
    env: childEnv({ LSPTAP_DIR: sessions, PEER_RECORD: got }),
  });
  const err = collect(relay.stderr);
  const addr = await listeningAt(relay);
  const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];

  const body = Buffer.from(`{"jsonrpc":"2.0","id":7,"method":${METHOD_JSON},"params":{}}`);
  const sock = net.createConnection({ host, port });
  await new Promise((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  sock.write(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]));
  // The silent server got the request: it stays pending. Then the client leaves.
  await until(() => fs.existsSync(got) && fs.statSync(got).size >= body.length, 20000, 'the request to reach the server');
  sock.end();
  const file = await until(() => {
    const f = fs.readdirSync(sessions).find((n) => n.endsWith('.jsonl'));
    return f && /"event":"summary"/.test(fs.readFileSync(path.join(sessions, f), 'utf8')) ? path.join(sessions, f) : null;
  }, 20000, () => `the session's summary; stderr:\n${err.text()}`);
  await until(() => /session ended/.test(err.text()), 10000, () => `the end-of-session line; stderr:\n${err.text()}`);
  relay.kill('SIGTERM');
  await withTimeout(relay.exited, 10000, 'relay exit');

  // lsptap's own stderr: the pending list names the method, escaped, whole.
  assertSafe(err.text(), 'lsptap relay stderr');
  assert.ok(err.text().includes(`lsptap:   ${SHOWN} id 7`), `pending line on stderr:\n${err.text()}`);

  // The session file keeps the real name (JSON escapes it).
  assert.ok(fs.readFileSync(file, 'utf8').includes('\\u001b]0;pwned\\u0007\\u001b[2J\\u0000after-nul'), 'the recorded method');

  for (const args of [['stats', file], ['tail', file], ['ls', sessions]]) {
    const r = spawnSync(lsptapBin(), args, { encoding: 'utf8', timeout: 20000, env: childEnv() });
    if (r.error) throw r.error;
    assert.equal(r.status, 0, `lsptap ${args[0]}: ${r.stderr}`);
    assertSafe(r.stdout, `lsptap ${args[0]}`);
    assertSafe(r.stderr, `lsptap ${args[0]} stderr`);
    if (args[0] !== 'ls') assert.ok(r.stdout.includes(SHOWN), `lsptap ${args[0]} shows the name in full:\n${r.stdout}`);
  }

  // export: a pipe gets the recorded bytes exactly; a terminal (script(1)
  // gives it a pty) gets them escaped.
  const piped = spawnSync(lsptapBin(), ['export', '--format', 'inspector', file], { timeout: 20000, env: childEnv() });
  assert.equal(piped.status, 0, String(piped.stderr));
  assert.ok(piped.stdout.includes(Buffer.from('\x1b]0;pwned\x07')), 'export to a pipe keeps the bytes');
  const script = spawnSync('script', ['-qec', `'${lsptapBin()}' export --format inspector '${file}'`, '/dev/null'],
    { encoding: 'utf8', timeout: 20000, env: childEnv() });
  if (script.error?.code === 'ENOENT') {
    t.diagnostic('script(1) not found: export to a terminal not checked');
  } else {
    assert.equal(script.status, 0, script.stderr);
    const shown = script.stdout.replace(/\r+\n/g, '\n'); // the pty's line endings
    assertSafe(shown, 'lsptap export on a terminal');
    assert.ok(shown.includes(SHOWN), `export on a terminal shows the name escaped:\n${shown}`);
  }
});
