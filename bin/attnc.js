#!/usr/bin/env node
// The attnc command. The TypeScript sources are built into dist/ by `npm install`
// (the `prepare` script) or `npm run build`.
import { setFlagsFromString } from 'node:v8';

// Dawn under Node 20 can crash when V8 recompiles hot code concurrently with device
// creation (see TOOLCHAIN.md); turning concurrent recompilation off avoids it.
setFlagsFromString('--no-concurrent-recompilation');

const { main } = await import('../dist/cli/main.js');
const code = await main(process.argv.slice(2));
// A live WebGPU instance keeps the event loop alive: exit explicitly.
process.exit(code);
