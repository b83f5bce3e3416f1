// The attnc API: `import { parse, check, compile, run } from 'attnc'`.

export { parse, check } from './dsl/index.js';
export { formatAll as formatDiagnostics } from './dsl/format.js';
export { AttncError, type Diagnostic } from './dsl/diagnostics.js';
export type { SourceFile, Span } from './dsl/ast.js';
export { compile, type CompileOptions, type CompileResult } from './compiler/compile.js';
export { printGraph } from './compiler/print.js';
export { PIPELINE } from './compiler/pipeline.js';
export type { Graph, Expr } from './compiler/ir.js';
export { run, bind, type RunOptions, type RunResult, type Backend, type BackendChoice } from './runtime/run.js';
export type { BoundProgram } from './runtime/webgpu/execute.js';
export { readNpy, writeNpy, encodeNpy, decodeNpy } from './runtime/npy.js';
export { tensor, type Tensor } from './runtime/tensor.js';
