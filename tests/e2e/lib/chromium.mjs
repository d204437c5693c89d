// Headless Chromium driven over the DevTools protocol (--remote-debugging-pipe:
// requests go to its fd 3, NUL-terminated JSON; replies and events come back
// on its fd 4), for the report page tests: console errors, evaluation,
// screenshots. No client library: the protocol is a few JSON messages.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawnTracked, withTimeout } from './env.mjs';

// The browser binary: CHROMIUM, else `chromium` (Debian) or `chromium-browser`
// on PATH; null when there is none (tests then skip, saying so).
export function findChromium() {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return null;
}

export const noChromium = () => (findChromium() ? false : 'chromium not found (apt-get install chromium, or set CHROMIUM)');

// Starts a browser for one test. Returns { open(file) -> page, close() }.
export async function launch(t, { width = 1400, height = 1000 } = {}) {
  const bin = findChromium();
  // The profile is removed by close(), once the browser has exited: a
  // tempDir hook could run first and race the browser still writing to it.
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'lsptap-chromium-'));
  const child = spawnTracked(t, bin, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-extensions', '--disable-dev-shm-usage', '--mute-audio',
    `--user-data-dir=${profile}`, '--remote-debugging-pipe', `--window-size=${width},${height}`, 'about:blank',
  ], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  const stderr = [];
  child.stderr.on('data', (c) => stderr.push(c));
  const toBrowser = child.stdio[3];
  const fromBrowser = child.stdio[4];
  // The pipes break when the browser exits (closing, or the test's kill): not an error of the test.
  for (const s of [toBrowser, fromBrowser]) s.on('error', () => {});
  let nextId = 1;
  const waiting = new Map();
  const listeners = [];
  let buf = Buffer.alloc(0);
  fromBrowser.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    let z;
    while ((z = buf.indexOf(0)) >= 0) {
      const msg = JSON.parse(buf.subarray(0, z).toString('utf8'));
      buf = buf.subarray(z + 1);
      if (msg.id && waiting.has(msg.id)) {
        const { resolve, reject, method } = waiting.get(msg.id);
        waiting.delete(msg.id);
        if (msg.error) reject(new Error(`${method}: ${msg.error.message}`));
        else resolve(msg.result);
      } else if (msg.method) {
        for (const l of listeners) l(msg);
      }
    }
  });
  const send = (method, params = {}, sessionId) => {
    const id = nextId++;
    const p = new Promise((resolve, reject) => waiting.set(id, { resolve, reject, method }));
    toBrowser.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
    return withTimeout(p, 120000, `chromium ${method}; stderr:\n${Buffer.concat(stderr).toString().slice(-2000)}`);
  };

  async function open(file) {
    const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
    const s = (method, params) => send(method, params, sessionId);
    const errors = [];
    const console = [];
    let loaded;
    const loadedP = new Promise((r) => (loaded = r));
    listeners.push((msg) => {
      if (msg.sessionId !== sessionId) return;
      if (msg.method === 'Runtime.exceptionThrown') {
        const d = msg.params.exceptionDetails;
        errors.push(`exception: ${d.exception ? d.exception.description : d.text} (${d.url || ''}:${d.lineNumber})`);
      } else if (msg.method === 'Runtime.consoleAPICalled') {
        const text = msg.params.args.map((a) => (a.value !== undefined ? a.value : a.description)).join(' ');
        console.push(`${msg.params.type}: ${text}`);
        if (msg.params.type === 'error' || msg.params.type === 'assert') errors.push(`console.${msg.params.type}: ${text}`);
      } else if (msg.method === 'Log.entryAdded') {
        const e = msg.params.entry;
        if (e.level === 'error') errors.push(`log: ${e.text} ${e.url || ''}`);
      } else if (msg.method === 'Page.loadEventFired') {
        loaded();
      }
    });
    await s('Runtime.enable');
    await s('Log.enable');
    await s('Page.enable');
    await s('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
    const started = Date.now();
    await s('Page.navigate', { url: pathToFileURL(path.resolve(file)).href });
    await withTimeout(loadedP, 120000, `load of ${file}`);
    const loadMs = Date.now() - started;
    const evaluate = async (expression) => {
      const r = await s('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
      if (r.exceptionDetails) throw new Error(`evaluate ${expression}: ${r.exceptionDetails.exception ? r.exceptionDetails.exception.description : r.exceptionDetails.text}`);
      return r.result.value;
    };
    const screenshot = async (out, { full = true } = {}) => {
      const r = await s('Page.captureScreenshot', { format: 'png', captureBeyondViewport: full });
      fs.writeFileSync(out, Buffer.from(r.data, 'base64'));
      return out;
    };
    // Mouse events at page coordinates, as a user would click.
    const click = async (x, y) => {
      for (const type of ['mouseMoved', 'mousePressed', 'mouseReleased'])
        await s('Input.dispatchMouseEvent', { type, x, y, button: 'left', clickCount: 1 });
    };
    return { errors, console, loadMs, evaluate, screenshot, click, send: s };
  }

  let closed = false;
  async function close() {
    if (closed) return;
    closed = true;
    // The browser exits before it could answer Browser.close: wait for the exit, not the reply.
    send('Browser.close').catch(() => {});
    await withTimeout(child.exited, 10000, 'chromium exit').catch(() => {});
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await withTimeout(child.exited, 5000, 'chromium exit after SIGKILL').catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
  t.after(close);
  return { open, close };
}
