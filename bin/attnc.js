#!/usr/bin/env node
// The attnc command. The TypeScript sources are built into dist/ by `npm install`
// (the `prepare` script) or `npm run build`.
import { setFlagsFromString } from 'node:v8';

// Dawn under Node 20 can crash when V8 recompiles hot code concurrently with device
// creation (see TOOLCHAIN.md); turning concurrent recompilation off avoids it.
setFlagsFromString('--no-concurrent-recompilation');

// A reader that stops early (`attnc compile … | head`) closes the pipe: stop quietly.
for (const s of [process.stdout, process.stderr]) {
  s.on('error', (e) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(0);
  });
}

const { main } = await import('../dist/cli/main.js');
const code = await main(process.argv.slice(2));
// A live WebGPU instance keeps the event loop alive: exit explicitly — once stdout and
// stderr have handed everything to the OS (a pipe takes 64 KiB at a time: exiting earlier
// cut `attnc compile … --target wgsl | less` short).
await Promise.all([process.stdout, process.stderr].map((s) => new Promise((resolve) => s.write('', resolve))));
process.exit(code);
