// gopls's own connections (docs/netcheck.md): when gopls reports that go
// could not reach the module proxy, the stand-in runs netcheck on that
// target and tells the editor which layer failed; when the proxy answered
// (404), no network layer is blamed. Loopback only: the netns lab
// (tests/netns/run.sh) covers names that do not resolve and expired
// certificates.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import path from 'node:path';
import { childEnv, freePort, lsptapBin, peersDir, sleep, standIn, tempDir } from './lib/env.mjs';
import { startEditor } from './lib/lsp.mjs';
import { describe, loadFailures, lsptapShows, needyEditor, until } from './lib/gofail.mjs';
import { assertMatchesTraffic, checkedSession, eventsNamed, findSession } from './lib/session.mjs';

test('GOPROXY at a port where nothing listens: the editor is told the transport layer failed', { timeout: 120000 }, async (t) => {
  const port = await freePort();
  const { ed, sessions } = await needyEditor(t, `http://127.0.0.1:${port}`);
  const shown = await until(() => lsptapShows(ed)[0], 60000, `lsptap's showMessage ${describe(ed)}`);
  assert.equal(shown.params.type, 1, 'an error: a layer failed');
  const text = shown.params.message;
  assert.match(text, new RegExp(`module proxy \\(GOPROXY\\) 127\\.0\\.0\\.1:${port}`), text);
  assert.match(text, /transport layer failed/, text);
  assert.match(text, /connection refused/, text);
  assert.ok(loadFailures(ed).length >= 1, 'gopls reported the load failure itself');
  assert.match(ed.stderr.text(), /workspace load failed because go could not connect; that is the network, not the environment: no restart/);
  // gopls repeats the failure (logMessage, diagnostics, each reload): one check.
  await sleep(1500);
  assert.equal(lsptapShows(ed).length, 1, `one message for one target: ${describe(ed)}`);
  assert.ok(ed.stderr.text().includes(text), 'the same words on stderr');
  assert.match(ed.stderr.text(), /lsptap: netcheck:\s+transport\s+fail/, 'netcheck\'s layers on stderr');

  assert.deepEqual(await ed.shutdown(), { code: 0, signal: null });
  const s = checkedSession(sessions);
  assertMatchesTraffic(s, 's2c', ed.received);
  assert.equal(eventsNamed(s, 'spawn').length, 1, 'no restart: the network is not the environment');
  assert.equal(eventsNamed(s, 'handshake_failed').length, 0);
  assert.equal(eventsNamed(s, 'load_failed_network').length, 1);
  const ev = eventsNamed(s, 'netcheck');
  assert.equal(ev.length, 1);
  assert.equal(ev[0].target, `127.0.0.1:${port}`);
  assert.equal(ev[0].failed_layer, 'transport');
  assert.equal(ev[0].class, 'refused');
  assert.equal(ev[0].report.verdict.layer, 'transport');
  assert.deepEqual(ev[0].report.layers.map((l) => l.layer), ['link', 'network', 'dns', 'transport', 'tls', 'application']);

  // lsptap stats shows it, in text and JSON.
  const file = findSession(sessions);
  const text2 = execFileSync(lsptapBin(), ['stats', file], { encoding: 'utf8' });
  assert.match(text2, new RegExp(`^network  module proxy \\(GOPROXY\\) 127\\.0\\.0\\.1:${port}: transport failed: `, 'm'), text2);
  const json = JSON.parse(execFileSync(lsptapBin(), ['stats', '--json', file], { encoding: 'utf8' }));
  assert.equal(json.netchecks.length, 1);
  assert.equal(json.netchecks[0].failed_layer, 'transport');
  // The report's event table carries lsptap's sentence and each layer.
  const html = `${tempDir(t, 'lsptap-report-')}/r.html`;
  execFileSync(lsptapBin(), ['report', file, '-o', html]);
  const page = fs.readFileSync(html, 'utf8');
  assert.ok(page.includes(`could not reach the module proxy (GOPROXY) 127.0.0.1:${port}`), 'the report has the event');
});

