// expand-builtins: fill every pattern node's body with its defining expression (spec §3),
// keeping the origin beside it for analyses that know the pattern's exact rule.

import { rewrite, type Expr } from '../ir.js';
import type { Pass } from '../pass.js';
import { expandPattern } from '../patterns.js';
import { mapExprs } from './util.js';

export const expandBuiltins: Pass = {
  name: 'expand-builtins',
  summary: 'expand pattern builtins into index expressions, keeping their origin',
  stage: 'graph',
  run: (m) => ({ ...m, graph: mapExprs(m.graph, expand) }),
};

function expand(e: Expr): Expr {
  return rewrite(e, (x) => (x.op === 'pattern' && !x.body ? { ...x, body: expandPattern(x.origin) } : x));
}

