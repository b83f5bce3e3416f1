// The WGSL target: kernel IR → WGSL source. Pure: capabilities arrive as data in the
// kernel IR (its schedule and features); target quirks stay inside this folder.

import type { Kernel } from '../../compiler/kernel.js';
import { renderAttendKernel, renderSoftmaxKernel } from './attend.js';
import { renderMergeKernel } from './attend-dims.js';
import { renderClustersKernel, renderPool2dKernel, renderPoolKernel } from './ops.js';
import { renderMapKernel } from './map.js';
import { renderRouteAttendKernel, renderRouteSortKernel } from './route.js';
import { renderSummaryKernel } from './summary.js';

export { renderExpr, nonNegative, clampedLinearIndex, HELPER_SOURCE } from './expr.js';

/** WGSL source of one kernel (one module, one entry point named `kernel.name`). */
export function renderWgsl(kernel: Kernel): string {
  switch (kernel.kind) {
    case 'attend': case 'colstats': case 'colapply': case 'scores': case 'pv':
      return renderAttendKernel(kernel);
    case 'softmax':
      return renderSoftmaxKernel(kernel);
    case 'pool':
      return renderPoolKernel(kernel);
    case 'pool2d':
      return renderPool2dKernel(kernel);
    case 'clusters':
      return renderClustersKernel(kernel);
    case 'route-sort':
      return renderRouteSortKernel(kernel);
    case 'route-attend':
      return renderRouteAttendKernel(kernel);
    case 'summary':
      return renderSummaryKernel(kernel);
    case 'map':
      return renderMapKernel(kernel);
    case 'merge':
      return renderMergeKernel(kernel);
  }
}
