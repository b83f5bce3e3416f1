// The attnc API: `import { parse, check, compile, run } from 'attnc'`.
//
// This is the browser-clean entry: nothing reachable from here imports a Node module (a
// bundler needs no externals or stubs; test/browser.test.ts bundles it without any). In a
// browser WebGPU is `navigator.gpu` and WebGL is gpu.js's browser build; Node adds Dawn and
// .npy files by path in node.ts (the Node entry), which re-exports everything here.

export { parse, check } from './dsl/index.js';
export { formatAll as formatDiagnostics } from './dsl/format.js';
export { AttncError, type Diagnostic } from './dsl/diagnostics.js';
export type { SourceFile, Span } from './dsl/ast.js';
export { compile, type CompileOptions, type CompileResult } from './compiler/compile.js';
export { printGraph } from './compiler/print.js';
export { PIPELINE } from './compiler/pipeline.js';
export type { Graph, Expr } from './compiler/ir.js';
export { run, bind, RunOptionError, type RunOptions, type RunResult, type Backend, type BackendChoice } from './runtime/run.js';
export type { BoundProgram } from './runtime/webgpu/execute.js';
export { prepare, type PrepareOptions, type PreparedProgram } from './runtime/webgpu/prepare.js';
export type { TensorSpec } from './runtime/webgpu/encode-args.js';
export {
  WebGPUError, NoAdapterError, BufferLimitError, WgslCompileError, ValidationError, InputError,
  EncodeError, MissingBufferError, BufferSizeError, BufferUsageError, ForeignBufferError, DimsError,
} from './runtime/webgpu/errors.js';
export { encodeNpy, decodeNpy, type NpyWriteDtype } from './runtime/npy.js';
export { tensor, type Tensor } from './runtime/tensor.js';
export { view, layoutView, packedQKV, contiguous, type Layout } from './runtime/views.js';
