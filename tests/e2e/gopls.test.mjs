// The gopls stand-in in front of the real gopls answers an editor exactly as
// gopls alone does, exits as gopls exits, and records a valid session file
// that matches the traffic message for message.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { childEnv, copyExample, realGopls, standIn, tempDir, withTimeout } from './lib/env.mjs';
import { normalizeRoot, startEditor } from './lib/lsp.mjs';
import { assertMatchesTraffic, checkedSession, eventsNamed } from './lib/session.mjs';

// Positions in tests/example (0-based line, UTF-16 column).
const MAIN = 'main.go';
const GREET = 'greet/greet.go';
const at = (line, character) => ({ line, character });
const queries = [
  ['hover', MAIN, at(17, 14)], // greet.New
  ['hover', MAIN, at(19, 24)], // g.Greet (method)
  ['hover', MAIN, at(19, 15)], // shout (same package)
  ['hover', GREET, at(7, 6)], // type Greeter
  ['definition', MAIN, at(17, 14)], // -> greet.New in another package
  ['definition', MAIN, at(19, 15)], // -> shout
  ['definition', MAIN, at(21, 30)], // g.Count -> method
  ['completion', MAIN, at(17, 13)], // greet.N|ew
  ['completion', MAIN, at(21, 29)], // g.|Count: the method set
  ['documentSymbol', GREET, null],
];

// One editor session on a fresh copy of the example: everything the test
// compares, plus the editor for further checks.
async function session(t, cmd, env) {
  const ws = copyExample(t);
  const ed = startEditor(t, cmd, [], { workspace: ws, env });
  const out = { initialize: await ed.initialize() };
  ed.notify('initialized', {});
  for (const f of [MAIN, GREET]) {
    ed.notify('textDocument/didOpen', {
      textDocument: { uri: ed.uri(f), languageId: 'go', version: 1, text: fs.readFileSync(`${ws}/${f}`, 'utf8') },
    });
  }
  // Wait for the workspace load: hover on a symbol of another package.
  out.loaded = await ed.hoverWhenLoaded({ textDocument: { uri: ed.uri(MAIN) }, position: at(17, 14) });
  out.results = [];
  for (const [what, file, position] of queries) {
    const params = { textDocument: { uri: ed.uri(file) } };
    if (position) params.position = position;
    out.results.push({ what, file, position, result: await ed.request(`textDocument/${what}`, params) });
  }
  out.exit = await ed.shutdown();
  return { ws, ed, out: normalizeRoot(out, ws) };
}

test('stand-in in front of gopls: same answers, exit 0, valid session file matching the traffic', { timeout: 90000 }, async (t) => {
  const gopls = realGopls();
  const direct = await session(t, gopls, childEnv());
  assert.deepEqual(direct.out.exit, { code: 0, signal: null }, 'gopls alone must exit 0 after shutdown/exit');
  assert.ok(direct.out.initialize.serverInfo, 'gopls sends serverInfo');
  assert.ok(direct.out.results.every((r) => r.result !== null), `a query returned null with gopls alone: ${JSON.stringify(direct.out.results)}`);

  const dir = tempDir(t, 'lsptap-sessions-');
  const sessions = `${dir}/s`;
  const tapped = await session(t, standIn(), childEnv({ LSPTAP_GOPLS: gopls, LSPTAP_DIR: sessions, LSPTAP_RECORD: 'full' }));

  assert.deepEqual(tapped.out.initialize, direct.out.initialize, 'initialize result (incl. serverInfo) through lsptap');
  assert.deepEqual(tapped.out.loaded, direct.out.loaded, 'first hover through lsptap');
  for (let i = 0; i < queries.length; i++) {
    assert.deepEqual(tapped.out.results[i], direct.out.results[i], `${queries[i][0]} ${queries[i][1]} through lsptap`);
  }
  assert.deepEqual(tapped.out.exit, { code: 0, signal: null }, `lsptap exit; stderr:\n${tapped.ed.stderr.text()}`);

  // stderr: gopls's own lines unchanged, and from lsptap in a clean session
  // only the one summary line at the end.
  const lines = (text) => text.split('\n').filter((l) => l.length > 0);
  const err = lines(tapped.ed.stderr.text());
  assert.deepEqual(err.filter((l) => !l.startsWith('lsptap:')), lines(direct.ed.stderr.text()), 'gopls\'s stderr passes through');
  const own = err.filter((l) => l.startsWith('lsptap:'));
  assert.equal(own.length, 1, `one lsptap: line (the summary) in a clean session:\n${err.join('\n')}`);
  assert.equal(err[err.length - 1], own[0], 'the summary is the last line');

  const s = checkedSession(sessions, { record: 'full' });
  assertMatchesTraffic(s, 'c2s', tapped.ed.sent);
  assertMatchesTraffic(s, 's2c', tapped.ed.received);
  assert.equal(eventsNamed(s, 'spawn').length, 1, 'one spawn event');
  const exits = eventsNamed(s, 'exit');
  assert.equal(exits.length, 1, 'one exit event');
  assert.equal(exits[0].status, 0, `exit event: ${JSON.stringify(exits[0])}`);
  assert.equal(eventsNamed(s, 'pending').length, 0, 'no request left pending after a clean shutdown');
});

