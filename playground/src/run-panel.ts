// The Run panel: pick WebGPU or WebGL2, press Run; the worker runs the program on generated
// inputs at the current dims, times it alternating with dense attention at the same shape,
// runs the float64 reference and compares. The page shows the stage and a progress bar
// meanwhile, then the backend, median time, speed-up and max error — or the error.

import type { ProgramRef, RunReport } from './protocol.js';
import type { WorkerClient } from './worker-client.js';

const fmtMs = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));

export class RunPanel {
  private readonly button: HTMLButtonElement;
  private readonly bar: HTMLProgressElement;
  private readonly stage: HTMLElement;
  private readonly out: HTMLElement;

  constructor(private readonly root: HTMLElement, private readonly client: WorkerClient, private readonly current: () => ProgramRef | null) {
    root.innerHTML = `
      <div class="toolbar">
        <label>backend <select name="backend"><option value="webgpu">WebGPU</option><option value="webgl">WebGL2</option></select></label>
        <label>timed runs <input name="runs" type="number" min="1" max="50" value="5"></label>
        <button class="run" type="button">Run</button>
        <progress max="1" value="0" hidden></progress>
        <span class="stage" role="status"></span>
      </div>
      <p class="hint">Inputs are generated (seeded, uniform in [−1, 1)) at the dims above. Small dims run in seconds;
      the first run of a program compiles its shaders.</p>
      <div class="result" data-state="idle"></div>`;
    this.button = root.querySelector('button.run')!;
    this.bar = root.querySelector('progress')!;
    this.stage = root.querySelector('.stage')!;
    this.out = root.querySelector('.result')!;
    this.button.addEventListener('click', () => void this.run());
  }

  private async run(): Promise<void> {
    const program = this.current();
    if (!program) {
      this.show('error', 'the program has errors: fix them first (see the diagnostics)');
      return;
    }
    const backend = (this.root.querySelector('select[name=backend]') as HTMLSelectElement).value as 'webgpu' | 'webgl';
    const runs = Math.min(50, Math.max(1, Math.floor(Number((this.root.querySelector('input[name=runs]') as HTMLInputElement).value) || 5)));
    this.button.disabled = true;
    this.bar.hidden = false;
    this.bar.value = 0;
    this.out.dataset.state = 'running';
    this.out.replaceChildren();
    try {
      const r = await this.client.request<RunReport>({ kind: 'run', program, backend, runs }, (fraction, stage) => {
        this.bar.value = fraction;
        this.stage.textContent = stage;
      });
      this.report(r);
    } catch (e) {
      this.show('error', `${(e as Error).name}: ${(e as Error).message}`);
    } finally {
      this.button.disabled = false;
      this.bar.hidden = true;
      this.stage.textContent = '';
    }
  }

  private show(state: 'error', message: string): void {
    this.out.dataset.state = state;
    this.out.replaceChildren(Object.assign(document.createElement('pre'), { className: 'error', textContent: message }));
  }

  private report(r: RunReport): void {
    const ok = r.worstRatio <= 1;
    const rows: [string, string, string][] = [
      ['backend', r.backend, r.device],
      ['time', `${fmtMs(r.ms)} ms`, `median of ${r.runs}: ${r.timing}${r.gpuMs !== null ? `; GPU time ${fmtMs(r.gpuMs)} ms` : ''}`],
      ['dense', `${fmtMs(r.denseMs)} ms`, `dense attention at q, k, v [${r.denseShape.join(', ')}], runs alternated with the program's`],
      ['speed-up', `${r.speedup.toFixed(2)}×`, `over dense attention (median of the per-pair ratios of wall-clock times${
        r.gpuSpeedup !== null ? `; of GPU times: ${r.gpuSpeedup.toFixed(2)}×` : ''})`],
      ['max error', r.maxAbsError.toExponential(2), `vs the float64 reference; ${ok ? 'within' : 'OUTSIDE'} the tolerance 1e-4 + 1e-4·|ref| (worst ${r.worstRatio.toFixed(3)}× of it)`],
      ['output', `[${r.shape.join(', ')}]`, ''],
    ];
    const table = document.createElement('table');
    for (const [field, value, note] of rows) {
      const tr = table.insertRow();
      tr.dataset.field = field;
      tr.insertCell().textContent = field;
      const v = tr.insertCell();
      v.className = 'value';
      v.textContent = value;
      tr.insertCell().textContent = note;
    }
    this.out.dataset.state = 'done';
    this.out.dataset.ok = String(ok);
    this.out.replaceChildren(table);
  }
}
