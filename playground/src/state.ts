// The playground's shareable state — the program text, the entry, the param and dim
// overrides and the open view — in the URL's fragment, so a link reproduces what its
// sender saw and a reload keeps the work. base64url of UTF-8 JSON: any text survives, and
// the fragment never reaches a server (a static host sees only the page).

import type { Dims, Params } from './protocol.js';

export interface Shared {
  source: string;
  entry?: string;
  params: Params;
  dims: Dims;
  /** The sample the program came from, when unchanged (highlighted in the gallery). */
  sample?: string;
  view?: string;
}

function toBase64Url(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): Uint8Array {
  const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export function encodeState(s: Shared): string {
  return 'p=' + toBase64Url(new TextEncoder().encode(JSON.stringify(s)));
}

/** The state in a URL fragment (`#p=…`), or null when there is none or it is damaged. */
export function decodeState(hash: string): Shared | null {
  const m = /^#?p=([A-Za-z0-9_-]+)$/.exec(hash);
  if (!m) return null;
  try {
    const s = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(fromBase64Url(m[1]!))) as Partial<Shared>;
    if (typeof s.source !== 'string') return null;
    const numbers = (o: unknown, ok: (v: unknown) => boolean) =>
      Object.fromEntries(Object.entries(typeof o === 'object' && o ? o : {}).filter(([, v]) => ok(v)));
    return {
      source: s.source,
      ...(typeof s.entry === 'string' ? { entry: s.entry } : {}),
      params: numbers(s.params, (v) => typeof v === 'number' || typeof v === 'boolean') as Params,
      dims: numbers(s.dims, (v) => Number.isInteger(v) && (v as number) >= 0) as Dims,
      ...(typeof s.sample === 'string' ? { sample: s.sample } : {}),
      ...(typeof s.view === 'string' ? { view: s.view } : {}),
    };
  } catch {
    return null;
  }
}
