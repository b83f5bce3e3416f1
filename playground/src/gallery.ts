// The gallery: one card per sample in samples/*.attn (bundled at build time), with its
// name, the first line of its comment (the paper it follows) and a thumbnail of its last
// attend's tile map at its default dims, in the colours of the full block map.

import { TILE_COLOURS } from '../../cli/tilemap-svg.js';
import { tileMap, type TileMap } from '../../cli/tilemap.js';
import { compile } from '../../compiler/compile.js';
import { resolveDims } from '../../runtime/shapes.js';

export interface Sample {
  file: string;
  text: string;
}

/** A tiny map: tiles only, no axes or legend (unvisited tiles white, as in the full map). */
function thumbnail(t: TileMap, size = 72): string {
  const s = size / Math.max(t.rows, t.cols);
  const rects: string[] = [];
  t.tiles.forEach((cls, k) => {
    if (!t.visited[k]) return;
    const [r, c] = [Math.floor(k / t.cols), k % t.cols];
    rects.push(`<rect x="${(c * s).toFixed(1)}" y="${(r * s).toFixed(1)}" width="${s.toFixed(1)}" height="${s.toFixed(1)}" fill="${TILE_COLOURS[cls]}"/>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${(t.cols * s).toFixed(0)}" height="${(t.rows * s).toFixed(0)}" class="thumb" aria-hidden="true">` +
    `<rect width="100%" height="100%" fill="#fff" stroke="#999"/>${rects.join('')}</svg>`;
}

/** The first comment line, up to its first sentence or parenthesis. */
function blurb(text: string): string {
  const comment = text.split('\n').filter((l) => l.startsWith('//')).map((l) => l.replace(/^\/\/\s?/, '')).join(' ');
  return comment.split(/(?<=[.:])\s/)[0]!.replace(/[.:]$/, '');
}

export function renderGallery(root: HTMLElement, samples: readonly Sample[], pick: (s: Sample) => void): void {
  root.replaceChildren();
  for (const s of samples) {
    const card = root.appendChild(document.createElement('button'));
    card.type = 'button';
    card.className = 'card';
    card.dataset.sample = s.file;
    const r = compile(s.text, { path: s.file });
    const g = r.graph;
    let thumb = '';
    if (g) {
      const attends = g.nodes.filter((n) => n.op === 'attend');
      const last = attends[attends.length - 1];
      if (last?.op === 'attend') thumb = thumbnail(tileMap(g, last, resolveDims(g)));
    }
    card.innerHTML = `${thumb}<span class="name"></span><span class="blurb"></span>`;
    card.querySelector('.name')!.textContent = s.file;
    card.querySelector('.blurb')!.textContent = blurb(s.text);
    card.title = s.text.split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n');
    card.addEventListener('click', () => pick(s));
  }
}

/** Mark the card of the current program's sample (none once it is edited). */
export function markCurrent(root: HTMLElement, file: string | undefined): void {
  for (const c of root.querySelectorAll<HTMLElement>('.card')) c.classList.toggle('current', c.dataset.sample === file);
}
