// `lsptap tail` follows the newest session while lsptap writes it, one line
// per message, with method and direction filters.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { childEnv, collect, lsptapBin, sleep, spawnTracked, tempDir, withTimeout } from './lib/env.mjs';
import { answerSession } from './lib/fixtures.mjs';
import { readSession } from './lib/session.mjs';

const messageLines = (text) => text.split('\n').filter((l) => /^\+\S+\s+(c->s|s->c) /.test(l));

test('tail: follows the newest session live, from before it starts to its summary', { timeout: 60000 }, async (t) => {
  const sessions = path.join(tempDir(t), 'sessions');
  fs.mkdirSync(sessions, { recursive: true, mode: 0o700 });
  const tail = spawnTracked(t, lsptapBin(), ['tail'], { env: childEnv({ LSPTAP_DIR: sessions }) });
  const out = collect(tail.stdout);
  const err = collect(tail.stderr);
  await sleep(300);
  assert.match(err.text(), /waiting for a session in /);
  // 60 ms between messages: tail must show the first ones before the last are written.
  const sessionP = answerSession(t, { sessions, pause: 60 });
  let sawEarly = false;
  const deadline = Date.now() + 20000;
  while (!/summary: session ended/.test(out.text())) {
    assert.ok(Date.now() < deadline, `no summary line from tail:\n${out.text()}\nstderr:\n${err.text()}`);
    if (!sawEarly && /test\/slow/.test(out.text()) && !/test\/never/.test(out.text())) sawEarly = true;
    await sleep(5);
  }
  const file = await sessionP;
  tail.kill('SIGINT');
  const st = await withTimeout(tail.exited, 5000, 'tail exit after SIGINT');
  assert.equal(st.code, 0, `tail exit: ${JSON.stringify(st)}`);
  assert.ok(sawEarly, 'tail printed messages while the session was still running');
  const text = out.text();
  assert.match(text, new RegExp(`^==> ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} <==$`, 'm'));
  const lines = messageLines(text);
  assert.equal(lines.length, readSession(file).messages.length, text);
  assert.ok(lines.some((l) => /c->s  request\s+test\/never\s+id "never-1"/.test(l)), text);
  assert.ok(lines.some((l) => /s->c  reply \(error\)\s+test\/fail\s+id 6\s+\S+(us|ms|s)\s+\d+ B$/.test(l)), text);
  assert.match(text, /----  event\s+exit status 0/);
});

test('tail: filters by method and direction; a finished session ends by itself', { timeout: 30000 }, async (t) => {
  const file = await answerSession(t);
  const r = spawnSync(lsptapBin(), ['tail', file, '--method', 'test/slow', '--dir', 's2c'], { encoding: 'utf8', timeout: 10000 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 5, r.stdout);
  for (const l of lines) assert.match(l, /^\+\S+\s+s->c  reply\s+test\/slow\s+id \d+\s+\d+\.\dms\s+\d+ B$/);
  // A session lsptap never finished: --no-follow prints what is there and stops.
  const cut = path.join(tempDir(t), 'cut.jsonl');
  const text = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(cut, text.slice(0, text.indexOf('"event":"exit"') - 12) + '{"t_us":1,"dir":"c2');
  const n = spawnSync(lsptapBin(), ['tail', cut, '--no-follow'], { encoding: 'utf8', timeout: 10000 });
  assert.equal(n.status, 0, n.stderr);
  assert.equal(messageLines(n.stdout).length, readSession(file).messages.length);
});

test('tail: leaves a session lsptap never finished when a newer one starts', { timeout: 60000 }, async (t) => {
  const sessions = path.join(tempDir(t), 'sessions');
  fs.mkdirSync(sessions, { recursive: true, mode: 0o700 });
  // lsptap was killed: the file stops mid-session, no summary.
  const old = path.join(sessions, '20200101T000000Z-1-gopls.jsonl');
  fs.writeFileSync(old, '{"lsptap":1,"protocol":"lsp","start":"2020-01-01T00:00:00Z"}\n' +
    '{"t_us":5,"dir":"c2s","bytes":60,"kind":"request","method":"old/request","id":1}\n');
  fs.utimesSync(old, new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'));
  const tail = spawnTracked(t, lsptapBin(), ['tail'], { env: childEnv({ LSPTAP_DIR: sessions }) });
  const out = collect(tail.stdout);
  const deadline = Date.now() + 20000;
  while (!/old\/request/.test(out.text())) {
    assert.ok(Date.now() < deadline, `tail never showed the old session:\n${out.text()}`);
    await sleep(20);
  }
  const file = await answerSession(t, { sessions });
  while (!/summary: session ended/.test(out.text())) {
    assert.ok(Date.now() < deadline, `tail never moved on to the new session:\n${out.text()}`);
    await sleep(20);
  }
  tail.kill('SIGTERM');
  await withTimeout(tail.exited, 5000, 'tail exit');
  const text = out.text();
  assert.ok(text.indexOf(`==> ${old} <==`) < text.indexOf(`==> ${file} <==`), text);
  assert.equal(messageLines(text).length, 1 + readSession(file).messages.length, text);
});
