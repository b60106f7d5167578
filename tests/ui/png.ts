/**
 * A tiny PNG reader for the UI screenshot checks: node:zlib inflates the IDAT
 * stream and the five scanline filters are undone; then the image is measured
 * (size, background, how much is drawn on it). 8-bit, non-interlaced
 * greyscale/RGB/RGBA only (what Chromium writes).
 */
import { crc32, inflateSync } from 'node:zlib';

export interface Image {
  width: number;
  height: number;
  /** RGBA, 4 bytes a pixel, rows top to bottom. */
  data: Buffer;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

export function decodePng(png: Buffer): Image {
  if (png.length < 8 || !png.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG file');
  let offset = 8;
  let width = 0;
  let height = 0;
  let colorType = -1;
  const idat: Buffer[] = [];
  let ended = false;
  while (!ended && offset + 8 <= png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    if (offset + 12 + length > png.length) throw new Error(`PNG chunk ${type} at byte ${offset} is truncated`);
    const data = png.subarray(offset + 8, offset + 8 + length);
    if ((crc32(png.subarray(offset + 4, offset + 8 + length)) >>> 0) !== png.readUInt32BE(offset + 8 + length)) throw new Error(`PNG chunk ${type} at byte ${offset} has a bad CRC`);
    offset += 12 + length;
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const bitDepth = data[8];
      colorType = data[9]!;
      if (bitDepth !== 8) throw new Error(`unsupported PNG bit depth ${bitDepth}`);
      if (!(colorType in CHANNELS)) throw new Error(`unsupported PNG colour type ${colorType}`);
      if (data[12] !== 0) throw new Error('interlaced PNGs are not supported');
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') ended = true;
  }
  if (!width || !height) throw new Error('PNG without IHDR');
  if (!ended) throw new Error('PNG without IEND (truncated file)');
  const channels = CHANNELS[colorType]!;
  const stride = width * channels;
  const raw = inflateSync(Buffer.concat(idat));
  if (raw.length < (stride + 1) * height) throw new Error('PNG image data is truncated');
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = pixels.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : Buffer.alloc(stride);
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? out[x - channels]! : 0;
      const b = prev[x]!;
      const c = x >= channels ? prev[x - channels]! : 0;
      let v = line[x]!;
      switch (filter) {
        case 0:
          break;
        case 1:
          v += a;
          break;
        case 2:
          v += b;
          break;
        case 3:
          v += (a + b) >> 1;
          break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          throw new Error(`bad PNG filter type ${filter} on row ${y}`);
      }
      out[x] = v & 0xff;
    }
  }
  const data = Buffer.alloc(width * height * 4);
  for (let i = 0, j = 0; i < width * height; i++, j += channels) {
    const [r, g, b, alpha] =
      channels === 4 ? [pixels[j]!, pixels[j + 1]!, pixels[j + 2]!, pixels[j + 3]!]
      : channels === 3 ? [pixels[j]!, pixels[j + 1]!, pixels[j + 2]!, 255]
      : channels === 2 ? [pixels[j]!, pixels[j]!, pixels[j]!, pixels[j + 1]!]
      : [pixels[j]!, pixels[j]!, pixels[j]!, 255];
    data[i * 4] = r;
    data[i * 4 + 1] = g;
    data[i * 4 + 2] = b;
    data[i * 4 + 3] = alpha;
  }
  return { width, height, data };
}

export interface PngCheck {
  width: number;
  height: number;
  /** The most common colour (the page background), as #rrggbb. */
  background: string;
  /** Share of pixels that differ clearly from the background. */
  inked: number;
  /** Number of distinct colours (a blank or single-colour image has 1). */
  colours: number;
}

/** Decode a PNG (throws when it is not a valid one) and measure how much is drawn on it. */
export function checkPng(png: Buffer, channelTolerance = 24): PngCheck {
  const { width, height, data } = decodePng(png);
  const counts = new Map<number, number>();
  for (let i = 0; i < data.length; i += 4) {
    const rgb = (data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!;
    counts.set(rgb, (counts.get(rgb) ?? 0) + 1);
  }
  let bg = 0;
  let most = -1;
  for (const [rgb, n] of counts) if (n > most) [bg, most] = [rgb, n];
  const [br, bgc, bb] = [(bg >> 16) & 255, (bg >> 8) & 255, bg & 255];
  let inked = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (Math.max(Math.abs(data[i]! - br), Math.abs(data[i + 1]! - bgc), Math.abs(data[i + 2]! - bb)) > channelTolerance) inked++;
  }
  return { width, height, background: `#${bg.toString(16).padStart(6, '0')}`, inked: inked / (width * height), colours: counts.size };
}
