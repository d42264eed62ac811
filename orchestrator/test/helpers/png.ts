import { inflateSync } from "node:zlib";

/** A decoded 8-bit PNG, RGBA whatever the file stored. */
export interface Image {
  width: number;
  height: number;
  rgba: Uint8Array;
}

/** Decodes the PNGs Chromium writes: 8-bit greyscale, RGB or RGBA, not interlaced. */
export function decodePng(buf: Buffer): Image {
  if (buf.subarray(0, 8).toString("hex") !== "89504e470d0a1a0a") throw new Error("not a PNG");
  let pos = 8;
  let width = 0;
  let height = 0;
  let colorType = 0;
  const idat: Buffer[] = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString("latin1", pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (type === "IHDR") {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const depth = data[8];
      colorType = data[9]!;
      if (depth !== 8 || data[12] !== 0 || ![0, 2, 6].includes(colorType))
        throw new Error(`unsupported PNG: depth ${depth}, colour type ${colorType}, interlace ${data[12]}`);
    } else if (type === "IDAT") {
      idat.push(data);
    } else if (type === "IEND") {
      break;
    }
    pos += 12 + len;
  }
  const bpp = colorType === 6 ? 4 : colorType === 2 ? 3 : 1;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const out = new Uint8Array(width * height * 4);
  let prev = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const cur = new Uint8Array(stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? cur[i - bpp]! : 0;
      const b = prev[i]!;
      const c = i >= bpp ? prev[i - bpp]! : 0;
      let p: number;
      switch (filter) {
        case 0:
          p = 0;
          break;
        case 1:
          p = a;
          break;
        case 2:
          p = b;
          break;
        case 3:
          p = (a + b) >> 1;
          break;
        case 4: {
          const pa = Math.abs(b - c);
          const pb = Math.abs(a - c);
          const pc = Math.abs(a + b - 2 * c);
          p = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          throw new Error(`bad PNG filter ${filter} on row ${y}`);
      }
      cur[i] = (line[i]! + p) & 0xff;
    }
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      if (bpp === 1) out.set([cur[x]!, cur[x]!, cur[x]!, 255], o);
      else out.set([cur[x * bpp]!, cur[x * bpp + 1]!, cur[x * bpp + 2]!, bpp === 4 ? cur[x * bpp + 3]! : 255], o);
    }
    prev = cur;
  }
  return { width, height, rgba: out };
}

export interface ImageStats {
  /** Distinct RGB colours. */
  colours: number;
  /** Share of pixels that differ from the most common colour (the background). */
  inkFraction: number;
  /** Pixels of each asked-for colour ("#009E73"), exact match. */
  counts: Record<string, number>;
}

export function imageStats(img: Image, colours: string[] = []): ImageStats {
  const freq = new Map<number, number>();
  const want = new Map(colours.map((c) => [parseInt(c.slice(1), 16), c]));
  const counts: Record<string, number> = Object.fromEntries(colours.map((c) => [c, 0]));
  for (let i = 0; i < img.rgba.length; i += 4) {
    const rgb = (img.rgba[i]! << 16) | (img.rgba[i + 1]! << 8) | img.rgba[i + 2]!;
    freq.set(rgb, (freq.get(rgb) ?? 0) + 1);
    const name = want.get(rgb);
    if (name) counts[name]!++;
  }
  const top = Math.max(...freq.values());
  const total = img.width * img.height;
  return { colours: freq.size, inkFraction: total ? 1 - top / total : 0, counts };
}
