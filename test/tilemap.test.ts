// Golden tile maps at a shape that is not a tile multiple (N = 100, 16 × 16 tiles), each
// also checked point by point: a tile called full (empty) is true (false) everywhere, and
// every allowed entry lies in a visited tile.

import test from 'ava';
import { compile } from '../compiler/compile.js';
import type { NodeOf } from '../compiler/ir.js';
import { printTileMap, tileCounts, tileMap } from '../cli/tilemap.js';
import { TILE_COLOURS, tileMapSvg } from '../cli/tilemap-svg.js';
import { evalExpr } from '../compiler/evaluate.js';
import { resolveDims } from '../runtime/shapes.js';
import { main } from '../cli/main.js';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

test('the tile map SVG: one rect per tile in its class colour, axes in tokens, legend with the counts', (t) => {
  const { graph, attend } = attendOf('causal');
  const map = tileMap(graph, attend, DIMS, 16, 16);
  const svg = tileMapSvg(map, { title: 'causal — attend %3', subtitle: 'N = 100' });
  t.regex(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  t.true(svg.trimEnd().endsWith('</svg>'));
  t.regex(svg, /data-full="21" data-mixed="7" data-empty="21" data-visited="28" data-total="49"/);
  t.deepEqual(tileCounts(map), { full: 21, mixed: 7, empty: 21, visited: 28, total: 49 });
  // 49 tiles with tooltips; the last row and column are 100 - 96 = 4 tokens wide.
  const tiles = [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)" height="([\d.]+)" fill="(#[0-9a-f]+)"><title>([^<]*)<\/title>/g)];
  t.is(tiles.length, 49);
  t.is(tiles.filter((m) => m[3] === TILE_COLOURS.full).length, 21);
  t.is(tiles.filter((m) => m[3] === TILE_COLOURS.mixed).length, 7);
  t.is(tiles[0]![4], 'queries 0–15 × keys 0–15: mixed');
  t.is(tiles[6]![4], 'queries 0–15 × keys 96–99: empty, not visited');
  t.is(Number(tiles[6]![1]) / Number(tiles[0]![1]), 4 / 16);
  for (const label of ['keys j →', 'queries i ↓', '>0<', '>64<', '>100<', 'full (21)', 'mixed (7)', 'empty (21)', 'not visited (21)',
    'full 21, mixed 7, empty 21; visited 28 of 49 (57.1 %)', 'causal — attend %3', 'N = 100']) {
    t.true(svg.includes(label), label);
  }
});

test('attnc compile --emit tiles -o DIR writes the text and one SVG per attend, with the counts of tileMap()', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'attnc-tiles-'));
  t.is(await main(['compile', 'samples/agent.attn', '--emit', 'tiles', '--dims', 'N=300', '-o', dir]), 0);
  const graph = compile(readFileSync('samples/agent.attn', 'utf8')).graph!;
  const dims = resolveDims(graph, { N: 300 });
  const attends = graph.nodes.filter((n): n is NodeOf<'attend'> => n.op === 'attend');
  t.is(attends.length, 2);
  for (const a of attends) {
    const c = tileCounts(tileMap(graph, a, dims));
    const svg = readFileSync(join(dir, `agent.attend${a.id}.tiles.svg`), 'utf8');
    t.true(svg.includes(`data-full="${c.full}" data-mixed="${c.mixed}" data-empty="${c.empty}" data-visited="${c.visited}" data-total="${c.total}"`));
    t.true(svg.includes(`agent.attn — attend %${a.id}`));
    t.true(svg.includes('B = 1, H = 4, N = 300, D = 64'));
  }
  t.true(readFileSync(join(dir, 'agent.tiles.txt'), 'utf8').startsWith(`%${attends[0]!.id}: `));
});
