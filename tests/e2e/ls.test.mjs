// `lsptap ls` lists the recorded sessions of a directory with how each
// ended; `lsptap stats A B ...` merges several sessions per method.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { childEnv, lsptapBin, tempDir } from './lib/env.mjs';
import { answerSession, dapSession, killedSession } from './lib/fixtures.mjs';

function lsptap(args, env = {}) {
  const r = spawnSync(lsptapBin(), args, { timeout: 15000, encoding: 'utf8', env: childEnv(env) });
  assert.equal(r.status, 0, `lsptap ${args.join(' ')} exit; stderr:\n${r.stderr}`);
  return r;
}

test('ls: the sessions in LSPTAP_DIR, oldest first, with how each ended', { timeout: 60000 }, async (t) => {
  const dir = tempDir(t);
  fs.copyFileSync(await answerSession(t), path.join(dir, '1-answer.jsonl'));
  fs.copyFileSync(await killedSession(t), path.join(dir, '2-killed.jsonl'));
  dapSession(path.join(dir, '0-dap.jsonl')); // started 2026-11-28T01:00:00Z: before both
  fs.writeFileSync(path.join(dir, 'notes.jsonl'), '{"not":"a session"}\n');
  const r = lsptap(['ls'], { LSPTAP_DIR: dir });
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0], /^START\s+DURATION\s+PROTO\s+SERVER\s+MESSAGES\s+ENDED\s+FILE$/);
  assert.equal(lines.length, 4, r.stdout);
  assert.match(lines[1], /\bdap\s+dlv dap .*\s27 normal\s+0-dap\.jsonl$/);
  assert.match(lines[2], /\blsp\s+answer\.mjs\s+20 editor_gone\s+1-answer\.jsonl$/);
  assert.match(lines[3], /\blsp\s+server\.sh\s+3 server_killed\s+2-killed\.jsonl$/);
  assert.match(r.stderr, /notes\.jsonl:1: not a session file .*; left out/);

  const list = JSON.parse(lsptap(['ls', dir, '--json']).stdout);
  assert.deepEqual(list.map((s) => [path.basename(s.session), s.ended, s.pending]), [
    ['0-dap.jsonl', 'normal', 0],
    ['1-answer.jsonl', 'editor_gone', 1],
    ['2-killed.jsonl', 'server_killed', 2],
  ]);
  assert.match(list[2].ending, /killed by signal 9/);
});

test('ls: no session directory yet is not an error', { timeout: 15000 }, (t) => {
  const r = lsptap(['ls'], { LSPTAP_DIR: path.join(tempDir(t), 'none') });
  assert.match(r.stdout, /no sessions recorded yet/);
});

test('stats over several sessions: merged per method, each ending, pending with its file', { timeout: 60000 }, async (t) => {
  const a = await answerSession(t);
  const b = await answerSession(t);
  const k = await killedSession(t);
  const doc = JSON.parse(lsptap(['stats', a, b, k, '--json']).stdout);
  const row = (m) => doc.methods.find((r) => r.method === m);
  assert.equal(row('test/slow').requests, 10);
  assert.equal(row('test/slow').latency_us.count, 10);
  assert.equal(row('test/fail').errors, 6);
  assert.equal(row('textDocument/hover').requests, 1);
  assert.deepEqual(doc.sessions.map((s) => s.ended), ['editor_gone', 'editor_gone', 'server_killed']);
  assert.deepEqual(doc.pending.map((p) => [p.id, p.session]), [['never-1', a], ['never-1', b], [4242, k], ['req-abc', k]]);
  const text = lsptap(['stats', a, k]).stdout;
  assert.match(text, /^session {2}2 sessions$/m);
  assert.match(text, /^ended {3}.*: 20 messages, .*; The editor went away/m);
  assert.match(text, /^ {9}.*: 3 messages, .*; The server was killed by signal 9/m);
  assert.match(text, /CANCELLED {2}SESSION\n/);
});
