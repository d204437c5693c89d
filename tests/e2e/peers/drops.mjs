#!/usr/bin/env node
// An LSP server that drops every connection: it answers `initialize` (any
// id, as a new server would), answers nothing else, and exits 300 ms later.
// Behind `relay --listen -- node drops.mjs` every connection is dropped
// shortly after its handshake: the keep-alive crash-loop test's target.
import { send, serve } from './lsp-peer.mjs';
serve((msg) => {
  if (msg.method === 'initialize') {
    send({ jsonrpc: '2.0', id: msg.id, result: { capabilities: {}, serverInfo: { name: 'drops' } } });
    setTimeout(() => process.exit(0), 300);
  }
});
