#!/usr/bin/env node
// A scripted editor session for `make demo`: VS Code's client libraries
// drive the gopls stand-in ($LSPTAP_BIN's directory) in front of the real
// gopls on a private copy of tests/example, and say what they did. The
// session file goes wherever LSPTAP_DIR says (scripts/demo.sh sets it).
import fs from 'node:fs';
import { copyExample, standIn } from './lib/env.mjs';
import { startEditor } from './lib/lsp.mjs';

// startEditor and copyExample take a test context for their cleanup.
const cleanups = [];
const ctx = { after: (fn) => cleanups.push(fn) };
const say = (s) => process.stdout.write(`demo: ${s}\n`);
const at = (line, character) => ({ line, character });

async function main() {
  const ws = copyExample(ctx);
  const ed = startEditor(ctx, standIn(), [], { workspace: ws, env: process.env });
  const t0 = Date.now();
  const init = await ed.initialize(30000);
  const info = init.serverInfo || {};
  say(`initialize -> ${info.name || 'server'} ${describeVersion(info.version)}`.trimEnd());
  ed.notify('initialized', {});

  const main = ed.uri('main.go');
  const greet = ed.uri('greet/greet.go');
  const text = fs.readFileSync(`${ws}/main.go`, 'utf8');
  ed.notify('textDocument/didOpen', { textDocument: { uri: main, languageId: 'go', version: 1, text } });
  ed.notify('textDocument/didOpen', {
    textDocument: { uri: greet, languageId: 'go', version: 1, text: fs.readFileSync(`${ws}/greet/greet.go`, 'utf8') },
  });
  const first = await ed.hoverWhenLoaded({ textDocument: { uri: main }, position: at(17, 14) });
  say(`workspace loaded after ${Date.now() - t0} ms; hover greet.New -> ${firstLine(first)}`);

  const hovers = [at(19, 24), at(19, 15), at(21, 30)];
  for (const p of hovers) {
    const h = await ed.request('textDocument/hover', { textDocument: { uri: main }, position: p });
    say(`hover ${p.line + 1}:${p.character + 1} -> ${firstLine(h)}`);
  }
  for (const p of [at(17, 14), at(19, 15)]) {
    const d = await ed.request('textDocument/definition', { textDocument: { uri: main }, position: p });
    const loc = Array.isArray(d) ? d[0] : d;
    say(`definition ${p.line + 1}:${p.character + 1} -> ${loc.uri.slice(loc.uri.lastIndexOf('/') + 1)}:${loc.range.start.line + 1}`);
  }
  for (const p of [at(17, 13), at(21, 29)]) {
    const c = await ed.request('textDocument/completion', { textDocument: { uri: main }, position: p });
    const items = Array.isArray(c) ? c : c.items;
    say(`completion ${p.line + 1}:${p.character + 1} -> ${items.map((i) => i.label).join(', ')}`);
  }
  const syms = await ed.request('textDocument/documentSymbol', { textDocument: { uri: greet } });
  say(`documentSymbol greet.go -> ${syms.map((s) => s.name).join(', ')}`);

  // Type a new line in main() and ask about it.
  const line = '\tfmt.Println(shout(greet.New("?").Greet("demo")))\n';
  ed.notify('textDocument/didChange', {
    textDocument: { uri: main, version: 2 },
    contentChanges: [{ range: { start: at(22, 0), end: at(22, 0) }, text: line }],
  });
  const h = await ed.request('textDocument/hover', { textDocument: { uri: main }, position: at(22, 36) });
  say(`didChange (added line 23); hover Greet there -> ${firstLine(h)}`);

  const st = await ed.shutdown();
  const requests = ed.sent.filter((m) => 'method' in m && 'id' in m).length;
  say(`shutdown/exit -> lsptap exited ${st.code}; ${requests} requests, ${ed.sent.length} messages sent, ${ed.received.length} received`);
  const err = ed.stderr
    .text()
    .split('\n')
    .filter((l) => l.startsWith('lsptap:'));
  for (const l of err) say(`stderr: ${l}`);
  return st.code ?? 1;
}

// gopls puts its `version -json` output in serverInfo.version.
function describeVersion(v) {
  if (!v) return '';
  try {
    const j = JSON.parse(v);
    return `${j.Version || j.Main?.Version || '?'} (${j.GoVersion || 'go ?'})`;
  } catch {
    return v;
  }
}

function firstLine(hover) {
  if (!hover) return 'null';
  const v = typeof hover.contents === 'string' ? hover.contents : hover.contents.value ?? JSON.stringify(hover.contents);
  return v.split('\n').find((l) => l && !l.startsWith('```')) ?? '';
}

let code = 1;
try {
  code = await main();
} catch (e) {
  process.stderr.write(`demo: ${e.message}\n`);
} finally {
  for (const fn of cleanups) fn();
}
process.exit(code);
