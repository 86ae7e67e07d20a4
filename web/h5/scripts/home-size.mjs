// Measures the JavaScript the home page loads: the entry chunk of web/dist and
// every chunk it imports statically (the other pages are separate chunks loaded
// on demand), each gzipped at level 9. Exits non-zero over the 200 KB budget.
// Usage: npm run build && npm run size
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const dist = fileURLToPath(new URL('../../dist/', import.meta.url));
const manifest = JSON.parse(readFileSync(join(dist, '.vite/manifest.json'), 'utf8'));
const BUDGET = 200 * 1024;

const seen = new Set();
function walk(key) {
  if (seen.has(key)) return;
  seen.add(key);
  for (const k of manifest[key].imports || []) walk(k);
}
walk('index.html');

let raw = 0, gz = 0;
for (const key of seen) {
  const file = manifest[key].file;
  const buf = readFileSync(join(dist, file));
  const z = gzipSync(buf, { level: 9 }).length;
  raw += buf.length; gz += z;
  console.log(`${file.padEnd(36)} ${String(buf.length).padStart(8)} B  gzip ${String(z).padStart(7)} B`);
}
console.log(`home page JS: ${raw} B raw, ${gz} B gzip (${(gz / 1024).toFixed(1)} KB of ${BUDGET / 1024} KB budget)`);
process.exit(gz <= BUDGET ? 0 : 1);
