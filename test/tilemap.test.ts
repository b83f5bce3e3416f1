// Golden tile maps at a shape that is not a tile multiple (N = 100, 16 × 16 tiles), each
// also checked point by point: a tile called full (empty) is true (false) everywhere, and
// every allowed entry lies in a visited tile.

import test from 'ava';
import { compile } from '../compiler/compile.js';
import type { NodeOf } from '../compiler/ir.js';
import { printTileMap, tileMap, tileMapPng } from '../cli/tilemap.js';
import { evalExpr } from '../compiler/evaluate.js';

const GOLDEN: [string, string][] = [
  ['causal', `
%3: 7 × 7 tiles of 16 queries × 16 keys
  |+      |
  |#+     |
  |##+    |
  |###+   |
  |####+  |
  |#####+ |
  |######+|
  full 21, mixed 7, empty 21; visited 28 of 49 (57.1 %)
`],
  ['sliding(20)', `
%3: 7 × 7 tiles of 16 queries × 16 keys
  |+      |
  |++     |
  |+++    |
  | +++   |
  |  +++  |
  |   +++ |
  |    +#+|
  full 1, mixed 17, empty 31; visited 18 of 49 (36.7 %)
`],
  ['block(16)', `
%3: 7 × 7 tiles of 16 queries × 16 keys
  |#      |
  | #     |
  |  #    |
  |   #   |
  |    #  |
  |     # |
  |      #|
  full 7, mixed 0, empty 42; visited 7 of 49 (14.3 %)
`],
  ['halo(16, 4)', `
%3: 7 × 7 tiles of 16 queries × 16 keys
  |#+     |
  |+#+    |
  | +#+   |
  |  +#+  |
  |   +#+ |
  |    +##|
  |     +#|
  full 8, mixed 11, empty 30; visited 19 of 49 (38.8 %)
`],
  ['neighborhood(5, dilation: 2)', `
%3: 7 × 7 tiles of 16 queries × 16 keys
  |++     |
  |+++    |
  | +++   |
  |  +++  |
  |   +++ |
  |    +++|
  |     ++|
  full 0, mixed 19, empty 30; visited 19 of 49 (38.8 %)
`],
  ['global(4) || window(8)', `
%3: 7 × 7 tiles of 16 queries × 16 keys
  |+++++++|
  |+++    |
  |++++   |
  |+ +++  |
  |+  +++ |
  |+   +++|
  |+    +#|
  full 1, mixed 28, empty 20; visited 29 of 49 (59.2 %)
`],
];

const DIMS = { B: 1, H: 1, N: 100, D: 4 };

function attendOf(mask: string) {
  const r = compile(`attention t { input q, k, v: f32[B, H, N, D]\n return attend(q, k, v, mask: ${mask}) }`);
  return { graph: r.graph!, attend: r.graph!.nodes[3] as NodeOf<'attend'> };
}

for (const [mask, golden] of GOLDEN) {
  test(`tile map of ${mask}`, (t) => {
    const { graph, attend } = attendOf(mask);
    const map = tileMap(graph, attend, DIMS, 16, 16);
    t.is(printTileMap(map), golden.slice(1));
    for (let i = 0; i < 100; i++) {
      for (let j = 0; j < 100; j++) {
        const k = Math.floor(i / 16) * map.cols + Math.floor(j / 16);
        const allowed = evalExpr(attend.mask, { b: 0, h: 0, i, j, dims: DIMS });
        if (allowed && (!map.visited[k] || map.tiles[k] === 'empty')) t.fail(`(${i}, ${j}) is allowed in a skipped tile`);
        if (!allowed && map.tiles[k] === 'full') t.fail(`(${i}, ${j}) is masked in a full tile`);
      }
    }
  });
}

test('the tile map PNG is a valid image of one pixel block per tile', (t) => {
  const { graph, attend } = attendOf('causal');
  const png = tileMapPng(tileMap(graph, attend, DIMS, 16, 16), 2);
  t.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
  const view = new DataView(png.buffer, png.byteOffset);
  t.is(view.getUint32(16), 14); // width: 7 tiles × 2 px
  t.is(view.getUint32(20), 14);
});
