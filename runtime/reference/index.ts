// The float64 reference executor: the oracle generated kernels are judged against.

export { executeReference, runReference, poolBin, type ReferenceOptions, type ReferenceResult } from './execute.js';
export {
  compileBool,
  compileExpr,
  compileNumber,
  evalExpr,
  evalSizeExpr,
  type BoolFn,
  type EvalEnv,
  type ExprContext,
  type IndexEnv,
  type NumFn,
  type TensorTable,
  type Value,
  type ValueFn,
} from '../../compiler/evaluate.js';
export { nattenAllows, patternRule } from '../../compiler/pattern-rules.js';
export { alibiSlope, alibiSlopes, floatMod, floorDiv, floorMod } from '../../compiler/scalar.js';
export { bindDims, evalSize, generateInputs, graphDims, resolveDims, shapeOf, type Dims } from '../shapes.js';