test('stand-in: the session file counts every request the editor sent', { timeout: 60000 }, async (t) => {
  // Requests only, without waiting for the workspace load: a short session
  // whose c2s request count is known in advance.
  const ws = copyExample(t);
  const sessions = `${tempDir(t)}/s`;
  const ed = startEditor(t, standIn(), ['-mode=stdio'], {
    workspace: ws,
    env: childEnv({ LSPTAP_GOPLS: realGopls(), LSPTAP_DIR: sessions }),
  });
  await ed.initialize();
  ed.notify('initialized', {});
  const uri = ed.uri(MAIN);
  ed.notify('textDocument/didOpen', { textDocument: { uri, languageId: 'go', version: 1, text: fs.readFileSync(`${ws}/${MAIN}`, 'utf8') } });
  const n = 5;
  for (let i = 0; i < n; i++) await ed.request('textDocument/documentSymbol', { textDocument: { uri } });
  const st = await ed.shutdown();
  assert.deepEqual(st, { code: 0, signal: null }, `lsptap exit; stderr:\n${ed.stderr.text()}`);

  const s = checkedSession(sessions);
  const c2sRequests = s.messages.filter((m) => m.dir === 'c2s' && m.kind === 'request');
  // initialize + n documentSymbol + shutdown
  assert.equal(c2sRequests.length, n + 2, 'c2s request lines');
  assert.equal(c2sRequests.length, ed.sent.filter((m) => 'method' in m && 'id' in m).length);
  const header = s.header;
  assert.ok(JSON.stringify(header).includes('-mode=stdio'), `header names the server argv: ${JSON.stringify(header)}`);
});

test('stand-in: LSPTAP_RECORD=meta records every message without bodies', { timeout: 60000 }, async (t) => {
  const ws = copyExample(t);
  const sessions = `${tempDir(t)}/s`;
  const ed = startEditor(t, standIn(), [], {
    workspace: ws,
    env: childEnv({ LSPTAP_GOPLS: realGopls(), LSPTAP_DIR: sessions, LSPTAP_RECORD: 'meta' }),
  });
  await ed.initialize();
  ed.notify('initialized', {});
  await withTimeout(ed.shutdown(), 20000, 'shutdown');
  const s = checkedSession(sessions, { record: 'meta' });
  assertMatchesTraffic(s, 'c2s', ed.sent, { record: 'meta' });
  assertMatchesTraffic(s, 's2c', ed.received, { record: 'meta' });
});

test('stand-in: server flags reach gopls unchanged (-rpc.trace -logfile=F serve)', { timeout: 60000 }, async (t) => {
  // gopls writes its rpc trace to the log file only if it got both flags.
  const ws = copyExample(t);
  const dir = tempDir(t);
  const log = `${dir}/gopls.log`;
  const args = ['-rpc.trace', `-logfile=${log}`, 'serve'];
  const ed = startEditor(t, standIn(), args, {
    workspace: ws,
    env: childEnv({ LSPTAP_GOPLS: realGopls(), LSPTAP_DIR: `${dir}/s` }),
  });
  await ed.initialize();
  ed.notify('initialized', {});
  const st = await ed.shutdown();
  assert.deepEqual(st, { code: 0, signal: null }, `lsptap exit; stderr:\n${ed.stderr.text()}`);
  assert.ok(fs.existsSync(log), `gopls wrote no ${log}: -logfile did not reach it`);
  assert.match(fs.readFileSync(log, 'utf8'), /request 'initialize - \(0\)'/, '-rpc.trace reached gopls');
  const s = checkedSession(`${dir}/s`);
  for (const a of args) assert.ok(JSON.stringify(s.header).includes(JSON.stringify(a)), `header records argument ${a}`);
});

test('stand-in: LSPTAP_RECORD=off relays and writes no session file', { timeout: 60000 }, async (t) => {
  const ws = copyExample(t);
  const sessions = `${tempDir(t)}/s`;
  const ed = startEditor(t, standIn(), [], {
    workspace: ws,
    env: childEnv({ LSPTAP_GOPLS: realGopls(), LSPTAP_DIR: sessions, LSPTAP_RECORD: 'off' }),
  });
  const init = await ed.initialize();
  assert.equal(init.serverInfo.name, 'gopls');
  ed.notify('initialized', {});
  const st = await ed.shutdown();
  assert.deepEqual(st, { code: 0, signal: null }, `lsptap exit; stderr:\n${ed.stderr.text()}`);
  const files = fs.existsSync(sessions) ? fs.readdirSync(sessions).filter((f) => f.endsWith('.jsonl')) : [];
  assert.deepEqual(files, [], 'no session file with recording off');
});
