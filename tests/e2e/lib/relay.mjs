// Helpers for `lsptap relay` tests: the listener's address line, and a whole
// editor session that ends in a hover.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { withTimeout } from './env.mjs';
import { startEditor } from './lsp.mjs';

export const MAIN = 'main.go';

// Resolves with the address a `relay --listen` prints on stdout.
export function listeningAt(child) {
  return withTimeout(
    new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const m = /lsptap relay listening at: (\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      child.exited.then((st) => reject(new Error(`relay exited early: ${JSON.stringify(st)}`)));
    }),
    10000,
    'relay listening line',
  );
}

// initialize, open main.go, hover on greet.New once the workspace loaded,
// shutdown: { ed, hover, st }.
export async function hoverSession(t, cmd, args, env, ws) {
  const ed = startEditor(t, cmd, args, { workspace: ws, env });
  const init = await ed.initialize();
  assert.equal(init.serverInfo?.name, 'gopls');
  ed.notify('initialized', {});
  const text = fs.readFileSync(path.join(ws, MAIN), 'utf8');
  ed.notify('textDocument/didOpen', { textDocument: { uri: ed.uri(MAIN), languageId: 'go', version: 1, text } });
  const hover = await ed.hoverWhenLoaded({ textDocument: { uri: ed.uri(MAIN) }, position: { line: 17, character: 14 } });
  const st = await ed.shutdown();
  return { ed, hover, st };
}
