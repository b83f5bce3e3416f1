// The attnc API in Node: everything of the main entry (index.ts), plus what needs Node —
// WebGPU through Dawn (registered here as the GPU provider) and .npy files by path.
// `import … from 'attnc'` resolves here under Node (package.json `exports`, condition
// `node`) and to index.ts in bundlers and browsers; `attnc/node` names it explicitly.

import './runtime/node/dawn.js';

export * from './index.js';
export { readNpy, writeNpy } from './runtime/node/npy-file.js';
