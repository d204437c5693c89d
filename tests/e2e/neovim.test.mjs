// Neovim as a second real editor (Debian's neovim; scripts/deps.sh installs
// it): headless Neovim's own LSP client (vim.lsp.start_client,
// vim.lsp.buf_request_sync; tests/e2e/nvim/client.lua) opens the example
// through the gopls stand-in and asks for hovers and definitions; the same
// script against gopls alone must get the same answers (file paths of the
// two private workspace copies aside). Neovim then stops the client
// (shutdown, exit), and the session file is complete: a summary line last,
// and `lsptap stats` calls the ending a normal shutdown.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { childEnv, collect, copyExample, lsptapBin, realGopls, spawnTracked, standIn, tempDir, withTimeout } from './lib/env.mjs';
import { normalizeRoot } from './lib/lsp.mjs';
import { checkedSession } from './lib/session.mjs';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'nvim/client.lua');
const nvim = () => process.env.NVIM || 'nvim';

// 0-based line, UTF-16 column in tests/example/main.go.
const ASK = [
  { method: 'textDocument/hover', line: 17, character: 14 }, // greet.New, another package
  { method: 'textDocument/hover', line: 19, character: 15 }, // shout
  { method: 'textDocument/definition', line: 17, character: 14 }, // -> greet.New
  { method: 'textDocument/definition', line: 21, character: 30 }, // g.Count -> the method
];

// One headless Neovim session against `cmd` on a fresh copy of the example.
// Returns the answers with the workspace path replaced by a placeholder.
async function neovim(t, cmd, env) {
  const ws = copyExample(t);
  const outFile = path.join(tempDir(t), 'answers.json');
  const child = spawnTracked(t, nvim(), ['--headless', '-u', 'NONE', '-i', 'NONE', '-n', '-c', `luafile ${SCRIPT}`], {
    cwd: ws,
    env: childEnv({
      ...env,
      NVIM_LSP_CMD: JSON.stringify(cmd),
      NVIM_LSP_ROOT: ws,
      NVIM_LSP_FILE: 'main.go',
      NVIM_LSP_ASK: JSON.stringify(ASK),
      NVIM_LSP_OUT: outFile,
      XDG_STATE_HOME: tempDir(t), // Neovim's lsp.log goes there, not into $HOME
      XDG_CACHE_HOME: tempDir(t),
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr = collect(child.stderr);
  collect(child.stdout);
  const st = await withTimeout(child.exited, 150000, `headless Neovim (${cmd.join(' ')}) to finish; stderr:\n${stderr.text()}`);
  assert.ok(fs.existsSync(outFile), `Neovim wrote no result (${JSON.stringify(st)}); stderr:\n${stderr.text()}`);
  const out = JSON.parse(fs.readFileSync(outFile, 'utf8'));
  assert.equal(out.error, undefined, `the Lua client failed: ${out.error}`);
  assert.deepEqual(st, { code: 0, signal: null }, stderr.text());
  assert.equal(out.answers.length, ASK.length);
  return normalizeRoot(out.answers, ws);
}

test('headless Neovim through the stand-in: the same hovers and definitions as gopls alone, and a complete session', { timeout: 360000 }, async (t) => {
  const v = spawnSync(nvim(), ['--version'], { encoding: 'utf8' });
  assert.equal(v.status, 0, `${nvim()} not found: run make deps (scripts/deps.sh installs neovim)`);
  const sessions = tempDir(t);
  const via = await neovim(t, [standIn()], { LSPTAP_GOPLS: realGopls(), LSPTAP_DIR: sessions });
  const direct = await neovim(t, [realGopls()], {});
  assert.deepEqual(via, direct, 'answers through lsptap equal answers from gopls alone');
  assert.match(JSON.stringify(via[0].result), /func greet\.New\(/, 'the hover on greet.New names the function');
  assert.match(via[2].result[0]?.uri ?? via[2].result.uri, /greet\/greet\.go$/, 'the definition is in greet/greet.go');

  const s = checkedSession(sessions, { record: 'full' });
  assert.equal(s.lines.at(-1).event, 'summary', 'the summary is the last line');
  for (const m of ['initialize', 'textDocument/didOpen', 'textDocument/hover', 'textDocument/definition', 'shutdown', 'exit'])
    assert.ok(s.messages.some((l) => l.dir === 'c2s' && l.method === m), `Neovim's ${m} is recorded`);
  const r = spawnSync(lsptapBin(), ['stats', s.file, '--json'], { encoding: 'utf8', timeout: 15000 });
  assert.equal(r.status, 0, r.stderr);
  const ending = JSON.parse(r.stdout).ending;
  assert.equal(ending.how, 'normal', ending.summary);
  assert.equal(ending.abnormal, false, ending.summary);
  assert.equal(ending.summary, 'Normal shutdown: the editor sent shutdown and exit; the server exited with status 0.');
});
