// Dims and params controls, built from the program's own `dims` and `param` declarations
// (their defaults shown beside), the entry (for files with several definitions) and the
// device the kernel views are scheduled for. Rebuilt only when the declarations change, so
// typing in a control is never interrupted by the page re-rendering it.

import type { Analysis, Schedule } from './analysis.js';
import { PRESET_SCHEDULES } from './analysis.js';

export interface ControlEvents {
  dim(name: string, value: number): void;
  param(name: string, value: number | boolean): void;
  entry(name: string): void;
  schedule(value: string): void;
}

/** The schedule select's value → a Schedule (`device` needs the worker's answer: resolved by the caller). */
export function presetSchedule(value: string): Schedule | undefined {
  if (value === 'webgl') return { kind: 'webgl' };
  return PRESET_SCHEDULES.find((s) => s.kind === 'caps' && s.name === value);
}

export class Controls {
  private signature = '';

  constructor(private readonly root: HTMLElement, private readonly on: ControlEvents) {}

  update(a: Analysis, schedule: string): void {
    const signature = JSON.stringify([a.result.entries, a.dims.map((d) => [d.name, d.initial, d.bound]), a.params.map((p) => [p.name, p.initial])]);
    if (signature !== this.signature) {
      this.signature = signature;
      this.build(a, schedule);
    }
    // Values the page changed itself (a shared link, a sample) without the declarations changing.
    for (const d of a.dims) this.set(`dim-${d.name}`, d.value);
    for (const p of a.params) this.set(`param-${p.name}`, p.value);
  }

  private set(id: string, value: number | boolean): void {
    const input = this.root.querySelector<HTMLInputElement>(`#${CSS.escape(id)}`);
    if (!input || input === document.activeElement) return;
    if (input.type === 'checkbox') input.checked = value === true;
    else input.value = String(value);
  }

  private build(a: Analysis, schedule: string): void {
    this.root.replaceChildren();
    const group = (title: string) => {
      const fs = this.root.appendChild(document.createElement('fieldset'));
      fs.appendChild(document.createElement('legend')).textContent = title;
      return fs;
    };
    if (a.result.entries.length > 1) {
      const select = document.createElement('select');
      for (const e of a.result.entries) select.add(new Option(e, e, false, e === a.def?.name.name));
      select.addEventListener('change', () => this.on.entry(select.value));
      group('entry').append(select);
    }
    const dims = group('dims');
    if (!a.dims.length) dims.append('(none: the program does not compile)');
    for (const d of a.dims) {
      const input = this.number(`dim-${d.name}`, d.value, 1, 0, !d.bound);
      input.title = d.bound ? `default ${d.initial}` : `${d.name} is bound by no input's shape: it keeps its default`;
      input.addEventListener('change', () => {
        if (input.validity.valid && input.value !== '') this.on.dim(d.name, Number(input.value));
      });
      dims.append(this.label(d.name, input, `= ${d.initial}`));
    }
    const params = group('params');
    if (!a.params.length) params.append('(none declared)');
    for (const p of a.params) {
      let input: HTMLInputElement;
      if (typeof p.initial === 'boolean') {
        input = Object.assign(document.createElement('input'), { type: 'checkbox', id: `param-${p.name}`, checked: p.value === true });
        input.addEventListener('change', () => this.on.param(p.name, input.checked));
      } else {
        input = this.number(`param-${p.name}`, p.value as number, p.isFloat ? 'any' : 1, undefined, false);
        input.addEventListener('change', () => {
          if (input.validity.valid && input.value !== '') this.on.param(p.name, Number(input.value));
        });
      }
      params.append(this.label(p.name, input, `= ${p.initial}`));
    }
    const sched = document.createElement('select');
    sched.id = 'schedule';
    const options: [string, string][] = [
      ['default', 'WebGPU default limits'], ['lavapipe', 'lavapipe (subgroups of 8)'], ['subgroups32', 'subgroups of 32'],
      ['device', "this browser's WebGPU device"], ['webgl', 'WebGL (at these dims)'],
    ];
    for (const [value, label] of options) sched.add(new Option(label, value, false, value === schedule));
    sched.addEventListener('change', () => this.on.schedule(sched.value));
    group('kernels scheduled for').append(sched);
  }

  private number(id: string, value: number, step: number | 'any', min: number | undefined, disabled: boolean): HTMLInputElement {
    const input = Object.assign(document.createElement('input'), { type: 'number', id, value: String(value), step: String(step), disabled });
    if (min !== undefined) input.min = String(min);
    return input;
  }

  private label(name: string, input: HTMLInputElement, note: string): HTMLLabelElement {
    const label = document.createElement('label');
    label.htmlFor = input.id;
    label.append(Object.assign(document.createElement('span'), { className: 'name', textContent: name }), input,
      Object.assign(document.createElement('span'), { className: 'default', textContent: note }));
    return label;
  }
}
