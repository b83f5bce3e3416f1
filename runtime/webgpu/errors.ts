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
