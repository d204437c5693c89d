// lsptap doctor --net: netcheck on every GOPROXY entry, GOSUMDB's host and
// the environment's HTTP proxies, with a hint naming the entry that works.
// Loopback only (the netns lab runs it across a router).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import { childEnv, collect, copyExample, freePort, lsptapBin, tempDir } from './lib/env.mjs';

const GO_VARS = ['GOFLAGS', 'GOROOT', 'GOPROXY', 'GOSUMDB', 'GO111MODULE', 'GOWORK', 'GOENV', 'GOPATH',
  'GOMODCACHE', 'GOCACHE', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];

// Runs doctor without blocking the loop (the 404 server answers from it).
async function doctor(t, extra, args) {
  const env = childEnv({ LSPTAP_DIR: tempDir(t, 'lsptap-sessions-'), ...extra });
  for (const k of GO_VARS) if (!(k in extra)) delete env[k];
  const ws = copyExample(t);
  const child = spawn(lsptapBin(), ['doctor', '--net', ...args, ws], { env });
  const out = collect(child.stdout);
  const err = collect(child.stderr);
  const code = await new Promise((r) => child.on('close', r));
  return { code, stdout: out.text(), stderr: err.text() };
}

async function notFoundServer(t) {
  const server = http.createServer((req, res) => {
    res.writeHead(404);
    res.end('not found\n');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  return server.address().port;
}

test('doctor --net --json: the refusing proxy fails at transport, the answering one works, and the hint says so', { timeout: 120000 }, async (t) => {
  const dead = await freePort();
  const live = await notFoundServer(t);
  const r = await doctor(t, { GOPROXY: `http://127.0.0.1:${dead},http://127.0.0.1:${live}|direct`, GOSUMDB: 'off',
    HTTPS_PROXY: `http://user:s3cret@127.0.0.1:${dead}` }, ['--json']);
  assert.equal(r.code, 1, `a check failed: exit 1\n${r.stderr}`);
  const net = JSON.parse(r.stdout).net;
  const byTarget = Object.fromEntries(net.checks.map((c) => [`${c.variable} ${c.target}`, c]));
  const deadCheck = byTarget[`GOPROXY 127.0.0.1:${dead}`];
  assert.equal(deadCheck.ok, false);
  assert.equal(deadCheck.failed_layer, 'transport');
  assert.equal(deadCheck.netcheck.verdict.layer, 'transport');
  assert.equal(byTarget[`GOPROXY 127.0.0.1:${live}`].ok, true, 'a 404 is an answer: every layer is fine');
  assert.equal(byTarget[`HTTPS_PROXY 127.0.0.1:${dead}`].role, 'HTTP proxy');
  assert.equal(net.checks.filter((c) => c.variable === 'GOSUMDB').length, 0, 'GOSUMDB=off is not checked');
  assert.ok(net.hints.some((h) => h.startsWith(`module proxy http://127.0.0.1:${dead} unreachable from this network`) &&
    h.endsWith(`http://127.0.0.1:${live} works`)), JSON.stringify(net.hints));
  assert.ok(net.hints.some((h) => h.startsWith(`the HTTP proxy 127.0.0.1:${dead} (HTTPS_PROXY) is unreachable`)), JSON.stringify(net.hints));
  assert.ok(!r.stdout.includes('s3cret'), 'the proxy password is redacted');
});

test('doctor --net text: a network section, one line a target, and the hints', { timeout: 120000 }, async (t) => {
  const dead = await freePort();
  const r = await doctor(t, { GOPROXY: `http://127.0.0.1:${dead}`, GOSUMDB: `sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8 http://127.0.0.1:${dead}/sumdb` }, []);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^network \(what go connects to when gopls loads a workspace\)$/m, r.stdout);
  assert.match(r.stdout, new RegExp(`^  module proxy \\(GOPROXY\\)\\s+127\\.0\\.0\\.1:${dead}\\s+transport failed: `, 'm'), r.stdout);
  assert.match(r.stdout, new RegExp(`^  checksum database \\(GOSUMDB\\)\\s+127\\.0\\.0\\.1:${dead}\\s+transport failed: `, 'm'), r.stdout);
  assert.match(r.stdout, /hint: module proxy .* unreachable from this network: .*no configured module proxy works here/, r.stdout);
});

test('doctor --net behind an HTTP proxy: the target is not dialled, the CONNECT through the proxy is', { timeout: 120000 }, async (t) => {
  // Answers every CONNECT with 403: nothing leaves loopback, and
  // proxy.golang.org is never resolved (go would not resolve it either).
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
  const r = await doctor(t, { GOPROXY: 'https://proxy.golang.org,direct', GOSUMDB: 'off', HTTPS_PROXY: `http://127.0.0.1:${port}` }, ['--json']);
  assert.equal(r.code, 1, r.stderr);
  const net = JSON.parse(r.stdout).net;
  const mp = net.checks.find((c) => c.variable === 'GOPROXY');
  assert.equal(mp.target, 'proxy.golang.org:443');
  assert.equal(mp.through_proxy, `127.0.0.1:${port}`);
  assert.equal(mp.netcheck, null, 'not dialled directly');
  assert.deepEqual(mp.connect, { code: 403, status: 'HTTP/1.1 403 Forbidden' });
  assert.equal(mp.failed_layer, 'application');
  assert.equal(net.checks.find((c) => c.variable === 'HTTPS_PROXY').ok, true);
  assert.deepEqual(connects, ['proxy.golang.org:443']);
  assert.ok(net.hints.some((h) => h.includes('answers CONNECT with "HTTP/1.1 403 Forbidden"')), JSON.stringify(net.hints));
});

// Something that is no HTTP proxy where HTTPS_PROXY points (an SSH server,
// say): it answers the CONNECT, so the connection works and the failure is
// in what came back, the application layer, not transport.
test('doctor --net: a CONNECT answered with something that is not HTTP fails at the application layer', { timeout: 120000 }, async (t) => {
  const connects = [];
  const server = net.createServer((sock) => {
    sock.on('error', () => {});
    sock.once('data', (d) => {
      connects.push(d.toString('latin1').split('\r\n')[0]);
      sock.end('SSH-2.0-OpenSSH_9.6\r\n');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const { port } = server.address();
  const r = await doctor(t, { GOPROXY: 'https://proxy.golang.org', GOSUMDB: 'off', HTTPS_PROXY: `http://127.0.0.1:${port}` }, ['--json']);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(connects, ['CONNECT proxy.golang.org:443 HTTP/1.1'], 'the proxy was asked');
  const mp = JSON.parse(r.stdout).net.checks.find((c) => c.variable === 'GOPROXY');
  assert.equal(mp.ok, false);
  assert.deepEqual(mp.connect, { code: -71, status: 'SSH-2.0-OpenSSH_9.6' }, '-EPROTO, the line quoted');
  assert.equal(mp.failed_layer, 'application', JSON.stringify(mp));
  assert.equal(mp.verdict, `the HTTP proxy 127.0.0.1:${port} answers CONNECT with something that is not HTTP ("SSH-2.0-OpenSSH_9.6"): check that HTTPS_PROXY names an HTTP proxy`);
});

// A proxy that takes the connection and then hangs up without a word, or
// stays silent: it was reached, so, as netcheck counts "closes the
// connection at once" and "silent", the failure is the application layer's,
// and the verdict says what happened instead of quoting a status line.
async function mute(t, how) {
  const asked = [];
  const socks = new Set();
  const server = net.createServer((sock) => {
    socks.add(sock);
    sock.on('error', () => {});
    if (how === 'at-once') {
      sock.destroy();
      return;
    }
    sock.once('data', (d) => {
      asked.push(d.toString('latin1').split('\r\n')[0]);
      if (how === 'close') sock.end();
      else if (how === 'reset') sock.resetAndDestroy();
      // 'silent': keep it open, say nothing
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    for (const s of socks) s.destroy();
    server.close();
  });
  return { port: server.address().port, asked };
}

for (const how of ['close', 'reset', 'at-once']) {
  test(`doctor --net: a proxy that accepts the connection and closes it without answering CONNECT (${how}) fails at the application layer`, { timeout: 120000 }, async (t) => {
    const { port, asked } = await mute(t, how);
    const r = await doctor(t, { GOPROXY: 'https://proxy.golang.org', GOSUMDB: 'off', HTTPS_PROXY: `http://127.0.0.1:${port}` }, ['--json']);
    assert.equal(r.code, 1, r.stderr);
    if (how !== 'at-once') assert.deepEqual(asked, ['CONNECT proxy.golang.org:443 HTTP/1.1'], 'the proxy was asked');
    const mp = JSON.parse(r.stdout).net.checks.find((c) => c.variable === 'GOPROXY');
    assert.equal(mp.ok, false);
    assert.equal(mp.failed_layer, 'application', JSON.stringify(mp));
    assert.equal(mp.verdict, `the HTTP proxy 127.0.0.1:${port} accepted the connection and closed it without answering CONNECT`);
    if (how !== 'at-once') {
      assert.equal(mp.connect.code, -104, '-ECONNRESET');
      assert.match(mp.connect.status, /^the proxy closed the connection without answering/);
    }
  });
}

test('doctor --net: a proxy that accepts the connection and never answers CONNECT fails at the application layer', { timeout: 120000 }, async (t) => {
  const { port, asked } = await mute(t, 'silent');
  const r = await doctor(t, { GOPROXY: 'https://proxy.golang.org', GOSUMDB: 'off', HTTPS_PROXY: `http://127.0.0.1:${port}` }, ['--json']);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(asked, ['CONNECT proxy.golang.org:443 HTTP/1.1']);
  const mp = JSON.parse(r.stdout).net.checks.find((c) => c.variable === 'GOPROXY');
  assert.equal(mp.failed_layer, 'application', JSON.stringify(mp));
  assert.equal(mp.connect.code, -110, '-ETIMEDOUT');
  assert.equal(mp.verdict, `the HTTP proxy 127.0.0.1:${port} accepted the connection but did not answer CONNECT within 3.0 s`);
});

// A 502 is the proxy's failure to reach the destination, said in the words
// netwatch uses.
test('doctor --net: a 502 to CONNECT says the proxy could not reach the destination itself', { timeout: 120000 }, async (t) => {
  const proxy = http.createServer((req, res) => {
    res.writeHead(502);
    res.end();
  });
  proxy.on('connect', (req, sock) => {
    sock.on('error', () => {});
    sock.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  t.after(() => proxy.close());
  const { port } = proxy.address();
  const r = await doctor(t, { GOPROXY: 'https://proxy.golang.org', GOSUMDB: 'off', HTTPS_PROXY: `http://127.0.0.1:${port}` }, ['--json']);
  assert.equal(r.code, 1, r.stderr);
  const mp = JSON.parse(r.stdout).net.checks.find((c) => c.variable === 'GOPROXY');
  assert.equal(mp.failed_layer, 'application');
  assert.equal(mp.verdict, `the HTTP proxy 127.0.0.1:${port} answers CONNECT with "HTTP/1.1 502 Bad Gateway": the proxy could not reach the destination itself (its own connection failed)`);
});

// A loopback stand-in for a proxy that wants credentials: 200 to a CONNECT
// with `Proxy-Authorization: Basic base64(alice:s3cr@t)`, 407 to any other.
async function authProxy(t) {
  const seen = [];
  const proxy = http.createServer((req, res) => {
    res.writeHead(405);
    res.end();
  });
  proxy.on('connect', (req, sock) => {
    const auth = req.headers['proxy-authorization'] ?? null;
    seen.push({ url: req.url, auth });
    sock.on('error', () => {});
    if (auth === `Basic ${Buffer.from('alice:s3cr@t').toString('base64')}`)
      sock.end('HTTP/1.1 200 Connection established\r\n\r\n');
    else
      sock.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="lab"\r\nContent-Length: 0\r\n\r\n');
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  t.after(() => proxy.close());
  return { port: proxy.address().port, seen };
}

const B64_SECRET = Buffer.from('alice:s3cr@t').toString('base64');
const WRONG_B64 = Buffer.from('alice:wr0ngpw').toString('base64');

test('doctor --net behind a proxy that wants credentials: the CONNECT carries HTTPS_PROXY\'s, decoded, and nothing prints them', { timeout: 120000 }, async (t) => {
  const { port, seen } = await authProxy(t);
  const r = await doctor(t, { GOPROXY: 'https://proxy.golang.org,direct', GOSUMDB: 'off',
    HTTPS_PROXY: `http://alice:s3cr%40t@127.0.0.1:${port}` }, ['--json']);
  assert.equal(r.code, 0, `every check passes\n${r.stdout}\n${r.stderr}`);
  assert.deepEqual(seen, [{ url: 'proxy.golang.org:443', auth: `Basic ${B64_SECRET}` }]);
  const mp = JSON.parse(r.stdout).net.checks.find((c) => c.variable === 'GOPROXY');
  assert.deepEqual(mp.connect, { code: 200, status: 'HTTP/1.1 200 Connection established' });
  assert.equal(mp.proxy_credentials, true);
  assert.equal(mp.ok, true);
  for (const secret of ['s3cr', B64_SECRET]) assert.ok(!(r.stdout + r.stderr).includes(secret), `${secret} printed`);
});

test('doctor --net: a 407 says whether HTTPS_PROXY\'s credentials were refused or missing', { timeout: 120000 }, async (t) => {
  const { port, seen } = await authProxy(t);
  const wrong = await doctor(t, { GOPROXY: 'https://proxy.golang.org', GOSUMDB: 'off',
    HTTPS_PROXY: `http://alice:wr0ngpw@127.0.0.1:${port}` }, []);
  assert.equal(wrong.code, 1, wrong.stderr);
  assert.equal(seen[0].auth, `Basic ${WRONG_B64}`);
  assert.match(wrong.stdout, new RegExp(`the HTTP proxy 127\\.0\\.0\\.1:${port} refuses the user name and password of HTTPS_PROXY \\("HTTP/1\\.1 407 Proxy Authentication Required"\\)`), wrong.stdout);
  for (const secret of ['wr0ngpw', WRONG_B64]) assert.ok(!(wrong.stdout + wrong.stderr).includes(secret), `${secret} printed`);

  const none = await doctor(t, { GOPROXY: 'https://proxy.golang.org', GOSUMDB: 'off', HTTPS_PROXY: `http://127.0.0.1:${port}` }, ['--json']);
  assert.equal(none.code, 1, none.stderr);
  assert.equal(seen[1].auth, null, 'no credentials, no header');
  const mp = JSON.parse(none.stdout).net.checks.find((c) => c.variable === 'GOPROXY');
  assert.equal(mp.connect.code, 407);
  assert.equal(mp.proxy_credentials, false);
  assert.equal(mp.failed_layer, 'application');
  assert.match(mp.verdict, new RegExp(`wants a user name and password .*HTTPS_PROXY has none: put USER:PASSWORD and an @ before the host in its URL`), mp.verdict);
});

// go's net/http takes the proxy from HTTPS_PROXY, else https_proxy
// (httpproxy.FromEnvironment): the 407 message names the one set, so that the
// user finds the setting they made.
test('doctor --net: a 407 names the proxy variable actually set (https_proxy in lower case)', { timeout: 120000 }, async (t) => {
  const { port, seen } = await authProxy(t);
  const lower = await doctor(t, { GOPROXY: 'https://proxy.golang.org', GOSUMDB: 'off',
    https_proxy: `http://alice:wr0ngpw@127.0.0.1:${port}` }, ['--json']);
  assert.equal(lower.code, 1, lower.stderr);
  assert.equal(seen.length, 1, 'the CONNECT went through https_proxy\'s proxy');
  const mp = JSON.parse(lower.stdout).net.checks.find((c) => c.variable === 'GOPROXY');
  assert.match(mp.verdict, /refuses the user name and password of https_proxy \(/, mp.verdict);
  assert.ok(!mp.verdict.includes('HTTPS_PROXY'), mp.verdict);
  assert.equal(mp.proxy_variable, 'https_proxy');
  for (const secret of ['wr0ngpw', WRONG_B64]) assert.ok(!(lower.stdout + lower.stderr).includes(secret), `${secret} printed`);

  // Upper case wins when both are set, as in go: the lower-case one is not used.
  const both = await doctor(t, { GOPROXY: 'https://proxy.golang.org', GOSUMDB: 'off',
    HTTPS_PROXY: `http://127.0.0.1:${port}`, https_proxy: `http://alice:wr0ngpw@127.0.0.1:${port}` }, ['--json']);
  assert.equal(both.code, 1, both.stderr);
  assert.equal(seen[1].auth, null, 'HTTPS_PROXY\'s URL, without credentials');
  const bp = JSON.parse(both.stdout).net.checks.find((c) => c.variable === 'GOPROXY');
  assert.equal(bp.proxy_variable, 'HTTPS_PROXY');
  assert.match(bp.verdict, /wants a user name and password .*, and HTTPS_PROXY has none/, bp.verdict);
});
