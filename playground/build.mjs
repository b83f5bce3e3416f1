#!/usr/bin/env node
// Build the playground into a static folder (default playground/dist) that any static
// host can serve: index.html, style.css, main.js (the page: editor, compiler, views) and
// worker.js (the runtimes, gpu.js, the reference executor), with source maps. The samples
// are bundled from samples/*.attn. esbuild only bundles: `tsc -p playground` type-checks.
// Usage: node playground/build.mjs [outdir]   (npm run build:playground)

import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

/** `import samples from 'attnc:samples'`: every samples/*.attn as { file, text }, sorted by name. */
const samplesPlugin = {
  name: 'attnc-samples',
  setup(b) {
    b.onResolve({ filter: /^attnc:samples$/ }, () => ({ path: 'samples', namespace: 'attnc-samples' }));
    b.onLoad({ filter: /.*/, namespace: 'attnc-samples' }, () => {
      const dir = join(root, 'samples');
      const files = readdirSync(dir).filter((f) => f.endsWith('.attn')).sort();
      const samples = files.map((file) => ({ file, text: readFileSync(join(dir, file), 'utf8') }));
      return { contents: `export default ${JSON.stringify(samples)};`, loader: 'js', watchFiles: files.map((f) => join(dir, f)) };
    });
  },
};

/** Build into `outdir`; returns the files written with their sizes. */
export async function buildPlayground(outdir = join(here, 'dist'), { minify = true } = {}) {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: { main: join(here, 'src', 'main.ts'), worker: join(here, 'src', 'worker.ts') },
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify,
    sourcemap: true,
    legalComments: 'linked',
    plugins: [samplesPlugin],
    logLevel: 'warning',
  });
  for (const f of ['index.html', 'style.css']) copyFileSync(join(here, f), join(outdir, f));
  return readdirSync(outdir).sort().map((f) => ({ file: f, bytes: statSync(join(outdir, f)).size }));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = resolve(process.argv[2] ?? join(here, 'dist'));
  try {
    const files = await buildPlayground(outdir);
    for (const { file, bytes } of files) console.log(`${join(outdir, file)}: ${bytes} bytes`);
  } catch {
    process.exit(1); // esbuild has printed the errors
  }
}
