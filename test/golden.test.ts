// Golden text for the kernel stage, one pass and one kernel kind at a time: the kernel IR
// of a few samples after `fuse` and after `tile` (for a device without subgroups and for
// lavapipe), each WGSL kernel kind as rendered, and each WebGL kernel kind as planned (the
// gpu.js source that becomes GLSL). A change to a pass or a renderer shows up as a readable
// diff in test/golden/. After an intended change: `npm run golden` rewrites them.

import test, { type ExecutionContext } from 'ava';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CAPS_PRESETS } from '../compiler/caps.js';
import { compile, type CompileOptions } from '../compiler/compile.js';
import { printKernels } from '../compiler/print-kernels.js';
import { planWebGL } from '../runtime/webgl/execute.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIR = join(ROOT, 'test', 'golden');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

function golden(t: ExecutionContext, name: string, text: string): void {
  const path = join(DIR, name);
  if (UPDATE) {
    mkdirSync(DIR, { recursive: true });
    writeFileSync(path, text);
    t.is(readFileSync(path, 'utf8'), text, `rewrote ${name}`); // update mode (npm run golden); CI compares below
    return;
  }
  t.true(existsSync(path), `missing golden ${name}: run \`npm run golden\``);
  t.is(text, readFileSync(path, 'utf8'), `${name} differs (after an intended change: npm run golden)`);
}

const sample = (name: string) => readFileSync(join(ROOT, 'samples', `${name}.attn`), 'utf8');

function compiled(name: string, options: CompileOptions) {
  const r = compile(sample(name), { path: `${name}.attn`, ...options });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r;
}

// streaming: banded ranges and a union; local_window: dilation regrouping; reversed: the two
// passes of normalize: queries; routing: clusters and the routed kernels; agent2d: pool2d.
const PASS_SAMPLES = ['streaming', 'local_window', 'reversed', 'routing', 'agent2d'];

for (const name of PASS_SAMPLES) {
  for (const caps of ['default', 'lavapipe']) {
    test(`kernel IR of ${name} after fuse and tile (--caps ${caps})`, (t) => {
      const after: Record<string, string> = {};
      compiled(name, {
        kernels: true, caps: CAPS_PRESETS[caps],
        onPass: (p, m) => { if (p.stage === 'kernel') after[p.name] = printKernels(m.kernels!, m.graph); },
      });
      golden(t, `${name}.fuse.txt`, after.fuse!);
      golden(t, `${name}.${caps}.tile.txt`, after.tile!);
    });
  }
}

// The same passes for the WebGL target (its tile pass picks strategies at the default dims).
for (const name of ['local_window', 'reversed']) {
  test(`kernel IR of ${name} after tile for the WebGL target`, (t) => {
    let text = '';
    compiled(name, { target: 'webgl', kernels: true, onPass: (p, m) => { if (p.name === 'tile') text = printKernels(m.kernels!, m.graph); } });
    golden(t, `${name}.webgl.tile.txt`, text);
  });
}

// One kernel of every kind the WGSL target renders, under each schedule it has (lavapipe:
// the subgroup paths; the other kinds schedule alike on both).
const BOTH = ['default', 'lavapipe'];
const WGSL_KINDS: [string, string, CompileOptions, string[]][] = [
  ['attend', 'streaming', {}, BOTH],
  ['colstats', 'reversed', {}, BOTH],
  ['colapply', 'reversed', {}, BOTH],
  ['scores', 'streaming', { fusion: false }, ['default']],
  ['softmax', 'streaming', { fusion: false }, ['default']],
  ['pv', 'streaming', { fusion: false }, ['default']],
  ['pool', 'agent', {}, ['default']],
  ['pool2d', 'agent2d', {}, ['default']],
  ['clusters', 'routing', {}, BOTH],
  ['route-sort', 'routing', {}, ['default']],
  ['route-attend', 'routing', {}, BOTH],
];

for (const [kind, name, options, capsNames] of WGSL_KINDS) {
  for (const caps of capsNames) {
    test(`WGSL of a ${kind} kernel (${name}, --caps ${caps})`, (t) => {
      const r = compiled(name, { ...options, target: 'wgsl', caps: CAPS_PRESETS[caps] });
      const at = r.kernels!.findIndex((k) => k.kind === kind);
      t.true(at >= 0, `${name} has a ${kind} kernel`);
      golden(t, `wgsl.${kind}.${caps}.wgsl`, r.wgsl![at]!.source);
    });
  }
}
test('WGSL of a regrouped (dilated neighborhood) attend on lavapipe', (t) => {
  const r = compiled('local_window', { target: 'wgsl', caps: CAPS_PRESETS.lavapipe });
  golden(t, 'wgsl.attend-regrouped.lavapipe.wgsl', r.wgsl![0]!.source);
});

// WebGL: every kernel kind its plans use, at the samples' default dims.
const WEBGL_KINDS: [string, string, { strategy?: 'fused' | 'scores' }][] = [
  ['attend', 'streaming', { strategy: 'fused' }],
  ['scores', 'streaming', { strategy: 'scores' }],
  ['rowstats', 'streaming', { strategy: 'scores' }],
  ['pv', 'streaming', { strategy: 'scores' }],
  ['colstats', 'reversed', {}],
  ['colapply', 'reversed', {}],
  ['pool', 'agent', {}],
  ['pool2d', 'agent2d', {}],
  ['clusters', 'routing', {}],
];

for (const [kind, name, options] of WEBGL_KINDS) {
  test(`WebGL kernel source of a ${kind} kernel (${name}${options.strategy ? `, ${options.strategy}` : ''})`, (t) => {
    const g = compiled(name, {}).graph!;
    const plan = planWebGL(g, { ...g.dimDefaults }, options);
    const k = plan.kernels.find((x) => x.kind === kind);
    t.truthy(k, `${name} plans a ${kind} kernel`);
    const header = `// ${k!.name}: ${k!.label}\n// output ${JSON.stringify(k!.output)}, loopMaxIterations ${k!.loopMaxIterations}, constants ${JSON.stringify(k!.constants)}\n`;
    golden(t, `webgl.${kind}${options.strategy ? `.${options.strategy}` : ''}.js`, header + k!.source + '\n');
  });
}
