// GPU-side timing of a run (the `timestamp-query` feature): a timestamp at the beginning of
// the first compute pass and one at the end of the last, resolved in the run's own command
// encoder and copied behind the output into its readback buffer, so timing adds no submit
// and no extra map. GPU time = end − begin, reported in ms.

/** Bytes the two resolved timestamps take in the readback buffer. */
export const TIMESTAMP_BYTES = 16;

interface Queries {
  set: GPUQuerySet;
  /** Where resolveQuerySet writes (QUERY_RESOLVE buffers cannot be mapped). */
  resolved: GPUBuffer;
}

const perDevice = new WeakMap<GPUDevice, Queries>();

/**
 * The begin/end timestamps of one run on `device` (which must grant `timestamp-query`).
 * Shared by the runs on a device: each run writes, resolves and copies them within its
 * own submit, and the queue orders submits.
 */
export class PassTimer {
  private readonly q: Queries;

  constructor(device: GPUDevice) {
    let q = perDevice.get(device);
    if (!q) {
      q = {
        set: device.createQuerySet({ type: 'timestamp', count: 2, label: 'attnc timing' }),
        resolved: device.createBuffer({
          size: TIMESTAMP_BYTES,
          usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
          label: 'attnc timing',
        }),
      };
      perDevice.set(device, q);
    }
    this.q = q;
  }

  /** `timestampWrites` for a pass: begin on the first of the run's passes, end on the last. */
  writes(first: boolean, last: boolean): GPUComputePassTimestampWrites | undefined {
    if (!first && !last) return undefined;
    return {
      querySet: this.q.set,
      ...(first ? { beginningOfPassWriteIndex: 0 } : {}),
      ...(last ? { endOfPassWriteIndex: 1 } : {}),
    };
  }

  /** Resolve both timestamps and copy them to `dst` at `offset` (a multiple of 8). */
  resolve(enc: GPUCommandEncoder, dst: GPUBuffer, offset: number): void {
    enc.resolveQuerySet(this.q.set, 0, 2, this.q.resolved, 0);
    enc.copyBufferToBuffer(this.q.resolved, 0, dst, offset, TIMESTAMP_BYTES);
  }
}

/**
 * GPU ms between the two timestamps (u64 ns) in `bytes`, or null when they are not
 * ordered (the spec allows timestamps that are not monotonic; those are no measurement).
 */
export function gpuMs(bytes: ArrayBuffer): number | null {
  const [begin, end] = new BigUint64Array(bytes, 0, 2) as unknown as [bigint, bigint];
  return end >= begin ? Number(end - begin) / 1e6 : null;
}
