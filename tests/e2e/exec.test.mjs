// Every gopls invocation that is not a server session behaves exactly as
// the real gopls: same stdout, stderr and exit code, byte for byte. When
// the real gopls cannot be found, the user is told where lsptap looked.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { childEnv, copyExample, realGopls, standIn, tempDir } from './lib/env.mjs';
import { startEditor } from './lib/lsp.mjs';

function run(cmd, args, opts) {
  const r = spawnSync(cmd, args, { timeout: 30000, maxBuffer: 64 << 20, ...opts });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  return { stdout: r.stdout, stderr: r.stderr, status: r.status, signal: r.signal };
}

// Byte-level comparison that says where the outputs part.
function assertSameBytes(got, want, what) {
  if (Buffer.compare(got, want) === 0) return;
  let i = 0;
  while (i < got.length && i < want.length && got[i] === want[i]) i++;
  assert.fail(
    `${what}: differs at byte ${i} (got ${got.length} bytes, want ${want.length})\n` +
      `got:  ${JSON.stringify(got.subarray(Math.max(0, i - 40), i + 80).toString())}\n` +
      `want: ${JSON.stringify(want.subarray(Math.max(0, i - 40), i + 80).toString())}`,
  );
}

function assertSameAsGopls(t, args, extraEnv = {}) {
  const cwd = copyExample(t);
  const want = run(realGopls(), args, { cwd, env: childEnv(extraEnv) });
  const got = run(standIn(), args, { cwd, env: childEnv({ LSPTAP_GOPLS: realGopls(), ...extraEnv }) });
  assertSameBytes(got.stdout, want.stdout, `gopls ${args.join(' ')}: stdout`);
  assertSameBytes(got.stderr, want.stderr, `gopls ${args.join(' ')}: stderr`);
  assert.equal(got.status, want.status, `gopls ${args.join(' ')}: exit status`);
  assert.equal(got.signal, want.signal, `gopls ${args.join(' ')}: signal`);
  return want;
}

for (const args of [['version'], ['version', '-json'], ['help'], ['help', 'definition'], ['api-json']]) {
  test(`gopls ${args.join(' ')}: byte-identical stdout, stderr and exit status`, { timeout: 30000 }, (t) => {
    const want = assertSameAsGopls(t, args);
    // Guard against comparing two empty failures.
    assert.ok(want.stdout.length + want.stderr.length > 0, 'gopls printed something');
  });
}

test('gopls bogus: the non-zero exit status is passed through', { timeout: 30000 }, (t) => {
  const want = assertSameAsGopls(t, ['bogus']);
  assert.notEqual(want.status, 0, 'gopls rejects an unknown command');
});

test('found on PATH: the stand-in skips itself and runs the real gopls', { timeout: 30000 }, (t) => {
  // The stand-in's own directory comes first on PATH, as when a user puts
  // it there; lsptap must not exec itself in a loop.
  const realDir = path.dirname(realGopls());
  const PATH = `${path.dirname(standIn())}:${realDir}:/usr/bin:/bin`;
  const cwd = copyExample(t);
  const want = run(realGopls(), ['version'], { cwd, env: childEnv({ PATH }) });
  const got = run(standIn(), ['version'], { cwd, env: childEnv({ PATH }) });
  assertSameBytes(got.stdout, want.stdout, 'stdout');
  assertSameBytes(got.stderr, want.stderr, 'stderr');
  assert.equal(got.status, want.status);
});

// No LSPTAP_GOPLS, nothing on PATH, an empty HOME and config dir.
function notFoundEnv(t) {
  const home = tempDir(t, 'lsptap-home-');
  return { home, env: childEnv({ PATH: '/nonexistent', HOME: home, XDG_CONFIG_HOME: `${home}/.config`, GOPATH: '', GOBIN: '' }) };
}

test('gopls not found: `gopls version` names every place searched and exits 127', { timeout: 30000 }, (t) => {
  const { home, env } = notFoundEnv(t);
  const r = run(standIn(), ['version'], { cwd: home, env });
  const err = r.stderr.toString();
  assert.equal(r.status, 127, `exit status; stderr:\n${err}`);
  assert.equal(r.stdout.length, 0, 'nothing on stdout');
  assert.match(err, /^lsptap:/m, 'lsptap speaks with its prefix');
  assert.match(err, /gopls/);
  assert.match(err, /not found/i);
  assert.ok(err.includes('LSPTAP_GOPLS'), `names LSPTAP_GOPLS:\n${err}`);
  assert.ok(err.includes('/nonexistent'), `names the PATH entry searched:\n${err}`);
  assert.ok(err.includes(path.join(home, 'go/bin')), `names ~/go/bin as searched:\n${err}`);
});

test('gopls not found: a server session gets the reason as the error response to initialize', { timeout: 30000 }, async (t) => {
  const { home, env } = notFoundEnv(t);
  const ws = copyExample(t);
  const ed = startEditor(t, standIn(), [], { workspace: ws, env: { ...env, LSPTAP_DIR: `${home}/sessions` } });
  await assert.rejects(ed.initialize(), (e) => {
    assert.match(e.message, /gopls/, `error message: ${e.message}`);
    assert.match(e.message, /not found/i, `error message: ${e.message}`);
    assert.ok(e.message.includes('/nonexistent'), `names the PATH entry searched: ${e.message}`);
    return true;
  });
  assert.match(ed.stderr.text(), /^lsptap:.*not found/im, 'the reason is on stderr too');
  // The editor gives up and closes the pipe; lsptap must go away.
  ed.hangUp();
  const st = await Promise.race([ed.child.exited, new Promise((r) => setTimeout(() => r('still running'), 10000))]);
  assert.notEqual(st, 'still running', 'lsptap exits after the editor closes stdin');
});
