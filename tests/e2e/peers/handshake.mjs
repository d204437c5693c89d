#!/usr/bin/env node
// A scripted gopls whose handshake fails in a chosen way, for the repair
// tests. It fails only when it "should": PEER_FAIL=always, or (the default
// PEER_FAIL=goflags) when GOFLAGS is set in its environment, as a real gopls
// does with GOFLAGS=-mod=bogus; once lsptap has removed GOFLAGS it works.
//
// PEER_MODE, how a failing start fails:
//   load-failure  answers initialize, and after `initialized` sends gopls's
//                 window/showMessage type 1 "Error loading workspace folders
//                 ... failed to load view ..." (PEER_LOAD_MS later, default 0)
//   exit          answers initialize, then exits with status 1
//   init-error    answers initialize with a JSON-RPC error
//   silent        never answers initialize
//   slow          answers initialize after PEER_DELAY_MS (default 2000)
//   request       like load-failure, but first sends the editor a
//                 workspace/configuration request with id 1
//   request-dup   like request; a working start then sends
//                 workspace/configuration with id 7 twice (1 and 2 items),
//                 in one write, so both reach lsptap before any reply
// A working start answers initialize with serverInfo "fake-gopls"; in mode
// request it then sends workspace/configuration with id 1 and with id
// "cfg-a". Other requests get {"echo": method, "pid": pid}; shutdown gets
// null; exit (or stdin EOF) ends it with status 0.
//
// PEER_LOG: a file each start appends JSON lines to: {"pid", "start": true,
// "goflags", "fails"} first, then {"pid", "msg"} for every message received.
// PEER_RAW: each start appends every byte it reads on stdin, as read, to
// the file PEER_RAW.PID.
import fs from 'node:fs';

const mode = process.env.PEER_MODE || 'load-failure';
const failWhen = process.env.PEER_FAIL || 'goflags';
const fails = failWhen === 'always' || (failWhen === 'goflags' && 'GOFLAGS' in process.env);
const log = (o) => {
  if (process.env.PEER_LOG) fs.appendFileSync(process.env.PEER_LOG, JSON.stringify({ pid: process.pid, ...o }) + '\n');
};
log({ start: true, goflags: process.env.GOFLAGS ?? null, fails });

function frame(msg) {
  const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...msg }));
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]);
}

function send(msg) {
  process.stdout.write(frame(msg));
}

const loadFailure = () =>
  send({
    method: 'window/showMessage',
    params: {
      type: 1,
      message: `Error loading workspace folders (expected 1, got 0)\nfailed to load view for file://${process.cwd()}: err: exit status 1: stderr: fake: the workspace cannot be loaded\n`,
    },
  });

function handle(msg) {
  log({ msg });
  if (msg.method === 'initialize' && 'id' in msg) {
    if (fails && mode === 'silent') return;
    if (fails && mode === 'slow') {
      setTimeout(() => send({ id: msg.id, result: { capabilities: {}, serverInfo: { name: 'fake-gopls', version: 'late' } } }), Number(process.env.PEER_DELAY_MS || 2000));
      return;
    }
    if (fails && mode === 'init-error') {
      send({ id: msg.id, error: { code: -32603, message: 'fake-gopls: go: cannot load the workspace' } });
      return;
    }
    send({ id: msg.id, result: { capabilities: { hoverProvider: true, textDocumentSync: 1 }, serverInfo: { name: 'fake-gopls', version: String(process.pid) } } });
    if (fails && mode === 'exit') process.stdout.end(() => process.exit(1));
    return;
  }
  if (msg.method === 'initialized') {
    if (mode === 'request') {
      if (fails) {
        send({ id: 1, method: 'workspace/configuration', params: { items: [{ section: 'gopls' }, { section: 'go' }] } });
      } else {
        send({ id: 1, method: 'workspace/configuration', params: { items: [{ section: 'gopls' }] } });
        send({ id: 'cfg-a', method: 'workspace/configuration', params: { items: [{ section: 'a' }, { section: 'b' }, { section: 'c' }] } });
      }
    }
    if (mode === 'request-dup') {
      if (fails) {
        send({ id: 1, method: 'workspace/configuration', params: { items: [{ section: 'gopls' }, { section: 'go' }] } });
      } else {
        process.stdout.write(Buffer.concat([
          frame({ id: 7, method: 'workspace/configuration', params: { items: [{ section: 'a' }] } }),
          frame({ id: 7, method: 'workspace/configuration', params: { items: [{ section: 'a' }, { section: 'b' }] } }),
        ]));
      }
    }
    if (fails && (mode === 'load-failure' || mode === 'request' || mode === 'request-dup')) setTimeout(loadFailure, Number(process.env.PEER_LOAD_MS || 0));
    return;
  }
  if (msg.method === 'exit') process.exit(0);
  if (!('id' in msg) || !msg.method) return;
  if (msg.method === 'shutdown') send({ id: msg.id, result: null });
  else send({ id: msg.id, result: { echo: msg.method, pid: process.pid } });
}

let buf = Buffer.alloc(0);
process.stdin.on('data', (chunk) => {
  if (process.env.PEER_RAW) fs.appendFileSync(`${process.env.PEER_RAW}.${process.pid}`, chunk);
  buf = Buffer.concat([buf, chunk]);
  for (;;) {
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const m = /content-length: *(\d+)/i.exec(buf.subarray(0, end).toString('latin1'));
    const len = Number(m[1]);
    if (buf.length < end + 4 + len) return;
    handle(JSON.parse(buf.subarray(end + 4, end + 4 + len).toString('utf8')));
    buf = buf.subarray(end + 4 + len);
  }
});
process.stdin.on('end', () => process.exit(0));
