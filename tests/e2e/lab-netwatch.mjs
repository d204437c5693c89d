// The netns lab's editor (tests/netns/run.sh): the real gopls through the
// stand-in on a workspace that needs a module from GOPROXY, run inside the
// lab's client namespace. Not a node:test file: run.sh runs it once per case
// and reads its exit status and output.
//
//   node lab-netwatch.mjs GOPROXY LAYER [VAR=VALUE...]
//
// LAYER is the netcheck layer lsptap's showMessage must name ("transport",
// "dns", "tls", ...), or "none": gopls reports its failure and lsptap blames
// no network layer. Prints lsptap's message; exit 0 when it is as expected.
import { needyEditor, loadFailures, lsptapShows, until, describe } from './lib/gofail.mjs';
import { sleep } from './lib/env.mjs';

const [goproxy, layer, ...vars] = process.argv.slice(2);
const extra = Object.fromEntries(vars.map((v) => [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)]));
const afters = [];
const t = { after: (fn) => afters.push(fn) };
let code = 1;
let ed;
try {
  ({ ed } = await needyEditor(t, goproxy, extra));
  if (layer === 'none') {
    const f = await until(() => loadFailures(ed)[0], 60000, `gopls's load failure ${describe(ed)}`);
    console.log(`gopls: ${f.params.message.split('\n').slice(1, 2).join(' ').trim()}`);
    await sleep(3000); // room for a diagnosis, were there one
    const blamed = lsptapShows(ed).filter((m) => /could not reach/.test(m.params.message));
    if (blamed.length || /could not reach/.test(ed.stderr.text())) throw new Error(`a network layer was blamed: ${describe(ed)}`);
    console.log('lsptap: no network layer blamed');
  } else {
    const m = await until(() => lsptapShows(ed).find((x) => /could not reach/.test(x.params.message)), 60000,
      `lsptap's showMessage ${describe(ed)}`);
    console.log(`showMessage type ${m.params.type}: ${m.params.message}`);
    if (m.params.type !== 1) throw new Error('not an error (type 1)');
    if (!m.params.message.includes(`netcheck: ${layer} layer failed`)) throw new Error(`the ${layer} layer is not named`);
  }
  code = 0;
} catch (e) {
  console.log(`FAIL: ${e.message}`);
}
try {
  if (ed) await ed.shutdown();
} catch {
  // The verdict is in; a slow exit does not change it.
}
for (const fn of afters.reverse()) {
  try {
    await fn();
  } catch {
    // Cleanup only.
  }
}
process.exit(code);
