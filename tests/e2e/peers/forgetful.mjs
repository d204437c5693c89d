#!/usr/bin/env node
// An LSP server that dies with requests in flight, once: it answers
// `initialize`; the first time a `textDocument/hover` arrives (PEER_MARK
// does not exist yet) it creates PEER_MARK and exits without answering
// anything more, so that hover and any `workspace/executeCommand` sent
// before it are in flight at the drop. Later instances answer a hover with
// {"contents": "answered by a new server"} and executeCommand with null.
import fs from 'node:fs';
import { send, serve } from './lsp-peer.mjs';

const mark = process.env.PEER_MARK;
serve((msg) => {
  if (msg.method === 'initialize') {
    send({ jsonrpc: '2.0', id: msg.id, result: { capabilities: { hoverProvider: true }, serverInfo: { name: 'forgetful' } } });
  } else if (msg.method === 'textDocument/hover') {
    if (!fs.existsSync(mark)) {
      fs.writeFileSync(mark, 'dropped\n');
      process.exit(0);
    }
    send({ jsonrpc: '2.0', id: msg.id, result: { contents: 'answered by a new server' } });
  } else if (msg.method === 'workspace/executeCommand') {
    // Answered only after a hover proved the server alive: the first
    // instance never answers it.
    if (fs.existsSync(mark)) send({ jsonrpc: '2.0', id: msg.id, result: null });
  } else if (msg.method === 'shutdown') {
    send({ jsonrpc: '2.0', id: msg.id, result: null });
  } else if (msg.method === 'exit') {
    process.exit(0);
  }
});
