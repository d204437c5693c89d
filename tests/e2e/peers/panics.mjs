#!/usr/bin/env node
// An LSP server that crashes like a Go program on every start, after the
// handshake: it answers `initialize`, and at the first
// `textDocument/hover` prints a Go-style panic with its goroutine stack on
// stderr and exits with status 2 (what a Go panic exits with). Each crash
// appends a line to PEER_LOG when set.
import fs from 'node:fs';
import { send, serve, STOP } from './lsp-peer.mjs';

serve((msg) => {
  if (msg.method === 'initialize') {
    send({ jsonrpc: '2.0', id: msg.id, result: { capabilities: { hoverProvider: true }, serverInfo: { name: 'panics' } } });
  } else if (msg.method === 'textDocument/hover') {
    if (process.env.PEER_LOG) fs.appendFileSync(process.env.PEER_LOG, `crash ${process.pid}\n`);
    process.stderr.write('2026/12/06 15:00:00 some ordinary log line\n');
    process.stderr.write('panic: runtime error: invalid memory address or nil pointer dereference\n');
    process.stderr.write('[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x5c1a2b]\n\n');
    process.stderr.write('goroutine 1 [running]:\n');
    process.stderr.write('golang.org/x/tools/gopls/internal/golang.Hover(0x0)\n');
    process.stderr.write('\t/go/src/golang.org/x/tools/gopls/internal/golang/hover.go:42 +0x1b\n');
    process.stderr.write('main.main()\n\t/go/src/golang.org/x/tools/gopls/main.go:30 +0x25\n', () => process.exit(2));
    return STOP;
  } else if (msg.method === 'shutdown') {
    send({ jsonrpc: '2.0', id: msg.id, result: null });
  } else if (msg.method === 'exit') {
    process.exit(0);
  }
});
