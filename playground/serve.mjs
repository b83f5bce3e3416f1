#!/usr/bin/env node
// `npm run playground`: build the playground (playground/build.mjs) and serve the folder
// on 127.0.0.1 — WebGPU needs a secure context, which http://127.0.0.1 is — then print
// the URL. Usage: node playground/serve.mjs [--port N] [--dir DIR] [--no-build]
// (--port 0 picks a free port; the test reads the URL from the first line printed).

import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { buildPlayground } from './build.mjs';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '5180' }, dir: { type: 'string' }, 'no-build': { type: 'boolean' } },
});
const dir = resolve(values.dir ?? join(import.meta.dirname, 'dist'));
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port ${values.port}: expected a port number (0: any free port)`);
  process.exit(2);
}
if (!values['no-build']) await buildPlayground(dir);

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.map': 'application/json', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png', '.txt': 'text/plain; charset=utf-8',
};

const server = createServer((req, res) => {
  let path;
  try {
    path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  } catch {
    return void res.writeHead(400, { 'content-type': 'text/plain' }).end('bad request');
  }
  // Only files under `dir`: a normalised path that climbs out is refused.
  const file = normalize(join(dir, path.endsWith('/') ? `${path}index.html` : path));
  if (file !== dir && !file.startsWith(dir + sep)) return void res.writeHead(403).end('forbidden');
  let size;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new Error('not a file');
    size = st.size;
  } catch {
    return void res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}`);
  }
  res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': size, 'cache-control': 'no-cache' });
  createReadStream(file).pipe(res);
});
server.on('error', (e) => {
  console.error(`cannot serve on 127.0.0.1:${port}: ${e.message}${e.code === 'EADDRINUSE' ? ' (try --port 0)' : ''}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  console.log(`attnc playground: http://127.0.0.1:${server.address().port}/`);
  console.log(`serving ${dir} (Ctrl-C to stop)`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
