// The WebGL target: kernel IR (lowered for target webgl) → gpu.js kernel functions
// (JavaScript that gpu.js translates to GLSL ES). Rendering only; runtime/webgl lowers
// programs through the pipeline and runs the plans.

export { renderWebGL, nodeShapes, nativeFunctions, bufferKey, unpackRows, DEFAULT_MAX_TEXTURE_SIZE, MAX_ELEMENTS, MAX_LOOP, WebGLLimitError, type RenderOptions } from './plan.js';
export type { AttendStrategy, PackedLayout, WebGLBuffer, WebGLKernel, WebGLKernelKind, WebGLPlan } from './plan.js';
export { renderExpr, floatLiteral, intLiteral, helperSource, HELPER_SOURCE, type ExprEnv, type Helper, type NativeHelper } from './expr.js';
