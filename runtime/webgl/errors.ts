// Errors of the WebGL runtime: plain Error subclasses whose messages say what went wrong
// and what to do; users see the message, never a stack trace.

export { WebGLLimitError } from '../../targets/webgl/plan.js';

export class WebGLError extends Error {
  override name = 'WebGLError';
}

/** No WebGL context: in Node, headless-gl needs an X display. */
export class NoWebGLContextError extends WebGLError {
  override name = 'NoWebGLContextError';
  constructor(
    readonly mode: string,
    detail = '',
  ) {
    super(
      mode === 'headlessgl'
        ? 'no WebGL context: headless-gl (the `gl` package) could not create one' +
            (detail ? ` (${detail})` : '') +
            '. In Node it needs an X display: run under a virtual one, e.g. `xvfb-run -a attnc run … --backend webgl` ' +
            '(Debian/Ubuntu package `xvfb`), and check that the `gl` package built (npm needs ' +
            '`"allowScripts": {"gl": true}`); or use `--backend webgpu` or `--backend reference`.'
        : `no WebGL context: this browser offers no ${mode === 'webgl2' ? 'WebGL 2' : 'WebGL'}` +
            (detail ? ` (${detail})` : '') +
            '; enable WebGL (hardware acceleration) or use another backend.',
    );
  }
}

/** gpu.js failed to build or run a generated kernel (a compiler bug, or a driver limit). */
export class WebGLKernelError extends WebGLError {
  override name = 'WebGLKernelError';
  constructor(
    readonly kernel: string,
    readonly label: string,
    detail: string,
  ) {
    super(`WebGL kernel ${kernel} (${label}) failed: ${detail}`);
  }
}
