// The block map tab: each attend's tile map drawn by cli/tilemap-svg.ts (the SVG that
// `attnc compile --emit tiles -o` writes), and for small attends a zoom to the exact mask —
// every allowed pair, evaluated in the worker with the reference executor's evaluator —
// drawn over the tiles, so one sees which pairs make a tile mixed.

import { tileMapCaption, tileMapSvg } from '../../cli/tilemap-svg.js';
import type { TileMap } from '../../cli/tilemap.js';
import { ELEMENT_LIMIT, type MaskReport, type ProgramRef } from './protocol.js';
import type { WorkerClient } from './worker-client.js';

/** The allowed pairs as a PNG data URL, one pixel per pair: allowed dark, masked transparent. */
function maskImage(r: MaskReport): string {
  const canvas = document.createElement('canvas');
  canvas.width = r.m;
  canvas.height = r.n;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(r.m, r.n);
  for (let k = 0; k < r.allowed.length; k++) {
    if (!r.allowed[k]) continue;
    img.data.set([17, 17, 17, 255], 4 * k);
  }
  ctx.putImageData(img, 0, 0);
  return canvas.toDataURL('image/png');
}

export class BlockMapView {
  private zoom: 'tiles' | 'elements' = 'tiles';
  private head = 0;
  private generation = 0;
  private last: { program: ProgramRef; name: string; maps: TileMap[] } | null = null;
  private readonly maps: HTMLElement;
  private readonly note: HTMLElement;
  private readonly headInput: HTMLInputElement;

  constructor(private readonly root: HTMLElement, private readonly client: WorkerClient, private readonly onError: (m: string) => void) {
    root.innerHTML = `
      <div class="toolbar">
        <span>zoom:</span>
        <label><input type="radio" name="zoom" value="tiles" checked> tiles (64 × 64)</label>
        <label><input type="radio" name="zoom" value="elements"> elements (exact mask, n·m ≤ ${ELEMENT_LIMIT.toLocaleString('en')})</label>
        <label class="head">head <input type="number" min="0" value="0" step="1"></label>
        <span class="note"></span>
      </div>
      <div class="maps"></div>`;
    this.maps = root.querySelector('.maps')!;
    this.note = root.querySelector('.note')!;
    this.headInput = root.querySelector('.head input')!;
    for (const r of root.querySelectorAll<HTMLInputElement>('input[name=zoom]')) {
      r.addEventListener('change', () => {
        this.zoom = r.value as 'tiles' | 'elements';
        this.redraw();
      });
    }
    this.headInput.addEventListener('change', () => {
      this.head = Math.max(0, Math.floor(Number(this.headInput.value) || 0));
      this.redraw();
    });
  }

  update(program: ProgramRef, name: string, maps: TileMap[]): void {
    this.last = { program, name, maps };
    this.headInput.max = String(Math.max(0, (program.dims.H ?? 1) - 1));
    this.redraw();
  }

  /** Draw every attend's map now; in element zoom, ask the worker for the masks and draw them over. */
  private redraw(): void {
    const last = this.last;
    const gen = ++this.generation;
    this.root.dataset.state = 'drawing';
    if (!last) return;
    this.root.dataset.program = last.name;
    this.maps.replaceChildren();
    this.note.textContent = last.maps.length ? '' : 'no block map: the program does not compile at these dims';
    const boxes = last.maps.map((map) => {
      const box = this.maps.appendChild(document.createElement('div'));
      box.className = 'map';
      box.innerHTML = tileMapSvg(map, tileMapCaption(last.name, map, last.program.dims));
      return box;
    });
    if (this.zoom === 'tiles') {
      this.root.dataset.state = 'ready';
      return;
    }
    void Promise.all(last.maps.map(async (map, k) => {
      if (map.n * map.m > ELEMENT_LIMIT) {
        boxes[k]!.insertAdjacentHTML('afterbegin', `<p class="note">%${map.node}: ${map.n} × ${map.m} pairs — the element zoom draws attends up to ${ELEMENT_LIMIT.toLocaleString('en')} pairs; lower N</p>`);
        return;
      }
      const r = await this.client.request<MaskReport>({ kind: 'mask', program: last.program, node: map.node, head: this.head });
      if (gen !== this.generation) return;
      const caption = `allowed pair: ${r.count.toLocaleString('en')} of ${(r.n * r.m).toLocaleString('en')} (b = 0, h = ${r.head})`;
      boxes[k]!.innerHTML = tileMapSvg(map, { ...tileMapCaption(last.name, map, last.program.dims), elements: { href: maskImage(r), caption } }) +
        (r.note ? `<p class="note">${r.note}</p>` : '');
    })).then(
      () => {
        if (gen === this.generation) this.root.dataset.state = 'ready';
      },
      (e: Error) => {
        if (gen !== this.generation) return;
        this.root.dataset.state = 'ready';
        this.onError(`mask: ${e.message}`);
      },
    );
  }
}
