// samples/*.attn, bundled by playground/build.mjs (an esbuild plugin makes this module).
declare module 'attnc:samples' {
  const samples: readonly { file: string; text: string }[];
  export default samples;
}
