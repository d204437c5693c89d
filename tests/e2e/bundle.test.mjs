// lsptap scrub and lsptap bundle: a real gopls session on a workspace whose
// names are distinctive (directory, module path, identifiers, a string
// literal) with a token in the environment, GOPROXY credentials and gopls
// settings, bundled; none of those strings survives anywhere in the
// extracted archive (in any case, percent-encoded or JSON-escaped), stats
// agree between the original and the scrubbed session, every reader reads
// the scrubbed one, replay --serve plays it, and the bundled report opens in
// headless Chromium without a console error.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { launch, noChromium } from './lib/chromium.mjs';
import { childEnv, lsptapBin, realGopls, standIn, tempDir } from './lib/env.mjs';
import { startEditor } from './lib/lsp.mjs';
import { findSession, readSession, validateSession } from './lib/session.mjs';

const TOKEN = 'ghp_Q7zKx2WmVb9TnLr4YsPd8FhJc3GaUe6Ro1Xi';
const MAIN = `// Package main frobnicates the xylophone.
package main

import (
\t"fmt"

\t"example.com/zanzibarquux/quodlibet"
)

// Frobnicate glues the xylophone-secret to a wibblewidget.
func Frobnicate(wibblewidget string) string {
\treturn "xylophone-secret" + wibblewidget
}

func main() {
\tfmt.Println(Frobnicate("glockenspiel"), quodlibet.Zorbify())
}
`;
const QUOD = `// Package quodlibet zorbifies.
package quodlibet

// Zorbify counts the snarfwidgets.
func Zorbify() int { return 42 }
`;
// What must not survive. The parent directory's random name too.
const SECRETS = ['marmaladeproject', 'zanzibarquux', 'Frobnicate', 'xylophone-secret', 'xylophone', 'wibblewidget',
  'glockenspiel', 'quodlibet', 'Zorbify', 'snarfwidgets', TOKEN, 'Q7zKx2WmVb9TnLr4YsPd8FhJc3GaUe6Ro1Xi'];

function workspace(t) {
  const top = fs.realpathSync(tempDir(t, 'lsptap-bundle-e2e-'));
  const ws = path.join(top, 'marmaladeproject');
  fs.mkdirSync(path.join(ws, 'quodlibet'), { recursive: true });
  fs.writeFileSync(path.join(ws, 'go.mod'), 'module example.com/zanzibarquux\n\ngo 1.18\n');
  fs.writeFileSync(path.join(ws, 'main.go'), MAIN);
  fs.writeFileSync(path.join(ws, 'quodlibet', 'quodlibet.go'), QUOD);
  return { top, ws };
}

// didOpen, hover, completion, definition, documentSymbol through the stand-in.
async function record(t) {
  const { top, ws } = workspace(t);
  const sessions = path.join(top, 'sessions');
  const env = childEnv({
    LSPTAP_DIR: sessions,
    LSPTAP_GOPLS: realGopls(),
    GITHUB_TOKEN: TOKEN,
    GOPROXY: `https://zanzibarquux:${TOKEN}@127.0.0.1:9/mod,off`,
    GOPRIVATE: 'example.com/zanzibarquux',
    GOFLAGS: '-mod=mod',
  });
  const ed = startEditor(t, standIn(), [], { workspace: ws, env });
  const rootUri = pathToFileURL(ws).href;
  await ed.request('initialize', {
    processId: process.pid,
    clientInfo: { name: 'lsptap-e2e', version: '1' },
    rootPath: ws,
    rootUri,
    workspaceFolders: [{ uri: rootUri, name: 'marmaladeproject' }],
    capabilities: { textDocument: { hover: { contentFormat: ['markdown'] }, documentSymbol: { hierarchicalDocumentSymbolSupport: true } } },
    initializationOptions: { env: { GITHUB_TOKEN: TOKEN, ZANZIBARQUUX_HOME: ws }, local: 'example.com/zanzibarquux' },
  }, 30000);
  ed.notify('initialized', {});
  const uri = ed.uri('main.go');
  ed.notify('textDocument/didOpen', { textDocument: { uri, languageId: 'go', version: 1, text: MAIN } });
  const doc = { textDocument: { uri } };
  const results = {};
  results.hover = await ed.hoverWhenLoaded({ ...doc, position: { line: 15, character: 15 } }); // Frobnicate(
  results.definition = await ed.request('textDocument/definition', { ...doc, position: { line: 15, character: 53 } }); // Zorbify
  results.completion = await ed.request('textDocument/completion', { ...doc, position: { line: 15, character: 16 } });
  results.symbols = await ed.request('textDocument/documentSymbol', doc);
  const st = await ed.shutdown();
  assert.deepEqual(st, { code: 0, signal: null }, `stand-in exit; stderr:\n${ed.stderr.text()}`);
  const file = findSession(sessions);
  const text = fs.readFileSync(file, 'utf8');
  // The test can only prove absence if the recording had them.
  for (const s of ['marmaladeproject', 'zanzibarquux', 'Frobnicate', 'xylophone-secret', 'Zorbify', TOKEN])
    assert.ok(text.includes(s), `the original session holds ${s}`);
  assert.ok(JSON.stringify(results.hover).includes('Frobnicate'), 'gopls answered the hover on Frobnicate');
  return { top, ws, sessions, file, results };
}

