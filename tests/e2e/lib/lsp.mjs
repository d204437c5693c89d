// An editor built from VS Code's own client libraries: it starts a server
// command, speaks LSP over its stdio, answers the server's requests the way
// VS Code does, and counts every message each way so a test can hold the
// session file against what really crossed the pipe.
import path from 'node:path';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import {
  createProtocolConnection,
  ExitNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-languageserver-protocol/node';
import { collect, spawnTracked, withTimeout } from './env.mjs';

// Starts `cmd args` in `cwd` (default: `workspace`, the folder the editor
// opens) and connects to it. Returns the editor:
// { child, conn, stderr, sent, received, logs, rootUri, uri(rel), request,
//   notify, initialize, hoverWhenLoaded, hangUp, shutdown }.
// `sent`/`received` list every message object written/read, in order.
export function startEditor(t, cmd, args, { workspace, env, cwd = workspace }) {
  const child = spawnTracked(t, cmd, args, { cwd, env });
  const stderr = collect(child.stderr);
  const sent = [];
  const received = [];

  const reader = new StreamMessageReader(child.stdout);
  const listen = reader.listen.bind(reader);
  reader.listen = (cb) =>
    listen((msg) => {
      received.push(msg);
      cb(msg);
    });
  // The writer writes through a pipe end of our own: after the editor hung
  // up, replies to late server requests go nowhere instead of hitting a
  // closed stdin (vscode-jsonrpc would reject that write, unhandled). A
  // failed write (server gone) shows up as the request failing, via gone().
  let hungUp = false;
  const toServer = new Writable({
    write(chunk, _enc, cb) {
      if (hungUp || child.stdin.destroyed) return cb();
      child.stdin.write(chunk, () => cb());
    },
  });
  const writer = new StreamMessageWriter(toServer);
  const write = writer.write.bind(writer);
  writer.write = (msg) => {
    if (hungUp) return Promise.resolve();
    sent.push(msg);
    return write(msg);
  };
  // A server that dies makes stdin writes fail with EPIPE; the test sees
  // that through the rejected request, not as an uncaught error.
  child.stdin.on('error', () => {});

  const conn = createProtocolConnection(reader, writer);
  const logs = [];
  let onActivity = () => {};

  // What VS Code answers: the settings it has (none here), yes to progress
  // tokens and dynamic registrations.
  conn.onRequest('workspace/configuration', (params) => params.items.map(() => ({})));
  conn.onRequest('window/workDoneProgress/create', () => null);
  conn.onRequest('client/registerCapability', () => null);
  conn.onRequest('client/unregisterCapability', () => null);
  conn.onRequest('window/showMessageRequest', () => null);
  conn.onNotification('window/logMessage', (p) => {
    logs.push(p);
    onActivity();
  });
  conn.onNotification('window/showMessage', (p) => {
    logs.push(p);
    onActivity();
  });
  conn.onNotification('$/progress', () => onActivity());
  conn.onNotification('textDocument/publishDiagnostics', () => onActivity());
  conn.onError(() => {});
  conn.listen();

  const gone = (method) =>
    child.exited.then(
      (st) => {
        throw new Error(`${cmd} exited (${JSON.stringify(st)}) before answering ${method}; stderr:\n${stderr.text()}`);
      },
      (e) => {
        throw new Error(`cannot start ${cmd}: ${e.message}`);
      },
    );

  const rootUri = pathToFileURL(workspace).href;
  const editor = {
    child,
    conn,
    stderr,
    sent,
    received,
    logs,
    rootUri,
    uri: (rel) => pathToFileURL(path.join(workspace, rel)).href,
    // A request that the server never answers because it is gone (or never
    // started) fails with the reason and the server's stderr, not a timeout.
    request: (method, params, ms = 20000) =>
      withTimeout(Promise.race([conn.sendRequest(method, params), gone(method)]), ms, `${method} request`),
    notify: (method, params) => conn.sendNotification(method, params),

    initialize: (ms = 20000) =>
      editor.request(
        'initialize',
        {
          processId: process.pid,
          clientInfo: { name: 'lsptap-e2e', version: '1' },
          locale: 'en',
          rootPath: workspace,
          rootUri,
          workspaceFolders: [{ uri: rootUri, name: path.basename(workspace) }],
          capabilities: {
            workspace: {
              configuration: true,
              workspaceFolders: true,
              didChangeConfiguration: { dynamicRegistration: true },
            },
            textDocument: {
              synchronization: { dynamicRegistration: true, didSave: true },
              hover: { contentFormat: ['markdown', 'plaintext'] },
              definition: { linkSupport: false },
              completion: { completionItem: { snippetSupport: false, documentationFormat: ['markdown', 'plaintext'] } },
              documentSymbol: { hierarchicalDocumentSymbolSupport: true },
              publishDiagnostics: { relatedInformation: true },
            },
            window: { workDoneProgress: true, showMessage: {} },
          },
          initializationOptions: {},
          trace: 'off',
        },
        ms,
      ),

    // gopls reports its first workspace load with a logMessage/progress and
    // then diagnostics; none of those is guaranteed across versions, so the
    // robust signal is the one a user sees: hover on a symbol from another
    // package returns something. Polls until it does, bounded.
    async hoverWhenLoaded(params, ms = 30000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const res = await editor.request('textDocument/hover', params);
        if (res) return res;
        if (Date.now() > deadline) throw new Error(`hover stayed null for ${ms} ms: workspace never loaded`);
        await new Promise((r) => {
          onActivity = r;
          setTimeout(r, 200);
        });
      }
    },

    // The editor goes away without shutdown: closes the server's stdin.
    hangUp() {
      hungUp = true;
      child.stdin.end();
    },

    async shutdown(ms = 15000) {
      // The typed forms send no "params" at all, as VS Code does.
      await withTimeout(Promise.race([conn.sendRequest(ShutdownRequest.type), gone('shutdown')]), ms, 'shutdown request');
      conn.sendNotification(ExitNotification.type);
      const st = await withTimeout(child.exited, ms, 'server exit after exit notification');
      conn.dispose();
      return st;
    },
  };
  return editor;
}

// Every file: URI and absolute path of `root` in `value` replaced by a
// placeholder, so results from two private workspace copies compare equal.
export function normalizeRoot(value, root) {
  const uri = pathToFileURL(root).href;
  const s = JSON.stringify(value);
  return JSON.parse(s.split(uri).join('file:///WORKSPACE').split(root).join('/WORKSPACE'));
}
