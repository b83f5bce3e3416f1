// The page's side of the worker: one request → one promise, with progress callbacks; a
// worker that fails to load or crashes rejects every pending request with its reason (so
// the page shows it), and errors the device reports between requests go to `onDeviceError`.

import type { Reply, Request } from './protocol.js';

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  progress?: (fraction: number, stage: string) => void;
}

export class WorkerError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export class WorkerClient {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private next = 1;

  constructor(url: URL, private readonly onDeviceError: (message: string) => void) {
    this.worker = new Worker(url, { type: 'module' });
    this.worker.onmessage = (e: MessageEvent<Reply>) => this.receive(e.data);
    this.worker.onerror = (e) => {
      e.preventDefault();
      this.failAll(`the worker failed: ${e.message || 'it could not be loaded'}`);
    };
    this.worker.onmessageerror = () => this.failAll('a message from the worker could not be read');
  }

  request<T>(request: Request, progress?: (fraction: number, stage: string) => void): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, progress });
      this.worker.postMessage({ id, request });
    });
  }

  private receive(r: Reply): void {
    if (r.kind === 'device-error') {
      this.onDeviceError(r.message);
      return;
    }
    const p = this.pending.get(r.id);
    if (!p) return;
    if (r.kind === 'progress') p.progress?.(r.fraction, r.stage);
    else {
      this.pending.delete(r.id);
      if (r.kind === 'done') p.resolve(r.result);
      else p.reject(new WorkerError(r.name, r.message));
    }
  }

  private failAll(message: string): void {
    for (const p of this.pending.values()) p.reject(new WorkerError('WorkerError', message));
    this.pending.clear();
    this.onDeviceError(message);
  }
}
