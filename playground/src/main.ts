// The attnc playground: an .attn editor whose every edit is compiled in the page (the
// compiler is browser-clean), diagnostics, controls for the program's dims and params, the
// block map and the text views, and Run on WebGPU or WebGL2 in a worker. The program and
// controls live in the URL fragment: a link (or a reload) brings them back.

import samples from 'attnc:samples';
import { lineCol } from '../../dsl/format.js';
import type { DeviceCaps } from '../../compiler/caps.js';
import { analyze, type Analysis, type Schedule } from './analysis.js';
import { BlockMapView } from './blockmap.js';
import { Controls, presetSchedule } from './controls.js';
import { createEditor } from './editor.js';
import { markCurrent, renderGallery, type Sample } from './gallery.js';
import type { DeviceReport, ProgramRef } from './protocol.js';
import { RunPanel } from './run-panel.js';
import { decodeState, encodeState, type Shared } from './state.js';
import { TextViews } from './views.js';
import { WorkerClient } from './worker-client.js';

const $ = <T extends HTMLElement>(sel: string) => document.querySelector<T>(sel)!;
const TABS = ['blockmap', 'ir', 'wgsl', 'webgl', 'plan'] as const;
const DEFAULT_SAMPLE = 'streaming.attn';

/** Errors for the page, not only the console: device errors, worker failures, bugs. */
function showError(message: string): void {
  const box = $('#errors');
  const item = box.appendChild(document.createElement('div'));
  item.className = 'error';
  item.append(Object.assign(document.createElement('pre'), { textContent: message }));
  const close = item.appendChild(Object.assign(document.createElement('button'), { type: 'button', textContent: '×', title: 'dismiss' }));
  close.addEventListener('click', () => item.remove());
}
window.addEventListener('error', (e) => showError(`page error: ${e.message}`));
window.addEventListener('unhandledrejection', (e) => showError(`page error: ${(e.reason as Error)?.message ?? String(e.reason)}`));

const initial = decodeState(location.hash);
const fallback = samples.find((s) => s.file === DEFAULT_SAMPLE) ?? samples[0]!;
const state: Shared & { schedule: string; view: string } = {
  ...(initial ?? { source: fallback.text, params: {}, dims: {}, sample: fallback.file }),
  schedule: 'default',
  view: initial?.view && (TABS as readonly string[]).includes(initial.view) ? initial.view : 'blockmap',
};
let deviceCaps: DeviceCaps | null = null;
let current: ProgramRef | null = null;
let analysis: Analysis | null = null;

const client = new WorkerClient(new URL('./worker.js', import.meta.url), (m) => showError(m));
const editor = createEditor($('#editor'), state.source, (text) => {
  state.source = text;
  if (state.sample && samples.find((s) => s.file === state.sample)?.text !== text) state.sample = undefined;
  schedule();
});
const blockmap = new BlockMapView($('#pane-blockmap'), client, showError);
const views = new TextViews({ ir: $('#pane-ir'), wgsl: $('#pane-wgsl'), webgl: $('#pane-webgl'), plan: $('#pane-plan') }, client, () => state.view);
new RunPanel($('#run'), client, () => current);
const controls = new Controls($('#controls'), {
  dim(name, value) {
    state.dims = { ...state.dims, [name]: value };
    update();
  },
  param(name, value) {
    state.params = { ...state.params, [name]: value };
    update();
  },
  entry(name) {
    state.entry = name;
    update();
  },
  schedule: (value) => void chooseSchedule(value),
});

async function chooseSchedule(value: string): Promise<void> {
  state.schedule = value;
  if (value === 'device' && !deviceCaps) {
    const r = await client.request<DeviceReport>({ kind: 'device' }).catch((e: Error) => ({ webgpu: { error: e.message } }));
    if ('error' in r.webgpu) {
      showError(`no WebGPU device to schedule for: ${r.webgpu.error}`);
      state.schedule = 'default';
    } else deviceCaps = r.webgpu.caps;
  }
  update();
}

