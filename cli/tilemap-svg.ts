// The tile map as a picture: queries down, keys across (as the attention matrix is
// written), one rectangle per tile coloured by its class, axes in tokens, a legend with
// the counts and the CLI's summary line. `attnc compile --emit tiles -o DIR` writes it per
// attend; the playground draws the same SVG in the page (optionally with the exact
// element-level mask over it), so a picture in a file and in the browser never disagree.
// Browser-safe: builds a string, no DOM and no node: imports.

import { summaryLine, tileCounts, type TileClass, type TileMap } from './tilemap.js';

/** Three colours that stay distinct for colour-blind readers and in greyscale. */
export const TILE_COLOURS: Readonly<Record<TileClass, string>> = { full: '#1f4e9c', mixed: '#f28e2b', empty: '#d0d0d0' };
const NOT_VISITED = '#ffffff';

export interface TileMapSvgOptions {
  /** First line above the map, e.g. `streaming.attn — attend %3`. */
  title?: string;
  /** Second line, e.g. the dims. */
  subtitle?: string;
  /** Length of the longer axis of the plot, in px. Default 440. */
  size?: number;
  /**
   * The exact mask over the tiles: an image (e.g. a PNG data URL) of `m` × `n` pixels,
   * allowed pairs opaque, masked ones transparent. The tiles are then drawn lighter.
   */
  elements?: { href: string; caption: string };
  /** A `<title>` tooltip per tile (default: when there are at most 1024 tiles). */
  tooltips?: boolean;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const px = (v: number) => Number(v.toFixed(2));

/** Tick positions in tokens: multiples of the tile size (doubled until at most ~6 fit), and the end. */
function ticks(length: number, tile: number): number[] {
  let step = tile;
  while (length / step > 6) step *= 2;
  const out: number[] = [];
  for (let t = 0; t < length; t += step) out.push(t);
  // The last label only when it does not crowd the previous one.
  if (length - out[out.length - 1]! >= step / 2 || out.length === 1) out.push(length);
  else out[out.length - 1] = length;
  return out;
}

/** The tile map `t` as a standalone SVG document. */
export function tileMapSvg(t: TileMap, options: TileMapSvgOptions = {}): string {
  const size = options.size ?? 440;
  const scale = size / Math.max(t.n, t.m, 1); // px per token, the same on both axes
  const plotW = Math.max(1, t.m * scale);
  const plotH = Math.max(1, t.n * scale);
  const counts = tileCounts(t);
  const left = 84;
  const top = (options.title ? 22 : 0) + (options.subtitle ? 18 : 0) + 48;
  const legendX = left + plotW + 24;
  const legendW = 300;
  const width = legendX + legendW;
  const legendH = 16 + 4 * 34 + 14 + (options.elements ? 30 : 0);
  const height = top + Math.max(plotH + 34, legendH) + 10;
  const tooltips = options.tooltips ?? t.tiles.length <= 1024;
  const fade = options.elements ? ' fill-opacity="0.35"' : '';
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${px(width)}" height="${px(height)}" viewBox="0 0 ${px(width)} ${px(height)}"` +
    ` font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12" class="tilemap"` +
    ` data-node="${t.node}" data-full="${counts.full}" data-mixed="${counts.mixed}" data-empty="${counts.empty}"` +
    ` data-visited="${counts.visited}" data-total="${counts.total}">`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  let y = 0;
  if (options.title) out.push(`<text x="12" y="${(y += 18)}" font-size="15" font-weight="600">${esc(options.title)}</text>`);
  if (options.subtitle) out.push(`<text x="12" y="${(y += 18)}" fill="#444">${esc(options.subtitle)}</text>`);

  // Tiles: one rect each when they carry tooltips, else runs of equal colour per row (small files at large N).
  out.push(`<g transform="translate(${left} ${top})" shape-rendering="crispEdges">`);
  const fill = (k: number) => (t.visited[k] ? TILE_COLOURS[t.tiles[k]!] : NOT_VISITED);
  for (let r = 0; r < t.rows; r++) {
    const y0 = r * t.tileQ * scale;
    const h = (Math.min((r + 1) * t.tileQ, t.n) - r * t.tileQ) * scale;
    for (let c = 0; c < t.cols; ) {
      const k = r * t.cols + c;
      let end = c + 1;
      if (!tooltips) while (end < t.cols && fill(r * t.cols + end) === fill(k)) end++;
      const x0 = c * t.tileK * scale;
      const w = (Math.min(end * t.tileK, t.m) - c * t.tileK) * scale;
      const tip = tooltips
        ? `<title>queries ${r * t.tileQ}–${Math.min((r + 1) * t.tileQ, t.n) - 1} × keys ${c * t.tileK}–${Math.min((c + 1) * t.tileK, t.m) - 1}: ${t.tiles[k]}${t.visited[k] ? '' : ', not visited'}</title>`
        : '';
      out.push(`<rect x="${px(x0)}" y="${px(y0)}" width="${px(w)}" height="${px(h)}" fill="${fill(k)}"${fade}>${tip}</rect>`);
      c = end;
    }
  }
  if (options.elements) {
    out.push(`<image href="${esc(options.elements.href)}" x="0" y="0" width="${px(plotW)}" height="${px(plotH)}" preserveAspectRatio="none" style="image-rendering: pixelated"/>`);
  }
  // Tile grid lines when tiles are large enough to see them, and the frame.
  if (t.tileK * scale >= 6 && t.tileQ * scale >= 6) {
    const lines: string[] = [];
    for (let c = 1; c < t.cols; c++) lines.push(`M${px(c * t.tileK * scale)} 0V${px(plotH)}`);
    for (let r = 1; r < t.rows; r++) lines.push(`M0 ${px(r * t.tileQ * scale)}H${px(plotW)}`);
    if (lines.length) out.push(`<path d="${lines.join('')}" stroke="#ffffff" stroke-opacity="0.8" stroke-width="1" fill="none"/>`);
  }
  out.push(`<rect width="${px(plotW)}" height="${px(plotH)}" fill="none" stroke="#333"/>`);

  // Axes: keys along the top (j →), queries down the left (i ↓), in tokens.
  for (const v of ticks(t.m, t.tileK)) {
    const x = px(v * scale);
    out.push(`<path d="M${x} 0v-5" stroke="#333"/><text x="${x}" y="-8" text-anchor="middle" fill="#333">${v}</text>`);
  }
  for (const v of ticks(t.n, t.tileQ)) {
    const yy = px(v * scale);
    out.push(`<path d="M0 ${yy}h-5" stroke="#333"/><text x="-8" y="${yy}" dy="0.35em" text-anchor="end" fill="#333">${v}</text>`);
  }
  out.push(`<text x="${px(plotW / 2)}" y="-26" text-anchor="middle" font-weight="600">keys j →</text>`);
  out.push(`<text x="${8 - left}" y="-26" font-weight="600">queries i ↓</text>`);
  out.push(`<text x="0" y="${px(plotH + 20)}" fill="#333">${esc(summaryLine(counts))}</text>`);
  out.push(`</g>`);

  // Legend: what each colour means to the kernel, with its count.
  const entries: [string, string, string][] = [
    [TILE_COLOURS.full, `full (${counts.full})`, 'every pair allowed: no mask test'],
    [TILE_COLOURS.mixed, `mixed (${counts.mixed})`, 'the mask is tested per pair'],
    [TILE_COLOURS.empty, `empty (${counts.empty})`, 'no pair allowed: skipped'],
    [NOT_VISITED, `not visited (${counts.total - counts.visited})`, 'outside the key ranges'],
  ];
  out.push(`<g transform="translate(${px(legendX)} ${top})">`);
  out.push(`<text y="0" font-weight="600">${t.rows} × ${t.cols} tiles of ${t.tileQ} × ${t.tileK}</text>`);
  entries.forEach(([colour, label, what], k) => {
    const ly = 16 + k * 34;
    out.push(`<rect x="0" y="${ly}" width="16" height="16" fill="${colour}" stroke="#666"/>`);
    out.push(`<text x="24" y="${ly + 8}" dy="-0.1em" font-weight="600">${esc(label)}</text>`);
    out.push(`<text x="24" y="${ly + 22}" fill="#555">${esc(what)}</text>`);
  });
  const visitedPct = counts.total ? ((100 * counts.visited) / counts.total).toFixed(1) : '0.0';
  out.push(`<text y="${16 + entries.length * 34 + 8}">visited: ${visitedPct} % of the tiles</text>`);
  if (options.elements) {
    const ey = 16 + entries.length * 34 + 26;
    out.push(`<rect x="0" y="${ey}" width="16" height="16" fill="#111"/><text x="24" y="${ey + 12}">${esc(options.elements.caption)}</text>`);
  }
  out.push(`</g></svg>`);
  return out.join('\n') + '\n';
}

/** Title and subtitle for the map of one attend: `streaming.attn — attend %3: 512 queries × 512 keys`, the dims. */
export function tileMapCaption(program: string, t: TileMap, dims: Readonly<Record<string, number>>): { title: string; subtitle: string } {
  return {
    title: `${program} — attend %${t.node}: ${t.n} queries × ${t.m} keys`,
    subtitle: Object.entries(dims).map(([d, v]) => `${d} = ${v}`).join(', '),
  };
}