function run(args, opts = {}) {
  const r = spawnSync(lsptapBin(), args, { encoding: 'utf8', timeout: 120000, env: childEnv(), ...opts });
  assert.equal(r.status, 0, `lsptap ${args.join(' ')}: exit ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return r;
}

function filesUnder(dir) {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath ?? e.path, e.name));
}

// Every form a string could take in a text file: as is, percent-encoded,
// JSON-escaped; all compared in lower case.
function forms(s) {
  return [...new Set([s, encodeURIComponent(s), encodeURI(s), JSON.stringify(s).slice(1, -1)].map((f) => f.toLowerCase()))];
}

function assertNoneIn(text, where, secrets) {
  const low = text.toLowerCase();
  for (const s of secrets) {
    for (const f of forms(s)) {
      const at = low.indexOf(f);
      assert.ok(at < 0, `${where} contains ${JSON.stringify(f)}: ...${text.slice(Math.max(0, at - 150), at + 100)}...`);
    }
  }
}

const methodsOf = (r) => JSON.parse(r.stdout).methods;

test('bundle: a real gopls session, scrubbed, packed, readable', { timeout: 240000 }, async (t) => {
  const { top, sessions, file } = await record(t);
  const secrets = [...SECRETS, path.basename(top)];

  const out = path.join(top, 'report.tar.gz');
  const b = run(['bundle', '-o', out], { cwd: top, env: childEnv({ LSPTAP_DIR: sessions, GITHUB_TOKEN: TOKEN }) });
  assert.match(b.stdout, new RegExp(`wrote ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(\\d+ KiB\\)`), b.stdout);
  assert.match(b.stdout, /Before posting it, look it over/, b.stdout);
  assert.ok(fs.statSync(out).size > 1000, 'the archive has content');
  assert.deepEqual(fs.readdirSync(top).filter((f) => f.startsWith('report.tar.gz.')), [], 'no temp file left beside the archive');

  const x = path.join(top, 'x');
  fs.mkdirSync(x);
  const tar = spawnSync('tar', ['-xzf', out, '-C', x], { encoding: 'utf8' });
  assert.equal(tar.status, 0, `tar -xzf: ${tar.stderr}`);
  const [root] = fs.readdirSync(x);
  assert.match(root, /^lsptap-bundle-\d{8}T\d{6}Z$/);
  const base = path.join(x, root);
  for (const f of ['MANIFEST.txt', 'session1/session.jsonl', 'session1/report.html', 'session1/stats.txt', 'session1/stats.json', 'doctor.json', 'versions.txt'])
    assert.ok(fs.existsSync(path.join(base, f)), `${f} is in the bundle`);

  // Nothing identifying anywhere in the archive.
  const files = filesUnder(x);
  assert.ok(files.length >= 7, JSON.stringify(files));
  for (const f of files) assertNoneIn(fs.readFileSync(f, 'utf8'), path.relative(x, f), secrets);

  // The MANIFEST counts, never values; the versions are there.
  const manifest = fs.readFileSync(path.join(base, 'MANIFEST.txt'), 'utf8');
  assert.match(manifest, /words\s+\d+ distinct,\s+\d+ occurrences/);
  assert.match(manifest, /secrets\s+[1-9]\d* distinct/, 'the token was counted as a secret');
  assert.match(manifest, /recorded no network diagnosis/);
  const versions = fs.readFileSync(path.join(base, 'versions.txt'), 'utf8');
  assert.match(versions, /lsptap \d+\.\d+\.\d+/);
  assert.match(versions, /== go version\ngo version go\d/);

  // A first-class session: same lines, kinds, methods, ids, times, sizes.
  const scrubbed = path.join(base, 'session1/session.jsonl');
  validateSession(scrubbed);
  const a = readSession(file);
  const s = readSession(scrubbed);
  assert.equal(s.header.lsptap, a.header.lsptap);
  assert.ok(s.header.scrubbed && /^lsptap /.test(s.header.scrubbed.by), 'the header says it was scrubbed');
  assert.equal(s.lines.length, a.lines.length);
  const keep = (l) => ({ t_us: l.t_us, dir: l.dir, bytes: l.bytes, kind: l.kind, method: l.method, id: l.id, latency_us: l.latency_us, event: l.event });
  assert.deepEqual(s.lines.slice(1).map(keep), a.lines.slice(1).map(keep));
  const init = (ss) => ss.messages.find((m) => m.method === 'initialize' && m.dir === 's2c').body.result.serverInfo;
  assert.deepEqual(init(s), init(a), 'serverInfo (gopls version) kept');
  const hover = s.messages.find((m) => m.method === 'textDocument/hover' && m.dir === 's2c' && m.body.result);
  assert.equal(hover.body.result.contents.kind, 'markdown');
  const def = s.messages.find((m) => m.method === 'textDocument/definition' && m.dir === 's2c');
  assert.match(def.body.result[0].uri, /^file:\/\/\/<root>\/dir\d+\/file\d+\.go$/, 'a URI keeps its shape');
  const open = s.messages.find((m) => m.method === 'textDocument/didOpen');
  const text = open.body.params.textDocument.text;
  assert.deepEqual(text.split('\n').map((l) => l.length), MAIN.split('\n').map((l) => l.length), 'source lines keep their lengths');
  assert.match(text, /^package main$/m);

  // stats: the same per-method counts and latencies.
  assert.deepEqual(methodsOf(run(['stats', '--json', scrubbed])), methodsOf(run(['stats', '--json', file])));
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(base, 'session1/stats.json'), 'utf8')).methods, methodsOf(run(['stats', '--json', file])));

  // Every reader reads it.
  const lsDir = path.join(top, 'ls');
  fs.mkdirSync(lsDir);
  fs.copyFileSync(scrubbed, path.join(lsDir, 's.jsonl'));
  assert.match(run(['ls', lsDir]).stdout, /s\.jsonl/);
  assert.match(run(['tail', scrubbed, '--no-follow']).stdout, /textDocument\/hover/);
  assert.match(run(['export', '--format', 'inspector', scrubbed]).stdout, /textDocument\/definition/);
  run(['report', scrubbed, '-o', path.join(top, 'r.html')]);

  // lsptap scrub alone gives the same session (same placeholders: a run is deterministic).
  const again = run(['scrub', file], { env: childEnv({ GITHUB_TOKEN: TOKEN }) });
  assert.match(again.stderr, /replaced:/);
  assertNoneIn(again.stdout, 'lsptap scrub output', secrets);
  const refuse = spawnSync(lsptapBin(), ['scrub', file, '-o', file], { encoding: 'utf8' });
  assert.equal(refuse.status, 2, refuse.stderr);
  assert.match(refuse.stderr, /is the input/);
});

test('bundle: the scrubbed session plays with replay --serve', { timeout: 240000 }, async (t) => {
  const { top, file } = await record(t);
  const scrubbed = path.join(top, 'scrubbed.jsonl');
  run(['scrub', file, '-o', scrubbed]);
  assert.equal(fs.statSync(scrubbed).mode & 0o777, 0o600, 'a session file\'s mode');
  const s = readSession(scrubbed);
  const other = fs.realpathSync(tempDir(t, 'lsptap-other-'));
  const ed = startEditor(t, lsptapBin(), ['replay', '--serve', scrubbed, '--rewrite-root', `/<root>=${other}`], { workspace: other, env: childEnv() });
  const init = await ed.initialize();
  assert.deepEqual(init, s.messages.find((m) => m.method === 'initialize' && m.dir === 's2c').body.result);
  ed.notify('initialized', {});
  const uri = ed.uri('main.go');
  const hover = await ed.request('textDocument/hover', { textDocument: { uri }, position: { line: 15, character: 15 } });
  const recorded = s.messages.filter((m) => m.method === 'textDocument/hover' && m.dir === 's2c').map((m) => m.body.result);
  assert.ok(recorded.some((r) => JSON.stringify(r) === JSON.stringify(hover)), `a recorded (scrubbed) hover: ${JSON.stringify(hover)}`);
  const def = await ed.request('textDocument/definition', { textDocument: { uri }, position: { line: 15, character: 53 } });
  assert.ok(def[0].uri.startsWith(pathToFileURL(other).href + '/'), `definition under the new root: ${def[0].uri}`);
  const st = await ed.shutdown();
  assert.deepEqual(st, { code: 0, signal: null }, ed.stderr.text());
});

test('bundle: the report in the bundle opens in Chromium without console errors', { skip: noChromium(), timeout: 240000 }, async (t) => {
  const { top, file } = await record(t);
  const out = path.join(top, 'b.tar.gz');
  run(['bundle', file, '-o', out], { cwd: top });
  const x = path.join(top, 'x');
  fs.mkdirSync(x);
  assert.equal(spawnSync('tar', ['-xzf', out, '-C', x]).status, 0);
  const html = filesUnder(x).find((f) => f.endsWith('report.html'));
  assert.ok(html, 'report.html in the bundle');
  const browser = await launch(t);
  const page = await browser.open(html);
  const info = await page.evaluate(`(() => ({ ready: !!(window.lsptapReport && window.lsptapReport.ready),
    messages: window.lsptapReport && window.lsptapReport.messages, rows: document.querySelectorAll('#list .row').length }))()`);
  assert.deepEqual(page.errors, [], 'no console errors');
  assert.ok(info.ready, 'the page finished rendering');
  assert.equal(info.messages, readSession(file).messages.length, 'every message is in the page');
  assert.ok(info.rows > 0);
});

test('bundle: bad input is refused with a clear message', { timeout: 60000 }, async (t) => {
  const dir = tempDir(t);
  const empty = path.join(dir, 'empty');
  fs.mkdirSync(empty);
  let r = spawnSync(lsptapBin(), ['bundle'], { encoding: 'utf8', cwd: dir, env: childEnv({ LSPTAP_DIR: empty }) });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /no session in .*empty/);
  const notSession = path.join(dir, 'x.jsonl');
  fs.writeFileSync(notSession, '{"hello":1}\n');
  r = spawnSync(lsptapBin(), ['bundle', notSession, '-o', path.join(dir, 'o.tar.gz')], { encoding: 'utf8', cwd: dir });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /x\.jsonl: not a session file \(line 1/);
  assert.ok(!fs.existsSync(path.join(dir, 'o.tar.gz')), 'no archive written');
  r = spawnSync(lsptapBin(), ['scrub', path.join(dir, 'missing.jsonl')], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /cannot open .*missing\.jsonl/);
});

test('bundle: two sessions share placeholders; recorded netcheck reports go to netcheck.json', { timeout: 120000 }, async (t) => {
  const dir = fs.realpathSync(tempDir(t));
  const line = (o) => JSON.stringify(o) + '\n';
  const open = (t_us, uri) => line({ t_us, dir: 'c2s', bytes: 120, kind: 'notification', method: 'textDocument/didOpen',
    body: { jsonrpc: '2.0', method: 'textDocument/didOpen', params: { textDocument: { uri, languageId: 'go', version: 1, text: 'package zorblax\n' } } } });
  const uri = 'file:///home/zedwardson/marmaladeproject/zorblax.go';
  const s1 = path.join(dir, 'one.jsonl');
  fs.writeFileSync(s1, line({ lsptap: 1, protocol: 'lsp', role: 'gopls', start: '2026-12-06T10:00:00.000Z', lsptap_version: '0.1.0', argv: ['gopls', '-remote=gopls.acme-zanzibar.internal:4389'], cwd: '/home/zedwardson/marmaladeproject' })
    + open(10, uri)
    + line({ t_us: 20, event: 'netcheck', target: { host: 'gopls.acme-zanzibar.internal', port: 4389, tls: false },
      layers: [{ layer: 'dns', status: 'ok', summary: 'gopls.acme-zanzibar.internal is 10.77.1.2', evidence: { addresses: ['10.77.1.2'] }, ms: 1.5 },
        { layer: 'transport', status: 'fail', summary: 'connection refused by 10.77.1.2:4389 (RST): nothing listens on that port', evidence: { class: 'refused' }, ms: 0.4 }],
      verdict: { layer: 'transport', status: 'fail', hint: 'start gopls -listen on gopls.acme-zanzibar.internal' } })
    + line({ t_us: 30, event: 'summary', messages: { c2s: 1, s2c: 0 }, ending: 'the editor ended the session' }));
  const s2 = path.join(dir, 'two.jsonl');
  fs.writeFileSync(s2, line({ lsptap: 1, protocol: 'lsp', role: 'gopls', start: '2026-12-06T11:00:00.000Z', lsptap_version: '0.1.0', argv: ['gopls'], cwd: '/srv/elsewhere' })
    + open(10, uri)
    + line({ t_us: 30, event: 'summary', messages: { c2s: 1, s2c: 0 } }));
  const out = path.join(dir, 'b.tar.gz');
  run(['bundle', s1, s2, '-o', out], { cwd: dir });
  const x = path.join(dir, 'x');
  fs.mkdirSync(x);
  assert.equal(spawnSync('tar', ['-xzf', out, '-C', x]).status, 0);
  const base = path.join(x, fs.readdirSync(x)[0]);
  for (const f of filesUnder(x)) assertNoneIn(fs.readFileSync(f, 'utf8'), path.relative(x, f), ['zedwardson', 'marmaladeproject', 'acme', 'zanzibar', '10.77.1.2', 'zorblax', 'elsewhere']);
  const nc = JSON.parse(fs.readFileSync(path.join(base, 'session1/netcheck.json'), 'utf8'));
  assert.equal(nc.length, 1);
  assert.equal(nc[0].event, 'netcheck');
  assert.deepEqual(nc[0].layers.map((l) => [l.layer, l.status, l.ms]), [['dns', 'ok', 1.5], ['transport', 'fail', 0.4]]);
  assert.equal(nc[0].layers[1].evidence.class, 'refused');
  assert.match(nc[0].layers[1].summary, /^connection refused by 192\.0\.2\.\d+:4389 \(RST\): nothing listens on that port$/);
  assert.equal(nc[0].target.port, 4389);
  assert.ok(!fs.existsSync(path.join(base, 'session2/netcheck.json')));
  const manifest = fs.readFileSync(path.join(base, 'MANIFEST.txt'), 'utf8');
  assert.match(manifest, /session1\/netcheck\.json\s+the 1 network diagnoses it recorded/);
  assert.match(manifest, /session2 recorded no network diagnosis/);
  // The same file in both sessions has the same placeholder; the first session's root is <root>.
  const u = (f) => readSession(path.join(base, f)).messages[0].body.params.textDocument.uri;
  assert.equal(u('session1/session.jsonl'), 'file:///<root>/file1.go');
  assert.equal(u('session2/session.jsonl'), u('session1/session.jsonl'));
});
