// Vite build of the dashboard: sources in web/, output in web/dist, served by the API server (src/server/web.ts).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

const root = decodeURIComponent(new URL('.', import.meta.url).pathname);

/** Writes `.br` and `.gz` beside each script, style and SVG of the build, so the server sends them compressed at no cost per request. */
function precompress(): Plugin {
  let outDir = '';
  return {
    name: 'mamori-precompress',
    apply: 'build',
    configResolved(c) {
      outDir = join(c.root, c.build.outDir, 'assets');
    },
    closeBundle() {
      for (const name of readdirSync(outDir)) {
        if (!/\.(js|css|svg)$/.test(name)) continue;
        const body = readFileSync(join(outDir, name));
        if (body.length < 1024) continue;
        writeFileSync(join(outDir, `${name}.br`), brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } }));
        writeFileSync(join(outDir, `${name}.gz`), gzipSync(body, { level: 9 }));
      }
    },
  };
}

export default defineConfig({
  root,
  base: '/',
  plugins: [react(), precompress()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The server's CSP allows scripts from 'self' only: no inline module preload polyfill.
    modulePreload: { polyfill: false },
    sourcemap: true,
    target: 'es2022',
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
});
