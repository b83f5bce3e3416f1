// The WebGL target: kernel IR (lowered for target webgl) → gpu.js kernel functions
// (JavaScript that gpu.js translates to GLSL ES). Rendering only; runtime/webgl lowers
// programs through the pipeline and runs the plans.

export { renderWebGL, nodeShapes, nativeFunctions, MAX_ELEMENTS, MAX_LOOP, WebGLLimitError } from './plan.js';
export type { AttendStrategy, WebGLBuffer, WebGLKernel, WebGLKernelKind, WebGLPlan } from './plan.js';
export { renderExpr, floatLiteral, intLiteral, HELPER_SOURCE, type ExprEnv, type Helper } from './expr.js';
