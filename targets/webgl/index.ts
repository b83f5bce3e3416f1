// The WebGL target: graph IR → gpu.js kernel functions (JavaScript that gpu.js translates
// to GLSL ES). Rendering only; runtime/webgl runs the plans.

export { planWebGL, nodeShapes, nativeFunctions, hostNumber, MAX_ELEMENTS, MAX_LOOP, WebGLLimitError } from './plan.js';
export type { AttendStrategy, PlanOptions, WebGLBuffer, WebGLKernel, WebGLKernelKind, WebGLPlan } from './plan.js';
export { renderExpr, floatLiteral, intLiteral, HELPER_SOURCE, type ExprEnv, type Helper } from './expr.js';
