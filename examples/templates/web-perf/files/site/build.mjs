/**
 * The site's build: writes site/dist/, the folder the evaluator serves. It copies the page and
 * its styles, bundles the scripts of src/ into bundle.js, and draws the hero image.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const here = new URL('./', import.meta.url);
const dist = new URL('dist/', here);
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist);
writeFileSync(new URL('.gitignore', dist), '*\n');
for (const file of ['index.html', 'styles.css'])
  copyFileSync(new URL(file, here), new URL(file, dist));

// The bundle: every module of src/, in name order, with a source map for debugging.
const modules = readdirSync(new URL('src/', here))
  .filter((f) => f.endsWith('.js'))
  .sort();
const sources = modules.map((f) => readFileSync(new URL(`src/${f}`, here), 'utf8'));
const map = { version: 3, sources: modules, sourcesContent: sources, names: [], mappings: '' };
const bundle = sources.map((s, i) => `/* ---- src/${modules[i]} ---- */\n${s}`).join('\n');
writeFileSync(
  new URL('bundle.js', dist),
  `${bundle}\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(map)).toString('base64')}\n`,
);

// The hero image, exported at print size without compression.
const HERO = { width: 1600, height: 900, level: 0 };
writeFileSync(new URL('hero.png', dist), png(HERO.width, HERO.height, HERO.level, sunrise));

/** A sky from dusk blue to orange, with a sun low on the horizon. */
function sunrise(x, y, w, h) {
  const t = y / h;
  const d = Math.hypot(x - w * 0.7, y - h * 0.75) / h;
  const sun = Math.max(0, 1 - d * 4);
  return [
    Math.min(255, 40 + 200 * t + 80 * sun),
    Math.min(255, 60 + 90 * t + 120 * sun),
    Math.min(255, 140 - 60 * t + 40 * sun),
  ];
}

/** An RGB PNG of `paint(x, y, w, h)`, deflated at `level` (0: stored as is). */
function png(w, h, level, paint) {
  const raw = Buffer.alloc((w * 3 + 1) * h);
  // Each row starts with its filter byte (0: none), then the pixels' red, green and blue.
  for (let y = 0, i = 0; y < h; y++, i++)
    for (let x = 0; x < w; x++) {
      const rgb = paint(x, y, w, h);
      raw[i + 1] = Math.round(rgb[0]);
      raw[i + 2] = Math.round(rgb[1]);
      raw[i + 3] = Math.round(rgb[2]);
      i += 3;
    }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(w, 0);
  header.writeUInt32BE(h, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type, data) {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(body.length + 8);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), body.length + 4);
  return out;
}

function crc32(bytes) {
  // The CRC of each byte value first, so that the image's bytes take one lookup each.
  const table = Int32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
    return c;
  });
  let c = ~0;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
