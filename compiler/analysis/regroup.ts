// Dilation regrouping of a 1-D NATTEN neighborhood: which masks allow it, and the keys a
// block of a dilation group's queries can see. Used by the tile pass (the schedule's
// `regroup` and its streamed range); the renderers only read the result.

import { Q_HI, Q_LO } from './mask.js';
import { call, E, int, variable, type Expr, type Pattern } from '../ir.js';
import type { AttendSchedule, StreamRange } from '../kernel.js';

export type Regroup = NonNullable<AttendSchedule['regroup']>;

/**
 * The dilation regrouping of a mask whose origin is a 1-D `neighborhood` pattern (the mask
 * itself or a conjunct of it) with a constant dilation > 1 and constant kernel: the kernel
 * then iterates queries and keys per dilation group (i = g + d·i′, j = g + d·j′), never
 * visiting the other groups' positions. Null otherwise.
 */
export function dilationRegroup(mask: Expr): Regroup | null {
  const find = (e: Expr): Extract<Pattern, { name: 'neighborhood' }> | null => {
    if (e.op === 'pattern') return e.origin.name === 'neighborhood' ? e.origin : null;
    if (e.op === 'and') return find(e.a) ?? find(e.b);
    return null;
  };
  const p = find(mask);
  if (!p || p.dilation.op !== 'const' || p.kernel.op !== 'const') return null;
  const d = Number(p.dilation.value);
  const kern = Number(p.kernel.value);
  if (!Number.isInteger(d) || d <= 1 || !Number.isInteger(kern) || kern < 1) return null;
  return { dilation: d, reach: kern - 1, causal: p.causal };
}

/**
 * Keys (in-group indices) that in-group queries [q_lo, q_hi] can see. NATTEN's window
 * centre c(i') = clamp(i', wl, GL − 1 − wr) is monotone in i', so the block sees exactly
 * [c(q_lo) − wl, c(q_hi) + wr] (non-causal: the block plus k − 1 keys, not 2(k − 1));
 * causal windows are clipped, [q_lo − (k − 1), q_hi]. `group_len` is the group's length
 * (the kernel's `GL`).
 */
export function regroupedKeyRange(rg: Regroup): StreamRange {
  const k = rg.reach + 1;
  if (rg.causal) return { lo: E.sub(Q_LO, int(rg.reach)), hi: Q_HI };
  const wl = Math.floor(k / 2);
  const wr = k - 1 - wl;
  const centre = (i: Expr) => call('clamp', [i, int(wl), E.sub(variable('group_len'), int(1 + wr))], 'int');
  return { lo: E.sub(centre(Q_LO), int(wl)), hi: E.add(centre(Q_HI), int(wr)) };
}
