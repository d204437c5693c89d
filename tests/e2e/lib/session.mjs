// Reading and checking lsptap session files (JSON Lines) against the
// contract in docs/design.md "Interfaces other tools rely on".
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

// The one *.jsonl file in `dir`; fails when there is none or several.
export function findSession(dir) {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
  assert.equal(files.length, 1, `expected one session file in ${dir}, found ${JSON.stringify(files)}`);
  return path.join(dir, files[0]);
}

// Parses every line; a line that is not JSON fails naming its number.
export function readSession(file) {
  const text = fs.readFileSync(file, 'utf8');
  assert.ok(text.endsWith('\n'), `${file}: last line not terminated (session not finalised)`);
  const lines = text.slice(0, -1).split('\n').map((l, i) => {
    try {
      return JSON.parse(l);
    } catch (e) {
      assert.fail(`${file}:${i + 1}: not JSON (${e.message}): ${l.slice(0, 200)}`);
    }
  });
  const messages = lines.filter((l, i) => i > 0 && 'dir' in l);
  const events = lines.filter((l, i) => i > 0 && !('dir' in l));
  return { file, lines, header: lines[0], messages, events };
}

const isInt = (v) => Number.isInteger(v) && v >= 0;
const isId = (v) => typeof v === 'number' || typeof v === 'string';

// Checks the shape of every line and returns the session. `record` is
// 'full' (every message has a body) or 'meta' (none has).
export function validateSession(file, { record = 'full' } = {}) {
  const s = readSession(file);
  const where = (i) => `${file}:${i + 1}: ${JSON.stringify(s.lines[i]).slice(0, 300)}`;

  const h = s.header;
  assert.ok(h && typeof h === 'object' && !Array.isArray(h), `${file}:1: header is not an object`);
  assert.ok(typeof h.lsptap === 'number' || typeof h.lsptap === 'string', `${where(0)}: header lacks "lsptap" (format version)`);
  assert.equal(h.protocol, 'lsp', `${where(0)}: header "protocol"`);

  const lastT = { c2s: -1, s2c: -1 };
  const open = { c2s: new Map(), s2c: new Map() }; // unanswered requests by id, per direction sent
  let summaries = 0;
  s.lines.forEach((l, i) => {
    if (i === 0) return;
    assert.ok(l && typeof l === 'object' && !Array.isArray(l), `${where(i)}: not an object`);
    if (!('dir' in l)) {
      assert.equal(typeof l.event, 'string', `${where(i)}: neither a message ("dir") nor an event ("event")`);
      if ('t_us' in l) assert.ok(isInt(l.t_us), `${where(i)}: event "t_us" not a non-negative integer`);
      if (l.event === 'summary') {
        summaries++;
        assert.equal(i, s.lines.length - 1, `${where(i)}: summary is not the last line`);
      }
      return;
    }
    assert.ok(l.dir === 'c2s' || l.dir === 's2c', `${where(i)}: bad "dir"`);
    assert.ok(isInt(l.t_us), `${where(i)}: "t_us" not a non-negative integer`);
    assert.ok(l.t_us >= lastT[l.dir], `${where(i)}: "t_us" goes backwards within ${l.dir}`);
    lastT[l.dir] = l.t_us;
    assert.ok(isInt(l.bytes) && l.bytes > 0, `${where(i)}: "bytes" not a positive integer`);
    assert.ok(['request', 'response', 'notification', 'invalid'].includes(l.kind), `${where(i)}: bad "kind"`);
    if (l.kind === 'request' || l.kind === 'notification') {
      assert.equal(typeof l.method, 'string', `${where(i)}: ${l.kind} without "method"`);
    }
    if (l.kind === 'request') assert.ok(isId(l.id), `${where(i)}: request "id" not a number or string`);
    if (l.kind === 'notification') assert.ok(!('id' in l), `${where(i)}: notification with "id"`);
    if ('latency_us' in l) {
      assert.equal(l.kind, 'response', `${where(i)}: "latency_us" on a ${l.kind}`);
      assert.ok(isInt(l.latency_us), `${where(i)}: "latency_us" not a non-negative integer`);
    }
    if (record === 'full') assert.ok('body' in l, `${where(i)}: no "body" in full recording`);
    else assert.ok(!('body' in l), `${where(i)}: "body" present in ${record} recording`);
    if (record === 'full' && l.kind !== 'invalid' && l.body && typeof l.body === 'object') {
      assert.equal('error' in l, 'error' in l.body, `${where(i)}: "error" must be present exactly on error replies`);
    }

    const other = l.dir === 'c2s' ? 's2c' : 'c2s';
    if (l.kind === 'request') open[l.dir].set(JSON.stringify(l.id), l);
    if (l.kind === 'response' && isId(l.id)) {
      const key = JSON.stringify(l.id);
      const req = open[other].get(key);
      if (req) {
        open[other].delete(key);
        assert.ok('latency_us' in l, `${where(i)}: reply to ${req.method} id ${key} has no "latency_us"`);
        // Both times come from the same monotonic clock.
        assert.ok(l.latency_us <= l.t_us - req.t_us + 1000, `${where(i)}: "latency_us" ${l.latency_us} exceeds the time since its request (${l.t_us - req.t_us})`);
      }
    }
  });
  assert.equal(summaries, 1, `${file}: expected exactly one "summary" event, found ${summaries}`);
  return s;
}

// The session file of a directory, mode-checked (file 0600, dir 0700) and
// validated.
export function checkedSession(dir, opts) {
  const file = findSession(dir);
  assert.equal(fs.statSync(dir).mode & 0o777, 0o700, `${dir}: directory mode`);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600, `${file}: file mode`);
  return validateSession(file, opts);
}

export function eventsNamed(s, name) {
  return s.events.filter((e) => e.event === name);
}

// Compares the session's message lines of one direction with the messages
// that really crossed the pipe (objects as vscode-jsonrpc wrote or read them):
// same count, same order, same kind/method/id, and in full recording the
// same body.
export function assertMatchesTraffic(s, dir, msgs, { record = 'full' } = {}) {
  const lines = s.messages.filter((m) => m.dir === dir);
  const want = msgs.map((m) => ({
    kind: 'method' in m ? ('id' in m ? 'request' : 'notification') : 'response',
    method: 'method' in m ? m.method : undefined,
    id: 'id' in m ? m.id : undefined,
  }));
  const got = lines.map((l, i) => ({
    kind: l.kind,
    method: want[i] && want[i].kind === 'response' ? undefined : l.method,
    id: l.id,
  }));
  assert.deepEqual(got, want, `${dir} message lines differ from the ${msgs.length} messages that crossed the pipe`);
  if (record === 'full') {
    // As it went over the wire: JSON drops members whose value is undefined.
    lines.forEach((l, i) => assert.deepEqual(l.body, JSON.parse(JSON.stringify(msgs[i])), `${dir} message ${i + 1}: recorded body differs`));
  }
}