function scheduleFor(value: string): Schedule {
  if (value === 'device' && deviceCaps) return { kind: 'caps', name: 'device', caps: deviceCaps };
  return presetSchedule(value) ?? presetSchedule('default')!;
}

function renderDiagnostics(a: Analysis): void {
  const list = $('#diagnostics');
  const diags = a.result.diagnostics;
  list.dataset.count = String(diags.length);
  if (!diags.length) {
    list.replaceChildren(Object.assign(document.createElement('li'), { className: 'ok', textContent: `no problems — ${a.result.graph?.name ?? ''} compiles` }));
    return;
  }
  list.replaceChildren(...diags.map((d) => {
    const li = document.createElement('li');
    li.className = `diag ${d.severity}`;
    li.dataset.code = d.code;
    const at = d.span ? lineCol(state.source, d.span.start) : null;
    li.append(
      Object.assign(document.createElement('span'), { className: 'pos', textContent: at ? `${at.line}:${at.col}` : '—' }),
      Object.assign(document.createElement('b'), { className: 'code', textContent: `${d.severity}[${d.code}]` }),
      Object.assign(document.createElement('span'), { className: 'msg', textContent: d.message }),
    );
    if (d.hint) li.append(Object.assign(document.createElement('div'), { className: 'hint', textContent: `hint: ${d.hint}` }));
    if (d.span) li.addEventListener('click', () => editor.reveal(d.span!.start, d.span!.end));
    return li;
  }));
}

let timer: ReturnType<typeof setTimeout> | undefined;
/** Recompile shortly after typing stops (a compile is ~1 ms; the views take longer to draw). */
function schedule(): void {
  clearTimeout(timer);
  timer = setTimeout(update, 150);
}

function update(): void {
  clearTimeout(timer);
  const a = analyze(state.source, state.entry, state.params, state.dims, scheduleFor(state.schedule));
  analysis = a;
  editor.showDiagnostics(a.result.diagnostics);
  renderDiagnostics(a);
  controls.update(a, state.schedule);
  const complete = a.result.ok && Object.keys(a.dimValues).length > 0;
  current = complete ? {
    source: state.source, ...(state.entry ? { entry: state.entry } : {}), dims: a.dimValues,
    params: Object.fromEntries(a.params.filter((p) => p.value !== p.initial).map((p) => [p.name, p.value])),
  } : null;
  const name = state.sample ?? `${a.result.graph?.name ?? a.def?.name.name ?? 'program'}.attn`;
  blockmap.update(current ?? { source: state.source, params: {}, dims: a.dimValues }, name, a.maps);
  views.update(a, current);
  markCurrent($('#gallery'), state.sample);
  document.title = `${name} — attnc playground`;
  saveUrl();
}

/** The shareable state into the URL (replacing, not pushing: typing makes no history). */
function saveUrl(): void {
  const { schedule: _, ...shared } = state;
  history.replaceState(null, '', `#${encodeState(shared)}`);
}

function pick(s: Sample): void {
  state.sample = s.file;
  state.params = {};
  state.dims = {};
  state.entry = undefined;
  editor.setText(s.text); // fires the change listener, which keeps state.sample (the text matches)
  update();
}

function showTab(tab: string): void {
  state.view = tab;
  for (const t of TABS) {
    $(`#tab-${t}`).setAttribute('aria-selected', String(t === tab));
    $(`#pane-${t}`).hidden = t !== tab;
  }
  views.shown(tab);
  if (analysis) saveUrl();
}

for (const t of TABS) $(`#tab-${t}`).addEventListener('click', () => showTab(t));
$('#share').addEventListener('click', () => {
  navigator.clipboard.writeText(location.href).then(
    () => ($('#share').textContent = 'Link copied'),
    () => showError(`copy this link: ${location.href}`),
  );
});
renderGallery($('#gallery'), samples, pick);
showTab(state.view);
update();
