// Errors of the WebGPU runtime: plain Error subclasses whose messages say what went wrong
// and what to do; users see the message, never a stack trace.

export class WebGPUError extends Error {
  override name = 'WebGPUError';
}

/** No adapter: no WebGPU implementation or no (software) Vulkan driver. */
export class NoAdapterError extends WebGPUError {
  override name = 'NoAdapterError';
  constructor(detail = '') {
    super(
      'no WebGPU adapter found' + (detail ? ` (${detail})` : '') + '. ' +
        'In Node, Dawn needs a Vulkan driver: install one such as Mesa lavapipe ' +
        '(`apt-get install -t bookworm-backports mesa-vulkan-drivers`; the bookworm 22.x ' +
        'version is too old for Dawn), or run with `--backend reference`.',
    );
  }
}

/** A buffer larger than the device allows for one storage binding. */
export class BufferLimitError extends WebGPUError {
  override name = 'BufferLimitError';
  constructor(
    readonly tensor: string,
    readonly bytes: number,
    readonly limit: number,
    kernel?: string,
  ) {
    super(
      `${tensor} needs ${fmtBytes(bytes)} (${bytes} bytes), over this device's ` +
        `maxStorageBufferBindingSize of ${fmtBytes(limit)} (${limit} bytes)` +
        (kernel ? ` in kernel ${kernel}` : '') +
        '. Use smaller shapes (fewer heads or a shorter sequence), keep fusion on ' +
        '(the unfused path materialises B·H·N·M scores), or run with `--backend reference`.',
    );
  }
}

/** The generated WGSL did not compile (errors, or warnings: generated code must be clean). */
export class WgslCompileError extends WebGPUError {
  override name = 'WgslCompileError';
  constructor(
    readonly kernel: string,
    readonly messages: { type: string; line: number; column: number; message: string; source: string }[],
  ) {
    super(
      `WGSL of kernel ${kernel} did not compile cleanly (a compiler bug; please report it):\n` +
        messages
          .map((m) => `  ${m.type} at line ${m.line}:${m.column}: ${m.message}\n    ${m.line} | ${m.source.trim()}`)
          .join('\n'),
    );
  }
}

/** A WebGPU validation (or out-of-memory / internal) error caught by an error scope. */
export class ValidationError extends WebGPUError {
  override name = 'ValidationError';
  constructor(what: string, message: string) {
    super(`WebGPU ${what} failed: ${message.trim()}`);
  }
}

/** Inputs that do not fit the program (rank, shape, dtype). */
export class InputError extends WebGPUError {
  override name = 'InputError';
}

export function fmtBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

/**
 * prepare().encode() refused its arguments, before recording anything: `binding` names the
 * input (`input q`), the output (`output out`) or the dim it is about.
 */
export class EncodeError extends WebGPUError {
  override name = 'EncodeError';
  constructor(readonly binding: string, message: string) {
    super(message);
  }
}

/** No buffer (or not a GPUBuffer) for an input or the output. */
export class MissingBufferError extends EncodeError {
  override name = 'MissingBufferError';
}

/** A buffer smaller than its tensor under the given dims. */
export class BufferSizeError extends EncodeError {
  override name = 'BufferSizeError';
  constructor(binding: string, readonly shape: readonly number[], readonly bytes: number, readonly size: number) {
    super(binding, `${binding} of shape [${shape.join(', ')}] needs ${fmtBytes(bytes)} (${bytes} bytes), but its buffer holds ` +
      `${fmtBytes(size)} (${size} bytes): allocate at least ${bytes} bytes, or pass the dims the buffer was made for.`);
  }
}

/** A buffer without the usage flags its binding needs (STORAGE; COPY_SRC/COPY_DST for a copy). */
export class BufferUsageError extends EncodeError {
  override name = 'BufferUsageError';
  constructor(binding: string, readonly missing: readonly string[], usage: string) {
    super(binding, `${binding}: the buffer lacks GPUBufferUsage.${missing.join(' and GPUBufferUsage.')} ` +
      `(its usage is ${usage}); create it with ${missing.join(' | ')} among its usages.`);
  }
}

/** A buffer the prepared program's device rejects (made by another GPUDevice). */
export class ForeignBufferError extends EncodeError {
  override name = 'ForeignBufferError';
  constructor(binding: string, detail: string) {
    super(binding, `${binding}: the buffer cannot be used with the device the program was prepared for ` +
      `(a buffer of another GPUDevice?): ${detail.trim().split('\n')[0]}`);
  }
}

/** Dims missing, unknown, not sizes, or head dims other than the kernels were prepared for. */
export class DimsError extends EncodeError {
  override name = 'DimsError';
}
