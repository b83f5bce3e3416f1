// The text views: the module after any pass (graph IR after a graph pass, kernel IR after
// `fuse` and `tile`), each kernel's WGSL, the WebGL kernels (gpu.js's GLSL, rendered in the
// worker where the WebGL context is) and the dispatch plan — the texts `attnc compile
// --emit <pass>`, `--target wgsl` and `--target webgl` print.

import type { Analysis } from './analysis.js';
import type { ProgramRef } from './protocol.js';
import type { WorkerClient } from './worker-client.js';

function pre(text: string): HTMLPreElement {
  return Object.assign(document.createElement('pre'), { className: 'code', textContent: text });
}

export class TextViews {
  private pass = 'simplify';
  private kernel = '';
  private webglKey = '';
  private analysis: Analysis | null = null;
  private program: ProgramRef | null = null;

  constructor(
    private readonly panes: { ir: HTMLElement; wgsl: HTMLElement; webgl: HTMLElement; plan: HTMLElement },
    private readonly client: WorkerClient,
    private readonly visible: () => string,
  ) {}

  update(a: Analysis, program: ProgramRef | null): void {
    this.analysis = a;
    this.program = program;
    this.renderIr();
    this.renderWgsl();
    this.panes.plan.replaceChildren(pre(a.plan || (a.wgsl.length ? '' : '// no dispatch plan: the program does not compile, or the schedule is WebGL (see the WebGL tab)')));
    if (this.visible() === 'webgl') this.renderWebgl();
  }

  /** The WebGL tab was opened: render its kernels if the program changed since. */
  shown(tab: string): void {
    if (tab === 'webgl') this.renderWebgl();
  }

  private renderIr(): void {
    const a = this.analysis!;
    const pane = this.panes.ir;
    if (!a.passes.length) {
      pane.replaceChildren(pre('// no IR: the program has errors (see the diagnostics)'));
      return;
    }
    if (!a.passes.some((p) => p.name === this.pass)) this.pass = a.passes[a.passes.length - 1]!.name;
    const select = document.createElement('select');
    select.name = 'pass';
    for (const p of a.passes) {
      select.add(new Option(`after ${p.name} (${p.stage === 'graph' ? 'graph IR' : 'kernel IR'}): ${p.summary}`, p.name, false, p.name === this.pass));
    }
    select.addEventListener('change', () => {
      this.pass = select.value;
      this.renderIr();
    });
    const bar = Object.assign(document.createElement('div'), { className: 'toolbar' });
    bar.append('module ', select);
    pane.replaceChildren(bar, pre(a.passes.find((p) => p.name === this.pass)!.text));
  }

  private renderWgsl(): void {
    const a = this.analysis!;
    const pane = this.panes.wgsl;
    if (!a.wgsl.length) {
      pane.replaceChildren(pre(a.result.ok ? '// the schedule is WebGL: see the WebGL tab' : '// no kernels: the program has errors'));
      return;
    }
    if (!a.wgsl.some((k) => k.name === this.kernel)) this.kernel = a.wgsl[0]!.name;
    const select = document.createElement('select');
    select.name = 'kernel';
    for (const k of a.wgsl) select.add(new Option(k.name, k.name, false, k.name === this.kernel));
    select.addEventListener('change', () => {
      this.kernel = select.value;
      this.renderWgsl();
    });
    const bar = Object.assign(document.createElement('div'), { className: 'toolbar' });
    bar.append(`kernel (${a.wgsl.length}, in dispatch order) `, select);
    pane.replaceChildren(bar, pre(a.wgsl.find((k) => k.name === this.kernel)!.source));
  }

  private renderWebgl(): void {
    const program = this.program;
    const pane = this.panes.webgl;
    if (!program) {
      pane.replaceChildren(pre('// no kernels: the program has errors'));
      return;
    }
    const key = JSON.stringify(program);
    if (key === this.webglKey) return;
    this.webglKey = key;
    pane.replaceChildren(pre('// building the WebGL kernels in the worker (gpu.js translates them on a first run)…'));
    this.client.request<string>({ kind: 'webgl-source', program }).then(
      (text) => {
        if (key === this.webglKey) pane.replaceChildren(pre(`// WebGL kernels at ${Object.entries(program.dims).map(([d, v]) => `${d}=${v}`).join(', ')} (specialised on every dim)\n${text}`));
      },
      (e: Error) => {
        if (key !== this.webglKey) return;
        this.webglKey = '';
        pane.replaceChildren(Object.assign(pre(`${e.name}: ${e.message}`), { className: 'code error' }));
      },
    );
  }
}
