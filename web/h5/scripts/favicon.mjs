// Draws the favicon (a union-red disc with a white 工 of three bars) as
// public/favicon.svg and, for browsers and pages that ask for /favicon.ico
// without a <link rel=icon> (the server-rendered publicity page), as
// public/favicon.ico: 16, 32 and 48 px PNG images in one ICO, antialiased by
// 4×4 supersampling. No artwork is copied; run `node h5/scripts/favicon.mjs`
// from web/ after changing the shape. The console uses the same SVG.
import { writeFileSync, copyFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const RED = [0xc8, 0x16, 0x1d];
// On a 64-unit square: the disc, and 工 as top bar, stem, bottom bar.
const DISC = { cx: 32, cy: 32, r: 31 };
const BARS = [
  { x: 17, y: 15, w: 30, h: 7 },
  { x: 28.5, y: 15, w: 7, h: 34 },
  { x: 12, y: 42, w: 40, h: 7 },
];

const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">` +
  `<circle cx="${DISC.cx}" cy="${DISC.cy}" r="${DISC.r}" fill="#c8161d"/>` +
  `<g fill="#fff">${BARS.map((b) => `<rect x="${b.x}" y="${b.y}" width="${b.w}" height="${b.h}"/>`).join('')}</g></svg>\n`;

function pixels(size) {
  const out = Buffer.alloc(size * size * 4);
  const S = 4, k = 64 / size;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let disc = 0, white = 0;
      for (let sy = 0; sy < S; sy++) {
        for (let sx = 0; sx < S; sx++) {
          const x = (px + (sx + 0.5) / S) * k, y = (py + (sy + 0.5) / S) * k;
          if ((x - DISC.cx) ** 2 + (y - DISC.cy) ** 2 > DISC.r ** 2) continue;
          disc++;
          if (BARS.some((b) => x >= b.x && x < b.x + b.w && y >= b.y && y < b.y + b.h)) white++;
        }
      }
      const o = (py * size + px) * 4;
      const a = disc / (S * S);
      const w = disc ? white / disc : 0;
      for (let c = 0; c < 3; c++) out[o + c] = Math.round(RED[c] * (1 - w) + 255 * w);
      out[o + 3] = Math.round(a * 255);
    }
  }
  return out;
}

const CRC = new Int32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});
function crc32(buf) {
  let c = -1;
  for (const b of buf) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
function png(size) {
  const rgba = pixels(size);
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0); ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; ihdr[9] = 6; // 8-bit RGBA
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}
function ico(sizes) {
  const images = sizes.map(png);
  const head = Buffer.alloc(6 + 16 * sizes.length);
  head.writeUInt16LE(0, 0); head.writeUInt16LE(1, 2); head.writeUInt16LE(sizes.length, 4);
  let offset = head.length;
  sizes.forEach((s, i) => {
    const e = 6 + 16 * i;
    head[e] = s; head[e + 1] = s; // width, height (<256)
    head.writeUInt16LE(1, e + 4); head.writeUInt16LE(32, e + 6);
    head.writeUInt32LE(images[i].length, e + 8); head.writeUInt32LE(offset, e + 12);
    offset += images[i].length;
  });
  return Buffer.concat([head, ...images]);
}

writeFileSync(here('../public/favicon.svg'), svg);
writeFileSync(here('../public/favicon.ico'), ico([16, 32, 48]));
copyFileSync(here('../public/favicon.svg'), here('../../console/public/favicon.svg'));
console.log('favicon.svg and favicon.ico written');
