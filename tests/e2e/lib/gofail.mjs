// A workspace whose module needs something from the module proxy, and an
// editor on it through the gopls stand-in: the setting in which gopls
// reports a connection go failed to make (docs/netcheck.md, "gopls's own
// connections"). Shared by tests/e2e/netwatch.test.mjs and the netns lab
// (tests/e2e/lab-netwatch.mjs).
import fs from 'node:fs';
import path from 'node:path';
import { childEnv, realGopls, sleep, standIn, tempDir } from './env.mjs';
import { startEditor } from './lsp.mjs';

// go.mod requires example.org/dep, missing from a fresh GOMODCACHE; go.sum
// is present, and GOFLAGS=-mod=mod lets go fetch it from GOPROXY.
export function needyWorkspace(t) {
  const ws = fs.realpathSync(tempDir(t, 'lsptap-needy-'));
  fs.writeFileSync(path.join(ws, 'go.mod'), 'module example.com/app\n\ngo 1.19\n\nrequire example.org/dep v1.0.0\n');
  fs.writeFileSync(
    path.join(ws, 'go.sum'),
    'example.org/dep v1.0.0 h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n' +
      'example.org/dep v1.0.0/go.mod h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n',
  );
  fs.writeFileSync(path.join(ws, 'main.go'), 'package main\n\nimport "example.org/dep"\n\nfunc main() { dep.Hello() }\n');
  return ws;
}

// Variables of the test's own environment that would change what go does.
const GO_VARS = ['GOFLAGS', 'GOROOT', 'GOPROXY', 'GONOPROXY', 'GOPRIVATE', 'GOSUMDB', 'GONOSUMDB', 'GO111MODULE',
  'GOWORK', 'GOENV', 'GOMODCACHE', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy',
  'no_proxy', 'SSL_CERT_FILE', 'SSL_CERT_DIR'];

// The stand-in in front of the real gopls on a needy workspace with GOPROXY
// (and `extra`) set; the session directory comes back too.
export async function needyEditor(t, goproxy, extra = {}) {
  const ws = needyWorkspace(t);
  const sessions = `${tempDir(t, 'lsptap-sessions-')}/s`;
  const env = childEnv({
    GOMODCACHE: tempDir(t, 'lsptap-modcache-'),
    GOFLAGS: '-mod=mod',
    GOPROXY: goproxy,
    GOSUMDB: 'off',
    LSPTAP_GOPLS: realGopls(),
    LSPTAP_DIR: sessions,
    ...extra,
  });
  for (const k of GO_VARS) if (!(k in extra) && !['GOMODCACHE', 'GOFLAGS', 'GOPROXY', 'GOSUMDB'].includes(k)) delete env[k];
  const ed = startEditor(t, standIn(), [], { workspace: ws, env });
  await ed.initialize(30000);
  ed.notify('initialized', {});
  ed.notify('textDocument/didOpen', {
    textDocument: { uri: ed.uri('main.go'), languageId: 'go', version: 1, text: fs.readFileSync(path.join(ws, 'main.go'), 'utf8') },
  });
  return { ws, ed, sessions };
}

export const lsptapShows = (ed) =>
  ed.received.filter((m) => m.method === 'window/showMessage' && m.params.message.startsWith('lsptap: '));

// gopls's own report of the failed load (window/logMessage type 1).
export const loadFailures = (ed) =>
  ed.received.filter((m) => m.method === 'window/logMessage' && m.params.type === 1 && /initial workspace load failed/.test(m.params.message));

// Resolves once fn() is truthy; fails naming `what` after ms.
export async function until(fn, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

export const describe = (ed) =>
  `received: ${JSON.stringify(ed.received.filter((m) => /Message/.test(m.method ?? '')).map((m) => m.params))}\nstderr:\n${ed.stderr.text()}`;
