#!/usr/bin/env node
// Draws the kernel logo (a rounded square with two white "L"s) as PNG at 32 and 64 px, and as SVG.
"use strict";
const fs = require("fs");
const path = require("path");
const zlib = require("zlib");

function crc32(buf) {
  let c, crc = 0xffffffff;
  for (let n = 0; n < buf.length; n++) {
    c = (crc ^ buf[n]) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

function pixel(x, y) {
  // Unit coordinates in [0,1): background rounded square, two L glyphs.
  const r = 0.18, inside = (() => {
    const cx = Math.min(Math.max(x, r), 1 - r), cy = Math.min(Math.max(y, r), 1 - r);
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
  })();
  if (!inside) return [0, 0, 0, 0];
  const inL = (x0) => (x >= x0 && x < x0 + 0.09 && y >= 0.2 && y < 0.8) || (x >= x0 && x < x0 + 0.3 && y >= 0.71 && y < 0.8);
  if (inL(0.18) || inL(0.55)) return [255, 255, 255, 255];
  return [0x8a, 0x4f, 0xd6, 255];
}

function png(size) {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    for (let x = 0; x < size; x++) {
      const p = pixel((x + 0.5) / size, (y + 0.5) / size);
      for (let c = 0; c < 4; c++) raw[y * (size * 4 + 1) + 1 + x * 4 + c] = p[c];
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0); ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; ihdr[9] = 6; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr), chunk("IDAT", zlib.deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

const out = path.join(__dirname, "..", "kernel", "assets");
fs.mkdirSync(out, { recursive: true });
for (const size of [32, 64]) fs.writeFileSync(path.join(out, `logo-${size}x${size}.png`), png(size));
fs.writeFileSync(path.join(out, "logo-svg.svg"),
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"><rect width="100" height="100" rx="18" fill="#8a4fd6"/>` +
  `<path d="M18 20h9v51h21v9H18zM55 20h9v51h21v9H55z" fill="#fff"/></svg>\n`);
console.log("wrote", out);
