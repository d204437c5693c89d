// `lsptap report SESSION -o FILE.html`: the page, opened from disk in
// headless Chromium, renders every part with no console error, for a real
// gopls session, a DAP session, a killed server and 100,000 messages.
// Screenshots go to $(dirname LSPTAP_BIN)/e2e-artifacts/ for a person to look at.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { launch, noChromium } from './lib/chromium.mjs';
import { lsptapBin, tempDir } from './lib/env.mjs';
import { answerSession, bigSession, dapSession, goplsSession, killedSession } from './lib/fixtures.mjs';

const artifacts = path.join(path.dirname(lsptapBin()), 'e2e-artifacts');
const skip = noChromium();

function report(t, session, name) {
  const out = path.join(tempDir(t), `${name}.html`);
  const r = spawnSync(lsptapBin(), ['report', session, '-o', out], { encoding: 'utf8', timeout: 120000 });
  assert.equal(r.status, 0, `lsptap report exit; stderr:\n${r.stderr}`);
  return out;
}

// Opens the page and checks what every report must show; returns the page
// and what it says about itself.
async function openChecked(t, html, name, { height = 1000 } = {}) {
  const html_ = fs.readFileSync(html, 'utf8');
  assert.ok(!/(src|href)=["']?https?:/i.test(html_), 'the page loads nothing from the network');
  const data = /<script type="application\/json" id="lsptap-data">([\s\S]*?)<\/script>/.exec(html_);
  assert.ok(data, 'the data element is there and closed once');
  assert.ok(!data[1].includes('</'), 'no "</" inside the embedded data');
  const browser = await launch(t, { height });
  const page = await browser.open(html);
  const info = await page.evaluate(`(() => {
    const r = window.lsptapReport || {};
    const cv = document.getElementById('timeline');
    const px = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
    let inked = 0;
    for (let i = 0; i < px.length; i += 4) if (px[i + 3] && (px[i] < 200 || px[i + 1] < 200 || px[i + 2] < 200)) inked++;
    return { ready: !!r.ready, messages: r.messages, parseMs: r.parseMs, renderMs: r.renderMs, readyAt: r.readyAt,
             ending: document.getElementById('ending').textContent, rows: document.querySelectorAll('#list .row').length,
             latencyRows: document.querySelectorAll('#latency tbody tr').length, inked,
             pendingRows: document.querySelectorAll('#pending tr.pending').length,
             stderr: document.getElementById('stderr').textContent, count: document.getElementById('f-count').textContent };
  })()`);
  assert.deepEqual(page.errors, [], `no console errors in ${name}`);
  assert.ok(info.ready, `${name}: the page finished rendering`);
  assert.ok(info.inked > 500, `${name}: the timeline drew something (${info.inked} inked pixels)`);
  assert.ok((info.rows > 0 || info.messages === 0) && info.rows < 200, `${name}: the list shows only rows in view (${info.rows})`);
  assert.ok(info.ending.length > 10, `${name}: the page says how the session ended`);
  fs.mkdirSync(artifacts, { recursive: true });
  const shot = await page.screenshot(path.join(artifacts, `report-${name}.png`));
  t.diagnostic(`screenshot: ${shot}`);
  return { page, info };
}

// Selects message i (as a click on its row does) and returns what the
// detail pane shows.
async function selectAndRead(page, i) {
  return page.evaluate(`(() => {
    window.lsptapReport.select(${i}, true);
    const sel = document.querySelector('#list .row.sel');
    const jump = document.getElementById('jump');
    return { sel: sel ? +sel.dataset.i : -1, body: document.getElementById('body').textContent, jump: jump ? jump.textContent : null };
  })()`);
}

test('report: a real gopls session', { skip, timeout: 150000 }, async (t) => {
  const session = await goplsSession(t);
  const html = report(t, session, 'gopls');
  const { page, info } = await openChecked(t, html, 'gopls');
  const lines = fs.readFileSync(session, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const msgs = lines.filter((l) => l.dir);
  assert.equal(info.messages, msgs.length, 'every message line is in the page');
  assert.match(info.ending, /normal|shutdown|exited with status 0/i);
  assert.ok(info.latencyRows >= 4, `latency rows for initialize, hover, definition, ...: ${info.latencyRows}`);

  // Click a reply's row: the body is pretty-printed; its link goes to the request.
  const reply = msgs.findIndex((l) => l.kind === 'response' && l.method === 'textDocument/definition');
  const request = msgs.findIndex((l) => l.kind === 'request' && l.method === 'textDocument/definition');
  const r = await selectAndRead(page, reply);
  assert.equal(r.sel, reply);
  assert.match(r.body, /\n {2}"/, 'the body is pretty-printed');
  assert.match(r.jump, /request/);
  const back = await page.evaluate(`(() => { document.getElementById('jump').click();
    return +document.querySelector('#list .row.sel').dataset.i; })()`);
  assert.equal(back, request, 'the reply jumps to its request');

  // A real click on a row in the list selects that message.
  const box = await page.evaluate(`(() => { const row = document.querySelector('#list .row:nth-child(3)');
    row.scrollIntoView({ block: 'center' }); const r = row.getBoundingClientRect();
    return { x: r.left + 200, y: r.top + 10, i: +row.dataset.i }; })()`);
  await page.click(box.x, box.y);
  const clicked = await page.evaluate(`document.querySelector('#list .row.sel') && +document.querySelector('#list .row.sel').dataset.i`);
  assert.equal(clicked, box.i, 'a click on a row selects it');

  // The filter narrows the list.
  const filtered = await page.evaluate(`(() => { const f = document.getElementById('f-text'); f.value = 'hover';
    f.dispatchEvent(new Event('input')); return [...document.querySelectorAll('#list .row .c-name')].every((c) => c.textContent.includes('hover')); })()`);
  assert.ok(filtered, 'filtering by method shows only that method');
  assert.deepEqual(page.errors, []);
});

test('report: errors, a cancellation and a pending request from a scripted server', { skip, timeout: 60000 }, async (t) => {
  const session = await answerSession(t);
  const { page, info } = await openChecked(t, report(t, session, 'scripted'), 'scripted');
  assert.equal(info.pendingRows, 1, 'the pending request is listed, highlighted');
  const only = await page.evaluate(`(() => { const f = document.getElementById('f-pend'); f.checked = true;
    f.dispatchEvent(new Event('change'));
    return [...document.querySelectorAll('#list .row')].map((r) => r.className + ' ' + r.querySelector('.c-name').textContent + ' ' + r.querySelector('.c-id').textContent); })()`);
  assert.deepEqual(only, ['row pending test/never "never-1"']);
  const errs = await page.evaluate(`(() => { document.getElementById('f-pend').checked = false; const f = document.getElementById('f-err'); f.checked = true;
    f.dispatchEvent(new Event('change')); return document.querySelectorAll('#list .row.err').length; })()`);
  assert.equal(errs, 3, 'the three test/fail replies are error replies');
});

test('report: a server killed with requests pending', { skip, timeout: 60000 }, async (t) => {
  const session = await killedSession(t);
  const { info } = await openChecked(t, report(t, session, 'killed'), 'killed');
  assert.match(info.ending, /signal 9|SIGKILL|Killed/i);
  assert.equal(info.pendingRows, 2, 'both unanswered requests are highlighted');
});

test('report: a DAP session', { skip, timeout: 60000 }, async (t) => {
  const session = dapSession(path.join(tempDir(t), 'dap.jsonl'));
  const { page, info } = await openChecked(t, report(t, session, 'dap'), 'dap');
  assert.equal(info.messages, 27);
  assert.ok(info.latencyRows >= 10, `one latency row per DAP command: ${info.latencyRows}`);
  const names = await page.evaluate(`[...document.querySelectorAll('#latency tbody tr td:first-child')].map((c) => c.textContent)`);
  for (const c of ['launch', 'stackTrace', 'evaluate']) assert.ok(names.includes(c), `${c} in ${names}`);
  // The evaluate reply is an error and pairs with its request by request_seq.
  const lines = fs.readFileSync(session, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.dir);
  const reply = lines.findIndex((l) => l.kind === 'response' && l.command === 'evaluate');
  const r = await selectAndRead(page, reply);
  assert.match(r.body, /could not find symbol/);
  assert.match(r.jump, /request \(#(\d+)\)/);
  assert.equal(Number(/#(\d+)/.exec(r.jump)[1]) - 1, reply - 1);
  // Session events are listed; a click on one centres the timeline on it.
  const ev = await page.evaluate(`(() => {
    const names = [...document.querySelectorAll('#events-list tr td:nth-child(2)')].map((c) => c.textContent);
    const link = [...document.querySelectorAll('#events-list a')].find((a) => a.textContent === 'framing_error');
    const cv = document.getElementById('timeline');
    const before = cv.toDataURL();
    link.click();
    return new Promise((r) => requestAnimationFrame(() => r({ names, changed: cv.toDataURL() !== before })));
  })()`);
  assert.deepEqual(ev.names, ['spawn', 'framing_error', 'framing_skip', 'exit', 'summary']);
  assert.ok(ev.changed, 'the timeline zoomed to the event');
  assert.deepEqual(page.errors, []);
});

test('report: a server that never started, and a file lsptap never finished', { skip, timeout: 60000 }, async (t) => {
  const dir = tempDir(t);
  const empty = path.join(dir, 'empty.jsonl');
  fs.writeFileSync(empty, [
    { lsptap: 1, protocol: 'lsp', start: '2026-11-28T01:00:00Z', argv: ['gopls'] },
    { t_us: 5, event: 'spawn_failed', path: '/nope/gopls', error: 'no such file or directory' },
    { t_us: 9, event: 'summary', messages: { c2s: 0, s2c: 0 }, ending: 'server unavailable', exit_code: 127 },
  ].map((l) => JSON.stringify(l)).join('\n') + '\n');
  const a = await openChecked(t, report(t, empty, 'empty'), 'empty', {});
  assert.equal(a.info.messages, 0);
  assert.match(a.info.ending, /could not be started: no such file or directory/);

  const session = await answerSession(t);
  const text = fs.readFileSync(session, 'utf8');
  const cut = path.join(dir, 'cut.jsonl');
  fs.writeFileSync(cut, text.slice(0, text.indexOf('"event":"editor_eof"') - 12) + '{"t_us":99,"dir":"s2');
  const b = await openChecked(t, report(t, cut, 'cut'), 'cut');
  assert.match(b.info.ending, /ends without a summary/);
  assert.ok(b.info.pendingRows >= 1, 'requests without a reply line are pending');
  const note = await b.page.evaluate(`document.getElementById('warnings').textContent`);
  assert.match(note, /last line is cut short/);
});

test('report: 100,000 messages load without freezing the page', { skip, timeout: 300000 }, async (t) => {
  const dir = tempDir(t);
  const { file, messages, pending } = bigSession(path.join(dir, 'big.jsonl'), 100000);
  const started = Date.now();
  const html = report(t, file, 'big');
  const genMs = Date.now() - started;
  const size = fs.statSync(html).size;
  const { page, info } = await openChecked(t, html, 'big-100k');
  assert.equal(info.messages, messages);
  assert.equal(info.pendingRows, Math.min(pending, 200));
  // Measured, not asserted: how long the page takes with this many messages.
  const m = `100k report: ${messages} messages, ${(size / 1048576).toFixed(1)} MiB page, lsptap report ${genMs} ms; ` +
    `in Chromium: load event ${page.loadMs} ms, JSON.parse ${info.parseMs.toFixed(0)} ms, first render ${info.renderMs.toFixed(0)} ms, ready at ${info.readyAt.toFixed(0)} ms after navigation start`;
  t.diagnostic(m);
  fs.writeFileSync(path.join(artifacts, 'report-big-100k.txt'), m + '\n');
  // Scrolling to the end, zooming and filtering each take one frame's work.
  const times = await page.evaluate(`(async () => {
    const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
    const out = {};
    let t0 = performance.now();
    const list = document.getElementById('list'); list.scrollTop = list.scrollHeight; list.dispatchEvent(new Event('scroll'));
    await frame(); out.scrollEndMs = performance.now() - t0;
    out.lastRow = Math.max(...[...document.querySelectorAll('#list .row')].map((r) => +r.dataset.i));
    t0 = performance.now();
    const f = document.getElementById('f-text'); f.value = 'completion'; f.dispatchEvent(new Event('input'));
    out.filterMs = performance.now() - t0;
    t0 = performance.now();
    const cv = document.getElementById('timeline');
    cv.dispatchEvent(new WheelEvent('wheel', { deltaY: -2000, clientX: 700, clientY: 60, bubbles: true, cancelable: true }));
    await frame(); out.zoomInMs = performance.now() - t0;
    t0 = performance.now();
    cv.dispatchEvent(new MouseEvent('dblclick', { bubbles: true }));
    await frame(); out.zoomOutMs = performance.now() - t0;
    return out;
  })()`);
  t.diagnostic(`100k interactions: ${JSON.stringify(times)}`);
  assert.equal(times.lastRow, messages - 1, 'the list scrolls to the last message');
  assert.deepEqual(page.errors, []);
});

test('report: refusals say why, with exit status 2', { timeout: 15000 }, (t) => {
  const dir = tempDir(t);
  const run = (args) => spawnSync(lsptapBin(), ['report', ...args], { encoding: 'utf8', timeout: 10000 });
  let r = run([path.join(dir, 'missing.jsonl'), '-o', path.join(dir, 'x.html')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^lsptap report: cannot open .*missing\.jsonl: No such file or directory$/m);
  fs.writeFileSync(path.join(dir, 'other.jsonl'), '{"hello":1}\n');
  r = run([path.join(dir, 'other.jsonl'), '-o', path.join(dir, 'x.html')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /other\.jsonl:1: not a session file/);
  assert.ok(!fs.existsSync(path.join(dir, 'x.html')), 'no page for a file that is not a session');
  r = run([path.join(dir, 'other.jsonl')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /usage: lsptap report SESSION\.jsonl -o FILE\.html/);
  const dap = dapSession(path.join(dir, 'dap.jsonl'));
  r = run([dap, '-o', path.join(dir, 'no-such-dir', 'x.html')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cannot create .*no-such-dir\/x\.html: No such file or directory/);
  r = run([dap, '-o', '-']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^<!DOCTYPE html>/);
});
