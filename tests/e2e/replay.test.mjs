// lsptap replay: a session recorded through the stand-in in front of the
// real gopls, played again against gopls in another copy of the workspace
// (--compare passes), against a changed copy (--compare fails naming the
// request), without the editor's recorded replies (defaults, no hang), and
// played back to a VS Code client by --serve; meta and truncated sessions.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { childEnv, copyExample, exampleDir, lsptapBin, peersDir, realGopls, standIn, tempDir } from './lib/env.mjs';
import { startEditor } from './lib/lsp.mjs';
import { findSession, readSession } from './lib/session.mjs';

const MAIN = 'main.go';
const GREET = 'greet/greet.go';
const at = (line, character) => ({ line, character });
const NEW_AT = at(17, 14); // greet.New in main.go

// Records one editor session through the stand-in on a fresh copy of the
// example: initialize, didOpen of main.go, hover, definition, completion,
// shutdown/exit. greet/greet.go stays closed, so gopls reads it from disk
// (an open document's text comes from the recording's didOpen).
// Returns { ws, file, results }.
async function record(t, { mode = 'full' } = {}) {
  const ws = copyExample(t);
  const dir = `${tempDir(t, 'lsptap-sessions-')}/s`;
  const ed = startEditor(t, standIn(), [], {
    workspace: ws,
    env: childEnv({ LSPTAP_GOPLS: realGopls(), LSPTAP_DIR: dir, LSPTAP_RECORD: mode }),
  });
  const results = { initialize: await ed.initialize() };
  ed.notify('initialized', {});
  for (const f of [MAIN]) {
    ed.notify('textDocument/didOpen', {
      textDocument: { uri: ed.uri(f), languageId: 'go', version: 1, text: fs.readFileSync(`${ws}/${f}`, 'utf8') },
    });
  }
  const doc = { textDocument: { uri: ed.uri(MAIN) } };
  if (mode === 'full') {
    results.hover = await ed.hoverWhenLoaded({ ...doc, position: NEW_AT });
    results.definition = await ed.request('textDocument/definition', { ...doc, position: NEW_AT });
    results.completion = await ed.request('textDocument/completion', { ...doc, position: at(21, 29) });
  }
  const st = await ed.shutdown();
  assert.deepEqual(st, { code: 0, signal: null }, `recording session: stand-in exit; stderr:\n${ed.stderr.text()}`);
  return { ws, file: findSession(dir), results };
}

// A second copy of the example at another path, with a space in it so file
// URIs carry a percent-encoded segment.
function otherCopy(t) {
  const dir = path.join(tempDir(t, 'lsptap-replay-'), 'other copy');
  fs.cpSync(exampleDir, dir, { recursive: true });
  return fs.realpathSync(dir);
}

function replay(args, { timeout = 60000 } = {}) {
  const r = spawnSync(lsptapBin(), ['replay', ...args], { env: childEnv(), encoding: 'utf8', timeout });
  assert.equal(r.error, undefined, `lsptap replay did not finish: ${r.error}`);
  return r;
}

