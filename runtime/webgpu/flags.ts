// WebGPU's flag constants, by value (fixed by the specification). The runtime uses these
// instead of the `GPUBufferUsage`/`GPUShaderStage`/`GPUMapMode` globals: a browser defines
// those, but in Node they exist only once Dawn's `globals` are installed — and a caller
// that brings its own Dawn device to `prepare` need not have installed them.

export const BufferUsage = {
  MAP_READ: 0x0001,
  MAP_WRITE: 0x0002,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  INDEX: 0x0010,
  VERTEX: 0x0020,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
  INDIRECT: 0x0100,
  QUERY_RESOLVE: 0x0200,
} as const;

export const ShaderStage = { VERTEX: 0x1, FRAGMENT: 0x2, COMPUTE: 0x4 } as const;

export const MapMode = { READ: 0x1, WRITE: 0x2 } as const;

/** `usage` as flag names, for errors: `COPY_DST | MAP_READ`. */
export function usageNames(usage: number): string {
  const names = Object.entries(BufferUsage).filter(([, bit]) => usage & bit).map(([name]) => name);
  return names.length ? names.join(' | ') : 'none';
}
