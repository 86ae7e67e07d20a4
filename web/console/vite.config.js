// Builds web/console (the reviewers' and administrators' console) into
// web/dist/console, served by `tisheng serve` at /console/. Element Plus is
// imported on demand: each component used in a template comes with its own
// CSS. `npm run dev` proxies /api and /public to a running server
// (TISHENG_URL, default http://127.0.0.1:8080).
import { fileURLToPath } from 'node:url';
import { readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';
import Components from 'unplugin-vue-components/vite';
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const target = process.env.TISHENG_URL || 'http://127.0.0.1:8080';
const outDir = here('../dist/console');

// Writes FILE.gz beside every built .js/.css/.html (gzip -9), as the h5 build
// does, so `tisheng serve` answers `Accept-Encoding: gzip` with the
// precompressed file.
function precompress() {
  const walk = (dir) =>
    readdirSync(dir).flatMap((n) => {
      const p = dir + '/' + n;
      return statSync(p).isDirectory() ? walk(p) : [p];
    });
  return {
    name: 'tisheng-console-precompress',
    apply: 'build',
    closeBundle() {
      for (const f of walk(outDir)) {
        if (/\.(js|css|html)$/.test(f)) writeFileSync(f + '.gz', gzipSync(readFileSync(f), { level: 9 }));
      }
    },
  };
}

export default defineConfig({
  root: here('.'),
  base: '/console/',
  plugins: [
    vue(),
    Components({
      resolvers: [ElementPlusResolver({ importStyle: 'css' })],
      dts: false,
      dirs: [],
    }),
    precompress(),
  ],
  build: {
    // Only this subfolder is emptied: web/dist itself belongs to the h5 build.
    outDir,
    emptyOutDir: true,
    target: ['es2019', 'chrome80', 'firefox78', 'safari13'],
    cssCodeSplit: true,
    chunkSizeWarningLimit: 700,
    rolldownOptions: {
      output: {
        // Vue and the Element Plus components the console uses, in two
        // long-cached chunks shared by every page; each page its own chunk.
        codeSplitting: {
          groups: [
            { name: 'vue', test: /node_modules[\\/](@vue|vue|vue-router)[\\/]/, priority: 2 },
            // qrcode-generator stays out: only the account page loads it, on demand.
            { name: 'element-plus', test: /node_modules[\\/](?!qrcode-generator[\\/])/, priority: 1 },
          ],
        },
      },
    },
  },
  server: {
    host: '127.0.0.1',
    proxy: { '/api': target, '/public': target },
  },
});