const show = (r) => `exit ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

test('replay: against gopls in another copy of the workspace, --compare passes', { timeout: 120000 }, async (t) => {
  const { ws, file } = await record(t);
  const s = readSession(file);
  assert.ok(s.messages.some((m) => m.dir === 's2c' && m.kind === 'request'), 'the recording has server-to-editor requests');
  const other = otherCopy(t);
  const r = replay([file, '--rewrite-root', `${ws}=${other}`, '--compare', '--', realGopls()]);
  assert.equal(r.status, 0, show(r));
  for (const m of ['initialize', 'textDocument/hover', 'textDocument/definition', 'textDocument/completion', 'shutdown'])
    assert.match(r.stdout, new RegExp(`^${m.replace('/', '\\/')}\\s+\\d+`, 'm'), `table row for ${m}\n${show(r)}`);
  assert.match(r.stdout, / 0 differ/, show(r));

  // The same in JSON, with the recorded server command (no SERVER given).
  const j = replay([file, '--rewrite-root', `${ws}=${other}`, '--compare', '--json']);
  assert.equal(j.status, 0, show(j));
  const doc = JSON.parse(j.stdout);
  assert.equal(doc.differing, 0);
  assert.ok(doc.compared >= 5, `compared ${doc.compared}`);
  const hover = doc.methods.find((m) => m.method === 'textDocument/hover');
  assert.ok(hover && hover.count >= 1 && hover.recorded_p50_us > 0 && hover.replayed_p50_us >= 0, JSON.stringify(doc.methods));
  const conf = doc.server_requests.find((m) => m.method === 'workspace/configuration');
  assert.ok(conf && conf.replayed >= 1 && conf.from_recording >= 1, JSON.stringify(doc.server_requests));
  assert.deepEqual(doc.server_exit, { status: 0, signal: 0 });
});

test('replay: a changed doc comment makes --compare fail, naming the hover request', { timeout: 120000 }, async (t) => {
  const { ws, file } = await record(t);
  const other = otherCopy(t);
  const g = `${other}/${GREET}`;
  fs.writeFileSync(g, fs.readFileSync(g, 'utf8').replace('// New returns a Greeter', '// New makes a Greeter'));
  const r = replay([file, '--rewrite-root', `${ws}=${other}`, '--compare']);
  assert.equal(r.status, 1, show(r));
  const s = readSession(file);
  const hovers = s.messages.filter((m) => m.dir === 'c2s' && m.method === 'textDocument/hover');
  const last = hovers[hovers.length - 1];
  const pos = s.lines.filter((l, i) => i > 0 && 'dir' in l).indexOf(last) + 1;
  assert.ok(r.stdout.includes(`differs: textDocument/hover id ${last.id} (message ${pos} of the session`), show(r));
  assert.match(r.stdout, /\/result\/contents\/value/, show(r));
  assert.match(r.stdout, /New makes a Greeter/, show(r));
  assert.doesNotMatch(r.stdout, /differs: textDocument\/definition/, show(r));
});

test('replay: server requests without recorded editor replies get defaults, no hang', { timeout: 120000 }, async (t) => {
  const { ws, file } = await record(t);
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l);
  const stripped = lines.filter((l) => {
    const o = JSON.parse(l);
    return !(o.dir === 'c2s' && o.kind === 'response');
  });
  const cut = `${path.dirname(file)}/no-editor-replies.jsonl`;
  fs.writeFileSync(cut, stripped.join('\n') + '\n');
  const other = otherCopy(t);
  const r = replay([cut, '--rewrite-root', `${ws}=${other}`, '--compare', '--json', '--timeout', '20']);
  assert.equal(r.status, 0, show(r));
  const doc = JSON.parse(r.stdout);
  assert.ok(doc.server_requests.length > 0, 'gopls asked the editor something');
  for (const q of doc.server_requests) assert.equal(q.from_recording, 0, JSON.stringify(q));
  assert.deepEqual(doc.events, [], 'no timeouts, nothing unexpected');
});

test('replay --serve: a VS Code client gets the recorded answers', { timeout: 120000 }, async (t) => {
  const { ws, file, results } = await record(t);
  const other = otherCopy(t);
  const ed = startEditor(t, lsptapBin(), ['replay', '--serve', file, '--rewrite-root', `${ws}=${other}`], {
    workspace: other,
    env: childEnv(),
  });
  const init = await ed.initialize();
  assert.deepEqual(init, results.initialize, 'initialize result as recorded');
  ed.notify('initialized', {});
  const doc = { textDocument: { uri: ed.uri(MAIN) } };
  const hover = await ed.request('textDocument/hover', { ...doc, position: NEW_AT });
  assert.deepEqual(hover, results.hover, 'hover as recorded');
  const def = await ed.request('textDocument/definition', { ...doc, position: NEW_AT });
  assert.equal(def[0].uri, pathToFileURL(`${other}/${GREET}`).href, 'definition URI moved to the new root');
  assert.deepEqual(def[0].range, results.definition[0].range);
  const none = await ed.request('textDocument/references', { ...doc, position: NEW_AT, context: { includeDeclaration: true } }).then(
    () => null,
    (e) => e,
  );
  assert.ok(none && /no reply to textDocument\/references/.test(none.message), `a method the recording lacks: ${none}`);
  const st = await ed.shutdown();
  assert.deepEqual(st, { code: 0, signal: null }, ed.stderr.text());
});

test('replay: a meta session is refused; a truncated one replays up to its last complete line', { timeout: 120000 }, async (t) => {
  const meta = await record(t, { mode: 'meta' });
  const r = replay([meta.file]);
  assert.equal(r.status, 2, show(r));
  assert.match(r.stderr, /LSPTAP_RECORD=meta.*no message bodies/, show(r));

  const { ws, file } = await record(t);
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const hover = lines.findIndex((l) => l.includes('"dir":"c2s"') && l.includes('"textDocument/hover"'));
  const cut = `${path.dirname(file)}/cut.jsonl`;
  fs.writeFileSync(cut, lines.slice(0, hover).join('\n') + '\n' + lines[hover].slice(0, 40));
  const other = otherCopy(t);
  const j = replay([cut, '--rewrite-root', `${ws}=${other}`, '--json', '--timeout', '10']);
  assert.equal(j.status, 0, show(j));
  const doc = JSON.parse(j.stdout);
  assert.equal(doc.truncated, true);
  assert.ok(!doc.methods.some((m) => m.method === 'textDocument/hover'), 'nothing after the cut is sent');
  assert.ok(doc.methods.some((m) => m.method === 'initialize'));
  assert.match(j.stderr, /cut short/, show(j));
});

test('replay: a server that never answers — each causality wait times out, reported, no hang', { timeout: 120000 }, async (t) => {
  const { file } = await record(t);
  const started = Date.now();
  const r = replay([file, '--compare', '--json', '--timeout', '1', '--', process.execPath, `${peersDir}/silent.mjs`]);
  const took = Date.now() - started;
  assert.equal(r.status, 1, show(r));
  const doc = JSON.parse(r.stdout);
  const waits = doc.events.filter((e) => e.what === 'causality_timeout');
  assert.ok(waits.length >= 3, JSON.stringify(doc.events));
  assert.equal(waits[0].waited_for, 'initialize', JSON.stringify(waits[0]));
  assert.match(waits[0].message, /no reply to initialize \(id 0, message \d+\) after 1000 ms; sending initialized/);
  assert.equal(waits[waits.length - 1].sending, 'exit', 'the last wait is exit waiting for shutdown');
  const s = readSession(file);
  const editor = s.messages.filter((m) => m.dir === 'c2s' && m.kind !== 'response').length;
  assert.equal(doc.sent, editor, 'every editor message was sent in the end');
  assert.equal(doc.differing, doc.compared, 'no reply came, so every compared reply differs');
  assert.deepEqual(doc.server_exit, { status: 0, signal: 0 }, 'the peer exits at stdin EOF');
  assert.ok(took < (waits.length + 1) * 1000 + 15000, `took ${took} ms`);
  assert.match(r.stderr, /lsptap replay: no reply to initialize/);
});

test('replay --speed original keeps the recorded gaps', { timeout: 120000 }, async (t) => {
  const { ws, file } = await record(t);
  const s = readSession(file);
  const editor = s.messages.filter((m) => m.dir === 'c2s' && m.kind !== 'response');
  const span = (editor[editor.length - 1].t_us - editor[0].t_us) / 1000;
  const other = otherCopy(t);
  const started = Date.now();
  const r = replay([file, '--rewrite-root', `${ws}=${other}`, '--speed', 'original', '--compare']);
  assert.equal(r.status, 0, show(r));
  assert.ok(Date.now() - started >= span * 0.9, `replay took ${Date.now() - started} ms, the recording ${span} ms`);
});
