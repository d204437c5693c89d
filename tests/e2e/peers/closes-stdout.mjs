#!/usr/bin/env node
// An LSP server that closes its stdout and keeps running, once: it answers
// `initialize`; the first time a `textDocument/hover` arrives (PEER_MARK
// does not exist yet) it creates PEER_MARK, writes its pid there, closes
// its stdout and then sleeps (it never exits by itself). Later instances
// answer a hover with {"contents": "answered by a new server"}.
import fs from 'node:fs';
import { send, serve, STOP } from './lsp-peer.mjs';

const mark = process.env.PEER_MARK;
serve((msg) => {
  if (msg.method === 'initialize') {
    send({ jsonrpc: '2.0', id: msg.id, result: { capabilities: { hoverProvider: true }, serverInfo: { name: 'closes-stdout' } } });
  } else if (msg.method === 'textDocument/hover') {
    if (!fs.existsSync(mark)) {
      fs.writeFileSync(mark, `${process.pid}\n`);
      fs.closeSync(1);
      setInterval(() => {}, 1000);
      return STOP;
    }
    send({ jsonrpc: '2.0', id: msg.id, result: { contents: 'answered by a new server' } });
  } else if (msg.method === 'shutdown') {
    send({ jsonrpc: '2.0', id: msg.id, result: null });
  } else if (msg.method === 'exit') {
    process.exit(0);
  }
});
