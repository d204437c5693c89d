// Crash forensics: `lsptap stats` (text and --json) leads with how the
// session ended, what was pending, the server's last stderr lines and the
// last messages each way, for a clean gopls session, a killed server, an
// editor that hung up and a session file lsptap never finished.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { lsptapBin, tempDir } from './lib/env.mjs';
import { answerSession, goplsSession, killedSession } from './lib/fixtures.mjs';

function stats(args) {
  const r = spawnSync(lsptapBin(), ['stats', ...args], { timeout: 15000, encoding: 'utf8' });
  assert.equal(r.status, 0, `lsptap stats ${args.join(' ')} exit; stderr:\n${r.stderr}`);
  return r.stdout;
}

// The lines before the per-method table.
const lead = (text) => text.slice(0, text.indexOf('\nMETHOD'));

test('ending: a killed server, with its pending requests and last stderr lines', { timeout: 30000 }, async (t) => {
  const file = await killedSession(t);
  const text = stats([file]);
  const head = lead(text);
  assert.match(head, /^ended {4}The server was killed by signal 9 \(Killed\) while the editor was still connected\.$/m, text);
  assert.match(head, /^pending  2 requests unanswered at the end/m, text);
  assert.match(head, /^stderr   the server's last 2 lines:\n {2}\| starting up\n {2}\| fatal: out of luck$/m, text);
  assert.match(head, /^last {5}editor->server:\n.*textDocument\/hover {2}id 4242\n.*textDocument\/didOpen\n.*textDocument\/definition {2}id "req-abc"$/m, text);
  const doc = JSON.parse(stats([file, '--json']));
  assert.equal(doc.ending.how, 'server_killed');
  assert.equal(doc.ending.signal, 9);
  assert.equal(doc.ending.pending, 2);
  assert.deepEqual(doc.ending.stderr_tail, ['starting up', 'fatal: out of luck']);
  assert.deepEqual(doc.ending.last.c2s.map((m) => m.id), [4242, null, 'req-abc']);
  assert.deepEqual(doc.pending.map((p) => p.id), [4242, 'req-abc']);
});

test('ending: lsptap itself killed: a file without summary, its last line cut short', { timeout: 30000 }, async (t) => {
  const file = await killedSession(t);
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  const cut = path.join(tempDir(t), 'cut.jsonl');
  const keep = lines.filter((l) => !/"event":"(summary|pending|exit)"/.test(l));
  fs.writeFileSync(cut, keep.join('\n') + '\n' + '{"t_us":99999,"dir":"s2c","byt');
  const text = stats([cut]);
  assert.match(lead(text), /^ended {4}The session file ends without a summary: lsptap itself was killed or crashed\.$/m, text);
  assert.match(text, /pending at end: 2\n/, 'the requests without a reply line are pending');
  assert.match(text, /the last line is cut short/);
  assert.equal(JSON.parse(stats([cut, '--json'])).ending.how, 'unfinished');
});

test('ending: the editor hung up without shutdown', { timeout: 30000 }, async (t) => {
  const file = await answerSession(t);
  const doc = JSON.parse(stats([file, '--json']));
  assert.equal(doc.ending.how, 'editor_gone');
  assert.match(doc.ending.summary, /^The editor went away \(it closed its end without shutdown\); the server then exited with status 0\.$/);
  assert.equal(doc.ending.pending, 1);
});

test('ending: a clean gopls session', { timeout: 90000 }, async (t) => {
  const file = await goplsSession(t);
  const text = stats([file]);
  assert.match(lead(text), /^ended {4}Normal shutdown: the editor sent shutdown and exit; the server exited with status 0\.$/m, text);
  assert.doesNotMatch(lead(text), /^pending /m);
  const doc = JSON.parse(stats([file, '--json']));
  assert.equal(doc.ending.how, 'normal');
  assert.equal(doc.ending.abnormal, false);
  assert.equal(doc.ending.last.c2s.at(-1).method, 'exit');
});
