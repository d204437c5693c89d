// lsptap doctor: every problem named with its fix, secrets nowhere in what
// it prints, exit 1 when something is wrong, 0 when nothing is, 2 on usage.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { childEnv, copyExample, lsptapBin, realGopls, tempDir } from './lib/env.mjs';

// Variables that would make a "clean" run report something the test did not set.
const GO_VARS = ['GOFLAGS', 'GOROOT', 'GOPROXY', 'GO111MODULE', 'GOWORK', 'GOENV', 'GOPATH',
  'GOMODCACHE', 'GOCACHE', 'HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'];

function cleanEnv(t, extra = {}) {
  const env = childEnv({ LSPTAP_DIR: tempDir(t, 'lsptap-sessions-'), ...extra });
  for (const k of GO_VARS) if (!(k in extra)) delete env[k];
  return env;
}

function doctor(t, env, args = ['--json']) {
  const ws = copyExample(t);
  const r = spawnSync(lsptapBin(), ['doctor', ...args, ws], { env, timeout: 60000, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { ...r, ws };
}

function report(r) {
  let j;
  try {
    j = JSON.parse(r.stdout);
  } catch (e) {
    assert.fail(`doctor --json printed no JSON (${e.message}):\n${r.stdout}\nstderr: ${r.stderr}`);
  }
  for (const p of j.problems) {
    assert.deepEqual(Object.keys(p).sort(), ['check', 'fix', 'message', 'severity', 'variable'],
      `problem keys: ${JSON.stringify(p)}`);
    assert.ok(['error', 'warning'].includes(p.severity), p.severity);
    assert.ok(p.message.length > 0 && p.fix.length > 0, JSON.stringify(p));
  }
  return j;
}

function problem(j, check) {
  const p = j.problems.find((x) => x.check === check);
  assert.ok(p, `no "${check}" problem in ${JSON.stringify(j.problems, null, 1)}`);
  return p;
}

// A directory with gopls and dlv but no go: PATH "without go" that still
// finds the tools, so the only problem is go itself.
function pathWithoutGo(t) {
  const bin = tempDir(t, 'lsptap-nogo-');
  fs.symlinkSync(realGopls(), path.join(bin, 'gopls'));
  fs.symlinkSync('/usr/bin/dlv', path.join(bin, 'dlv'));
  return bin;
}

test('a clean environment: no problems, exit 0, and the facts are there', { timeout: 60000 }, (t) => {
  const r = doctor(t, cleanEnv(t));
  const j = report(r);
  assert.deepEqual(j.problems, [], r.stdout);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(j.verified, true);
  assert.match(j.go.version, /^go version go1\./);
  assert.ok(j.go.env.GOROOT, 'go env GOROOT');
  assert.equal(j.workspace.module, 'example.com/hello');
  assert.ok(j.workspace.go_mod.endsWith('/go.mod'));
  assert.ok(j.tools.gopls.path, 'gopls found');
  assert.ok(j.tools.gopls.version, 'gopls version');
  const link = j.tools.stand_ins.links.find((l) => l.tool === 'gopls');
  assert.ok(link && link.is_lsptap, `the gopls link next to lsptap: ${JSON.stringify(j.tools.stand_ins)}`);
  assert.ok(Array.isArray(j.path.process) && j.path.process.length > 0);
  assert.ok(Array.isArray(j.servers));
  assert.deepEqual(j.sessions.recent, []);
});

test('GOFLAGS=-mod=bogus: named, and the fix drops the flag', { timeout: 60000 }, (t) => {
  const r = doctor(t, cleanEnv(t, { GOFLAGS: '-mod=bogus' }));
  const p = problem(report(r), 'goflags');
  assert.equal(p.variable, 'GOFLAGS');
  assert.match(p.message, /-mod=bogus/);
  assert.match(p.fix, /Drop -mod=bogus/);
  assert.equal(r.status, 1);
});

test('GOROOT=/nonexistent: named, and the fix unsets it', { timeout: 60000 }, (t) => {
  const r = doctor(t, cleanEnv(t, { GOROOT: '/nonexistent' }));
  const p = problem(report(r), 'goroot');
  assert.equal(p.variable, 'GOROOT');
  assert.match(p.message, /\/nonexistent/);
  assert.match(p.fix, /GOROOT/);
  assert.equal(r.status, 1);
});

test('PATH without go: found through the login shell or a usual place, fix prepends it', { timeout: 60000 }, (t) => {
  const r = doctor(t, cleanEnv(t, { PATH: pathWithoutGo(t) }));
  const j = report(r);
  const p = problem(j, 'go-not-on-path');
  assert.equal(p.variable, 'PATH');
  const m = /^Prepend (\S+) to PATH/.exec(p.fix);
  assert.ok(m, p.fix);
  assert.ok(fs.existsSync(path.join(m[1], 'go')), `${m[1]}/go exists`);
  assert.ok(j.go.path, 'doctor still reports the go it found');
  assert.equal(r.status, 1);
});

test('GOPROXY with a space and a password: normalised, the password never printed', { timeout: 60000 }, (t) => {
  const r = doctor(t, cleanEnv(t, { GOPROXY: 'https://user:secret@proxy.example, direct' }));
  const p = problem(report(r), 'goproxy');
  assert.match(p.fix, /GOPROXY=https:\/\/user:REDACTED@proxy\.example,direct/);
  assert.ok(!r.stdout.includes('secret') && !r.stderr.includes('secret'));
  assert.equal(r.status, 1);
});

test('all of it at once, with a token around: every problem, no secret, exit 1 (JSON and text)', { timeout: 90000 }, (t) => {
  const env = cleanEnv(t, {
    GOFLAGS: '-mod=bogus',
    GOROOT: '/nonexistent',
    PATH: pathWithoutGo(t),
    GOPROXY: 'https://user:secret@proxy.example, direct',
    GITHUB_TOKEN: 'abc',
  });
  for (const args of [['--json'], []]) {
    const r = doctor(t, env, args);
    for (const s of ['secret', 'abc'])
      assert.ok(!r.stdout.includes(s) && !r.stderr.includes(s), `"${s}" printed by doctor ${args}`);
    assert.equal(r.status, 1, r.stderr);
    if (args.length) {
      const j = report(r);
      for (const c of ['goflags', 'goroot', 'go-not-on-path', 'goproxy']) problem(j, c);
      const changed = Object.fromEntries(j.repairs.map((x) => [x.variable, x.action]));
      assert.deepEqual(changed, { PATH: 'set', GOROOT: 'unset', GOFLAGS: 'unset', GOPROXY: 'set' });
      assert.equal(j.verified, true, 'go accepts the repaired environment');
    } else {
      for (const c of ['[goflags] GOFLAGS', '[goroot] GOROOT', '[go-not-on-path] PATH', '[goproxy] GOPROXY'])
        assert.ok(r.stdout.includes(c), `text output names ${c}:\n${r.stdout}`);
      assert.match(r.stdout, /fix: Drop -mod=bogus/);
    }
  }
});

test('a recorded session is listed with how it ended', { timeout: 60000 }, (t) => {
  const env = cleanEnv(t);
  const s = spawnSync(path.join(path.dirname(lsptapBin()), 'gopls'), [], { env, input: '', timeout: 30000 });
  assert.equal(s.status, 0, String(s.stderr));
  const j = report(doctor(t, env));
  assert.equal(j.sessions.recent.length, 1);
  assert.equal(j.sessions.recent[0].role, 'gopls');
  assert.match(j.sessions.recent[0].ending, /exited with status 0/);
});

test('usage errors exit 2', { timeout: 30000 }, (t) => {
  for (const args of [['doctor', '--bogus'], ['doctor', 'a', 'b'], ['doctor', '/nonexistent']]) {
    const r = spawnSync(lsptapBin(), args, { env: cleanEnv(t), encoding: 'utf8' });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /usage: lsptap doctor/);
  }
});