test('HTTPS_PROXY at a port where nothing listens: the proxy is the target, not the module proxy behind it', { timeout: 120000 }, async (t) => {
  const port = await freePort();
  // go never resolves proxy.golang.org itself here: everything goes to the proxy.
  const { ed, sessions } = await needyEditor(t, 'https://proxy.golang.org', { HTTPS_PROXY: `http://127.0.0.1:${port}` });
  const shown = await until(() => lsptapShows(ed)[0], 60000, `lsptap's showMessage ${describe(ed)}`);
  const text = shown.params.message;
  assert.match(text, new RegExp(`could not reach the HTTP proxy 127\\.0\\.0\\.1:${port} on the way to proxy\\.golang\\.org`), text);
  assert.match(text, /transport layer failed/, text);
  assert.deepEqual(await ed.shutdown(), { code: 0, signal: null });
  const ev = eventsNamed(checkedSession(sessions), 'netcheck');
  assert.equal(ev.length, 1);
  assert.equal(ev[0].target, `127.0.0.1:${port}`);
  assert.equal(ev[0].role, 'HTTP proxy');
  assert.equal(ev[0].proxy, `127.0.0.1:${port}`);
});

test('an HTTP proxy that refuses CONNECT: every layer to it is fine, and its answer is named', { timeout: 120000 }, async (t) => {
  // A proxy that never forwards anything: no packet leaves loopback.
  const proxy = http.createServer((req, res) => {
    res.writeHead(403);
    res.end();
  });
  const connects = [];
  proxy.on('connect', (req, sock) => {
    connects.push(req.url);
    sock.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  t.after(() => proxy.close());
  const { port } = proxy.address();
  const { ed, sessions } = await needyEditor(t, 'https://proxy.golang.org', { HTTPS_PROXY: `http://127.0.0.1:${port}` });
  const shown = await until(() => lsptapShows(ed)[0], 60000, `lsptap's showMessage ${describe(ed)}`);
  const text = shown.params.message;
  assert.equal(shown.params.type, 1);
  assert.match(text, new RegExp(`could not reach proxy\\.golang\\.org:443 through the HTTP proxy 127\\.0\\.0\\.1:${port} \\(go: Forbidden\\)`), text);
  assert.match(text, /answers CONNECT proxy\.golang\.org:443 with "HTTP\/1\.1 403 Forbidden"/, text);
  assert.deepEqual(await ed.shutdown(), { code: 0, signal: null });
  const ev = eventsNamed(checkedSession(sessions), 'netcheck');
  assert.equal(ev.length, 1);
  assert.equal(ev[0].class, 'proxy-status');
  assert.equal(ev[0].failed_layer, 'application');
  assert.deepEqual(ev[0].connect, { to: 'proxy.golang.org', code: 403, status: 'HTTP/1.1 403 Forbidden' });
  assert.ok(connects.filter((u) => u === 'proxy.golang.org:443').length >= 2, `go's CONNECT and lsptap's: ${connects}`);
});

// A loopback HTTP proxy that answers every CONNECT (go's and lsptap's)
// with `reply`, in front of a gopls that must fetch a module: what lsptap
// showed, after the editor shut down, and the session's netcheck events.
async function throughProxyAnswering(t, reply) {
  const proxy = http.createServer((req, res) => {
    res.writeHead(502);
    res.end();
  });
  proxy.on('connect', (req, sock) => {
    sock.on('error', () => {});
    sock.end(reply);
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  t.after(() => proxy.close());
  const { port } = proxy.address();
  const { ed, sessions } = await needyEditor(t, 'https://proxy.golang.org', { HTTPS_PROXY: `http://127.0.0.1:${port}` });
  const shown = await until(() => lsptapShows(ed)[0], 60000, `lsptap's showMessage ${describe(ed)}`);
  assert.deepEqual(await ed.shutdown(), { code: 0, signal: null });
  return { shown, port, ev: eventsNamed(checkedSession(sessions), 'netcheck') };
}

// A 502 is the proxy's own failure to reach the destination, not a refusal:
// the user is told so, not sent to the proxy's allow list.
test('an HTTP proxy that answers CONNECT with 502: the proxy could not reach the destination itself', { timeout: 120000 }, async (t) => {
  const { shown, port, ev } = await throughProxyAnswering(t, 'HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
  const text = shown.params.message;
  assert.equal(shown.params.type, 1);
  assert.match(text, new RegExp(`^lsptap: gopls could not reach proxy\\.golang\\.org:443 through the HTTP proxy 127\\.0\\.0\\.1:${port} \\(go: Bad Gateway\\)\\. netcheck: `), text);
  assert.match(text, /answers CONNECT proxy\.golang\.org:443 with "HTTP\/1\.1 502 Bad Gateway": the proxy could not reach proxy\.golang\.org:443 itself \(its own connection failed\)$/, text);
  assert.doesNotMatch(text, /refuses|allow list/, text);
  assert.equal(ev.length, 1);
  assert.equal(ev[0].failed_layer, 'application');
  assert.deepEqual(ev[0].connect, { to: 'proxy.golang.org', code: 502, status: 'HTTP/1.1 502 Bad Gateway' });
});

// Status 000 is a status line all the same (go reads its three digits,
// wants 200 and reports the reason phrase): lsptap names the answer, and
// does not take code 0 for a CONNECT never tried.
test('an HTTP proxy that answers CONNECT with status 000: its answer is named, not missed', { timeout: 120000 }, async (t) => {
  const { shown, ev } = await throughProxyAnswering(t, 'HTTP/1.1 000 Service Unavailable\r\nContent-Length: 0\r\n\r\n');
  const text = shown.params.message;
  assert.equal(shown.params.type, 1, text);
  assert.match(text, /answers CONNECT proxy\.golang\.org:443 with "HTTP\/1\.1 000 Service Unavailable": not an open tunnel: go wants 200$/, text);
  assert.equal(ev.length, 1);
  assert.equal(ev[0].failed_layer, 'application');
  assert.deepEqual(ev[0].connect, { to: 'proxy.golang.org', code: 0, status: 'HTTP/1.1 000 Service Unavailable' });
});

// The proxy refused go (403) and, asked again by lsptap, takes the
// connection and hangs up without a word: that is no refusal and no status
// line to quote, and it is said as it happened. go's CONNECT carries
// net/http's User-Agent; lsptap's carries none, which tells them apart.
test('an HTTP proxy that closes lsptap\'s CONNECT without a reply: said as such, at the application layer', { timeout: 120000 }, async (t) => {
  const asked = [];
  const server = net.createServer((sock) => {
    sock.on('error', () => {});
    let head = '';
    sock.on('data', (d) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const fromGo = /^user-agent:/im.test(head);
      asked.push(fromGo ? 'go' : 'lsptap');
      if (fromGo) sock.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
      else sock.end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const { port } = server.address();
  const { ed, sessions } = await needyEditor(t, 'https://proxy.golang.org', { HTTPS_PROXY: `http://127.0.0.1:${port}` });
  const shown = await until(() => lsptapShows(ed)[0], 60000, `lsptap's showMessage ${describe(ed)}`);
  const text = shown.params.message;
  assert.equal(shown.params.type, 1);
  assert.match(text, new RegExp(`^lsptap: gopls could not reach proxy\\.golang\\.org:443 through the HTTP proxy 127\\.0\\.0\\.1:${port} \\(go: Forbidden\\)\\. netcheck: `), text);
  assert.match(text, /every layer to the proxy is fine, but it accepted the connection and closed it without answering CONNECT proxy\.golang\.org:443$/, text);
  assert.doesNotMatch(text, /refuses|allow list|answers CONNECT/, text);
  assert.deepEqual(await ed.shutdown(), { code: 0, signal: null });
  const ev = eventsNamed(checkedSession(sessions), 'netcheck');
  assert.equal(ev.length, 1);
  assert.equal(ev[0].failed_layer, 'application');
  assert.equal(ev[0].connect.code, -104, '-ECONNRESET');
  assert.match(ev[0].connect.status, /^the proxy closed the connection without answering/);
  assert.ok(asked.includes('go') && asked.includes('lsptap'), JSON.stringify(asked));
});

test('an HTTP proxy that wants other credentials: lsptap\'s CONNECT carries HTTPS_PROXY\'s as go\'s does, and the 407 says they were refused', { timeout: 120000 }, async (t) => {
  // 407 to every CONNECT, whatever it carries: nothing leaves loopback.
  const proxy = http.createServer((req, res) => {
    res.writeHead(407);
    res.end();
  });
  const auths = [];
  proxy.on('connect', (req, sock) => {
    auths.push(req.headers['proxy-authorization'] ?? null);
    sock.on('error', () => {});
    sock.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="lab"\r\nContent-Length: 0\r\n\r\n');
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  t.after(() => proxy.close());
  const { port } = proxy.address();
  const { ed, sessions } = await needyEditor(t, 'https://proxy.golang.org', { HTTPS_PROXY: `http://alice:wr0ng%40pw@127.0.0.1:${port}` });
  const shown = await until(() => lsptapShows(ed)[0], 60000, `lsptap's showMessage ${describe(ed)}`);
  const text = shown.params.message;
  assert.equal(shown.params.type, 1);
  assert.match(text, /answers CONNECT proxy\.golang\.org:443 with "HTTP\/1\.1 407 Proxy Authentication Required": the proxy refuses the user name and password of HTTPS_PROXY/, text);
  assert.deepEqual(await ed.shutdown(), { code: 0, signal: null });
  const ev = eventsNamed(checkedSession(sessions), 'netcheck');
  assert.equal(ev.length, 1);
  assert.equal(ev[0].connect.code, 407);
  // go's CONNECTs and lsptap's: every one with the same header.
  const want = `Basic ${Buffer.from('alice:wr0ng@pw').toString('base64')}`;
  assert.ok(auths.length >= 2 && auths.every((a) => a === want), JSON.stringify(auths));
  const everything = ed.stderr.text() + JSON.stringify(ed.logs) + fs.readFileSync(findSession(sessions), 'utf8');
  assert.ok(!everything.includes('wr0ng'), 'the password is nowhere');
});

test('LSPTAP_NET_SHOW=off: stderr and the session get the diagnosis, the editor does not', { timeout: 120000 }, async (t) => {
  const port = await freePort();
  const { ed, sessions } = await needyEditor(t, `http://127.0.0.1:${port}`, { LSPTAP_NET_SHOW: 'off' });
  await until(() => /lsptap: gopls could not reach the module proxy/.test(ed.stderr.text()), 60000, `the stderr line ${describe(ed)}`);
  await sleep(500);
  assert.deepEqual(lsptapShows(ed), []);
  assert.deepEqual(await ed.shutdown(), { code: 0, signal: null });
  assert.equal(eventsNamed(checkedSession(sessions), 'netcheck').length, 1);
});

test('GOPROXY answers 404: gopls reports the failure, and no network layer is blamed', { timeout: 120000 }, async (t) => {
  const server = http.createServer((req, res) => {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const { port } = server.address();
  const { ed, sessions } = await needyEditor(t, `http://127.0.0.1:${port}`);
  const failure = await until(() => loadFailures(ed)[0], 60000, `gopls's load failure ${describe(ed)}`);
  assert.match(failure.params.message, /404 Not Found/);
  // The handshake supervision sees a load failure it cannot repair and says
  // so; nothing in what lsptap says blames a network layer.
  const said = await until(() => lsptapShows(ed)[0], 60000, `lsptap's word on the failed load ${describe(ed)}`);
  assert.match(said.params.message, /404 Not Found.*No environment problem lsptap can fix was found/, said.params.message);
  await sleep(2000); // room for a diagnosis, were there one
  assert.equal(lsptapShows(ed).length, 1, describe(ed));
  assert.doesNotMatch(ed.stderr.text(), /could not reach|netcheck|the network/);
  assert.deepEqual(await ed.shutdown(), { code: 0, signal: null });
  assert.deepEqual(eventsNamed(checkedSession(sessions), 'netcheck'), []);
});

test('the diagnosis is ready while gopls is in the middle of a frame: it goes after that frame, never inside it', { timeout: 60000 }, async (t) => {
  const port = await freePort();
  const sessions = `${tempDir(t, 'lsptap-sessions-')}/s`;
  const ws = tempDir(t, 'lsptap-ws-');
  const ed = startEditor(t, standIn(), [], { workspace: ws, env: childEnv({
    LSPTAP_GOPLS: path.join(peersDir, 'gofail-midframe.mjs'), LSPTAP_DIR: sessions,
    // The handshake window over first: the bytes then flow as they come,
    // so half a frame reaches the editor before the rest exists.
    LSPTAP_HANDSHAKE_MS: '200', PEER_DELAY_MS: '1500',
    PEER_PROXY: `127.0.0.1:${port}`, PEER_PAUSE_MS: '3000' }) });
  await ed.initialize();
  ed.notify('initialized', {});
  const shown = await until(() => lsptapShows(ed)[0], 30000, `lsptap's showMessage ${describe(ed)}`);
  assert.match(shown.params.message, new RegExp(`127\\.0\\.0\\.1:${port}.*transport layer failed`));
  // The editor's reader parsed every frame (a split one would have broken
  // it), and lsptap's message came right after the big frame, not before.
  const i = ed.received.indexOf(shown);
  const before = ed.received[i - 1];
  assert.equal(before?.params?.message?.length, 200000, `the frame before lsptap's: ${JSON.stringify(before).slice(0, 200)}`);
  assert.deepEqual(await ed.shutdown(), { code: 0, signal: null });
  const s = checkedSession(sessions);
  assertMatchesTraffic(s, 's2c', ed.received);
  const ev = eventsNamed(s, 'netcheck')[0];
  const bigLine = s.lines.findIndex((l) => l.dir === 's2c' && l.body?.params?.message?.length === 200000);
  assert.ok(ev.t_us <= s.lines[bigLine].t_us, 'the check ended while the big frame was still coming');
});

// The same target reported again (here as an error reply to hover): checked
// again only after LSPTAP_NET_RECHECK_S.
for (const [recheck, want] of [['1', 2], ['600', 1]]) {
  test(`LSPTAP_NET_RECHECK_S=${recheck}: a repeated failure is checked ${want === 1 ? 'once' : 'again'} (error replies count too)`, { timeout: 60000 }, async (t) => {
    const port = await freePort();
    const sessions = `${tempDir(t, 'lsptap-sessions-')}/s`;
    const ws = tempDir(t, 'lsptap-ws-');
    const ed = startEditor(t, standIn(), [], { workspace: ws, env: childEnv({
      LSPTAP_GOPLS: path.join(peersDir, 'gofail-repeat.mjs'), LSPTAP_DIR: sessions,
      LSPTAP_NET_RECHECK_S: recheck, PEER_PROXY: `127.0.0.1:${port}` }) });
    await ed.initialize();
    ed.notify('initialized', {});
    await until(() => lsptapShows(ed).length === 1, 30000, `the first diagnosis ${describe(ed)}`);
    await sleep(2200); // past a 1 s interval
    await assert.rejects(ed.request('textDocument/hover', { textDocument: { uri: ed.uri('main.go') }, position: { line: 0, character: 0 } }),
      /connection refused/);
    if (want === 2) await until(() => lsptapShows(ed).length === 2, 30000, `the second diagnosis ${describe(ed)}`);
    else await sleep(1500); // room for a second one, were there one
    assert.equal(lsptapShows(ed).length, want, describe(ed));
    assert.deepEqual(await ed.shutdown(), { code: 0, signal: null });
    const ev = eventsNamed(checkedSession(sessions), 'netcheck');
    assert.deepEqual(ev.map((e) => e.source), ['window/logMessage', 'error reply'].slice(0, want));
  });
}
