#!/usr/bin/env node
// Build dist/attnc.browser.js: the main entry (index.ts) as one minified ES module for
// pages without a bundler (`<script type="module">import … from '…/attnc.browser.js'`).
// No externals, no stubs: the main entry imports nothing Node-only, and a `node:` import
// sneaking in makes this build fail. Prints the size (bytes, gzipped).
// Usage: node scripts/build-browser.mjs [outfile]   (part of `npm run build` and `prepare`)

import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = process.argv[2] ?? join(root, 'dist', 'attnc.browser.js');

try {
  await build({
    entryPoints: [join(root, 'index.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'eof',
    logLevel: 'warning',
  });
} catch {
  // esbuild has printed the errors (e.g. a Node built-in reached from the main entry)
  process.exit(1);
}
const bytes = readFileSync(outfile);
console.log(`${outfile}: ${bytes.length} bytes, ${gzipSync(bytes).length} gzipped`);
