// GPU-side timing of a run (the `timestamp-query` feature): a timestamp at the beginning
// and at the end of compute passes, resolved in the run's own command encoder and copied
// behind the output into its readback buffer, so timing adds no submit and no extra map.
// A plain timed run writes two (the first pass's beginning, the last pass's end); a
// profiled run writes both ends of every pass, so each kernel gets its own time.

import { BufferUsage } from './flags.js';

/** Bytes one resolved timestamp takes (u64 ns). */
const TIMESTAMP = 8;

const perDevice = new WeakMap<GPUDevice, { set: GPUQuerySet; resolved: GPUBuffer; count: number }>();

/**
 * The timestamps of one run of `passes` compute passes on `device` (which must grant
 * `timestamp-query`); `perPass`: both ends of every pass, else the run's two ends. The
 * query set is shared by the runs on a device (grown when a run needs more): each run
 * writes, resolves and copies its timestamps within its own submit, and the queue orders
 * submits.
 */
export class PassTimer {
  private readonly q: { set: GPUQuerySet; resolved: GPUBuffer };
  /** Timestamps this run writes. */
  readonly count: number;

  constructor(device: GPUDevice, private readonly passes: number, private readonly perPass: boolean) {
    this.count = perPass ? 2 * passes : 2;
    let q = perDevice.get(device);
    if (!q || q.count < this.count) {
      // The smaller set is left to the garbage collector, not destroyed: a run submitted
      // with it may still be in flight.
      q = {
        set: device.createQuerySet({ type: 'timestamp', count: this.count, label: 'attnc timing' }),
        resolved: device.createBuffer({
          size: this.count * TIMESTAMP,
          usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC,
          label: 'attnc timing',
        }),
        count: this.count,
      };
      perDevice.set(device, q);
    }
    this.q = q;
  }

  /** Bytes the resolved timestamps take in the readback buffer. */
  get bytes(): number {
    return this.count * TIMESTAMP;
  }

  /** `timestampWrites` for pass `idx` of the run. */
  writes(idx: number): GPUComputePassTimestampWrites | undefined {
    if (this.perPass) return { querySet: this.q.set, beginningOfPassWriteIndex: 2 * idx, endOfPassWriteIndex: 2 * idx + 1 };
    const [first, last] = [idx === 0, idx === this.passes - 1];
    if (!first && !last) return undefined;
    return {
      querySet: this.q.set,
      ...(first ? { beginningOfPassWriteIndex: 0 } : {}),
      ...(last ? { endOfPassWriteIndex: 1 } : {}),
    };
  }

  /** Resolve the run's timestamps and copy them to `dst` at `offset` (a multiple of 8). */
  resolve(enc: GPUCommandEncoder, dst: GPUBuffer, offset: number): void {
    enc.resolveQuerySet(this.q.set, 0, this.count, this.q.resolved, 0);
    enc.copyBufferToBuffer(this.q.resolved, 0, dst, offset, this.bytes);
  }

  /**
   * The times in ms, from the resolved `bytes`: the run's (first beginning to last end)
   * and, when per pass, each pass's. Null when a pair is not ordered (the spec allows
   * timestamps that are not monotonic; those are no measurement).
   */
  read(bytes: ArrayBuffer): { ms: number; passes: number[] } | null {
    const t = new BigUint64Array(bytes, 0, this.count);
    const span = (begin: bigint, end: bigint) => (end >= begin ? Number(end - begin) / 1e6 : null);
    const total = span(t[0]!, t[this.count - 1]!);
    const passes = this.perPass ? [...Array(this.passes).keys()].map((i) => span(t[2 * i]!, t[2 * i + 1]!)) : [];
    if (total === null || passes.some((ms) => ms === null)) return null;
    return { ms: total, passes: passes as number[] };
  }
}
