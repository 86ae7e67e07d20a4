// Builds web/h5 (the applicant's mobile pages) into web/dist, served by
// `tisheng serve` at /. `npm run dev` proxies /api to a running server
// (TISHENG_URL, default http://127.0.0.1:8080).
import { fileURLToPath } from 'node:url';
import { rmSync, readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';
import Components from 'unplugin-vue-components/vite';
import { VantResolver } from '@vant/auto-import-resolver';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const outDir = here('./dist');

// web/dist also holds the console's build (web/dist/console, built from
// web/console): empty only what this build writes.
function cleanOwnOutput() {
  return {
    name: 'tisheng-clean-h5-output',
    apply: 'build',
    buildStart() {
      for (const p of ['index.html', 'index.html.gz', 'assets', '.vite']) rmSync(outDir + '/' + p, { recursive: true, force: true });
    },
  };
}

// Writes FILE.gz beside every built .js/.css/.html (gzip -9), so a server can
// answer `Accept-Encoding: gzip` with the precompressed file.
function precompress() {
  const walk = (dir) => readdirSync(dir).flatMap((n) => {
    const p = dir + '/' + n;
    if (n === 'console') return []; // the console's build is not ours
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
  return {
    name: 'tisheng-precompress',
    apply: 'build',
    closeBundle() {
      for (const f of walk(outDir)) {
        if (/\.(js|css|html)$/.test(f)) writeFileSync(f + '.gz', gzipSync(readFileSync(f), { level: 9 }));
      }
    },
  };
}

export default defineConfig({
  root: here('./h5'),
  base: '/',
  plugins: [
    cleanOwnOutput(),
    precompress(),
    vue(),
    // Vant on demand: each component used in a template is imported with its own CSS.
    Components({ resolvers: [VantResolver()], dts: false, dirs: [] }),
  ],
  build: {
    outDir,
    emptyOutDir: false,
    manifest: true,
    target: ['es2019', 'chrome70', 'safari12'],
    cssCodeSplit: true,
    chunkSizeWarningLimit: 300,
  },
  server: {
    host: '127.0.0.1',
    proxy: { '/api': process.env.TISHENG_URL || 'http://127.0.0.1:8080' },
  },
});
