// What the keep-alive tests share (keepalive-connect, keepalive-stdio): the
// example's main.go opened, edited and hovered on the same connection.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { childEnv, collect, lsptapBin, realGopls, spawnTracked, tempDir, until } from './env.mjs';
import { listeningAt, MAIN } from './relay.mjs';

// main.go, 0-based: line 11 is "// shout adds emphasis; ...", line 19 calls
// shout at character 14.
export const SHOUT_CALL = { line: 19, character: 15 };
export const EDIT_AT = { line: 11, character: 14 }; // after "// shout adds "

// Polls cond (it may be async) until it gives a truthy value.
export const waitFor = (what, cond, ms = 30000) => until(cond, ms, what);

// Hover on the call of shout until it answers with text containing `want`.
export async function hoverSees(ed, want, ms = 90000) {
  return waitFor(`a hover showing ${want}`, async () => {
    const h = await ed.request('textDocument/hover', { textDocument: { uri: ed.uri(MAIN) }, position: SHOUT_CALL }, 30000);
    return h && JSON.stringify(h).includes(want) ? h : null;
  }, ms);
}

// initialize (gopls must answer), initialized, and main.go opened.
export async function openMain(ed, ws) {
  const init = await ed.initialize();
  assert.equal(init.serverInfo?.name, 'gopls');
  ed.notify('initialized', {});
  const text = fs.readFileSync(path.join(ws, MAIN), 'utf8');
  ed.notify('textDocument/didOpen', { textDocument: { uri: ed.uri(MAIN), languageId: 'go', version: 1, text } });
}

// `text` inserted into shout's comment as version `version`.
export function editMain(ed, version, text) {
  ed.notify('textDocument/didChange', {
    textDocument: { uri: ed.uri(MAIN), version },
    contentChanges: [{ range: { start: EDIT_AT, end: EDIT_AT }, text }],
  });
}

// A request's outcome, answer or error, as a value.
export const settle = (p) => p.then((r) => ({ result: r }), (e) => ({ error: e }));

// `lsptap relay --listen ADDR [ARGS...] -- SERVER...` (the real gopls unless
// given), its sessions in a temp dir, its stderr collected (`.err`);
// resolves once it listens, with the address it printed as `.addr`.
export async function startListener(t, { addr = '127.0.0.1:0', server = [realGopls()], args = [], cwd, env = {} } = {}) {
  const listener = spawnTracked(t, lsptapBin(), ['relay', '--listen', addr, ...args, '--', ...server], {
    cwd,
    env: childEnv({ LSPTAP_DIR: tempDir(t), ...env }),
  });
  listener.err = collect(listener.stderr);
  listener.addr = await listeningAt(listener);
  return listener;
}
