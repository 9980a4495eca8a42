/**
 * Image files for user data import: PNG (pngjs: palette, grey, alpha, 16-bit) and JPEG (jpeg-js)
 * decoded to 8-bit pixels, HWC row-major. The format is taken from the file's first bytes, not its
 * name, so a mislabelled `.jpg` still reads. Grey images (a grey colour type, or every pixel with
 * R = G = B) come back as one channel; alpha is dropped (the models take colour or grey, never
 * transparency). Resizing is bilinear and deterministic, so the
 * same folder always imports to the same bytes.
 */
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { fail, ok, type Result } from '../../core/errors.ts';

export interface DecodedImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
  /** HWC, row-major. */
  readonly pixels: Uint8Array;
}

export type ImageFormat = 'png' | 'jpeg';

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The image format from the first bytes, or null when it is neither PNG nor JPEG. */
export function sniffImage(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 8 && PNG_MAGIC.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

/** Refuses images whose decoded pixels would not fit comfortably in memory. */
const MAX_PIXELS = 50_000_000;

export function decodeImage(bytes: Uint8Array, file: string): Result<DecodedImage> {
  const format = sniffImage(bytes);
  if (format === null) {
    return fail(
      'E_DATASET',
      `${file} is not a PNG or JPEG image (its first bytes match neither format).`,
      'Convert it to PNG or JPEG, or move it out of the data folder.',
    );
  }
  try {
    return format === 'png' ? decodePng(bytes, file) : decodeJpeg(bytes, file);
  } catch (thrown) {
    return fail(
      'E_DATASET',
      `${file} is not a readable ${format === 'png' ? 'PNG' : 'JPEG'} image: ${(thrown as Error).message.replace(/\.$/, '')}.`,
      'The file is truncated or corrupt; re-export it.',
    );
  }
}

function decodePng(bytes: Uint8Array, file: string): Result<DecodedImage> {
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const { width, height } = png;
  if (width * height > MAX_PIXELS) return tooLarge(file, width, height);
  const rgba = png.data;
  if (rgba.length !== width * height * 4)
    return fail('E_DATASET', `${file} is not a readable PNG image: its pixel data is incomplete.`);
  // pngjs expands every colour type to 8-bit RGBA; grey types, and colour files that only hold
  // greys (as many "grey" exports are), go back to one channel.
  const grey = !png.color || allGrey(rgba, 4);
  return ok(fromRgba(rgba, width, height, 4, grey ? 1 : 3));
}

function decodeJpeg(bytes: Uint8Array, file: string): Result<DecodedImage> {
  const img = jpeg.decode(bytes, {
    useTArray: true,
    formatAsRGBA: false,
    maxResolutionInMP: MAX_PIXELS / 1e6,
    maxMemoryUsageInMB: 1024,
  });
  const { width, height, data } = img;
  if (width * height > MAX_PIXELS) return tooLarge(file, width, height);
  if (data.length !== width * height * 3)
    return fail('E_DATASET', `${file} is not a readable JPEG image: its pixel data is incomplete.`);
  // jpeg-js returns RGB even for one-component (grey) files, whose pixels then all have R = G = B.
  return ok(fromRgba(data, width, height, 3, allGrey(data, 3) ? 1 : 3));
}

function tooLarge(file: string, width: number, height: number): Result<never> {
  return fail(
    'E_DATASET',
    `${file} is ${width}x${height} pixels, more than the ${MAX_PIXELS / 1e6} megapixels this importer reads.`,
    'Shrink the images first; the models take small inputs anyway.',
  );
}

/** Takes the first `channels` of every `stride`-byte pixel (grey = the first, equal to the others). */
function fromRgba(
  src: Uint8Array,
  width: number,
  height: number,
  stride: number,
  channels: 1 | 3,
): DecodedImage {
  const n = width * height;
  const pixels = new Uint8Array(n * channels);
  for (let p = 0; p < n; p++)
    for (let c = 0; c < channels; c++) pixels[p * channels + c] = src[p * stride + c]!;
  return { width, height, channels, pixels };
}

/** True when every pixel (`stride` bytes, RGB first) has R = G = B. */
function allGrey(src: Uint8Array, stride: number): boolean {
  for (let i = 0; i < src.length; i += stride)
    if (src[i] !== src[i + 1] || src[i] !== src[i + 2]) return false;
  return true;
}

/**
 * Bilinear resize with pixel centres aligned (as PIL and OpenCV's INTER_LINEAR without
 * antialiasing), edges clamped, rounded to the nearest integer. Returns `img` itself when the size
 * is unchanged.
 */
export function resizeImage(img: DecodedImage, width: number, height: number): DecodedImage {
  if (width === img.width && height === img.height) return img;
  const { channels: C, pixels: src } = img;
  const out = new Uint8Array(width * height * C);
  const sx = img.width / width;
  const sy = img.height / height;
  // Source columns and weights are the same for every row: compute them once.
  const x0 = new Int32Array(width);
  const x1 = new Int32Array(width);
  const wx = new Float64Array(width);
  for (let x = 0; x < width; x++) {
    const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), img.width - 1);
    x0[x] = Math.floor(fx);
    x1[x] = Math.min(x0[x]! + 1, img.width - 1);
    wx[x] = fx - x0[x]!;
  }
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), img.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, img.height - 1);
    const wy = fy - y0;
    const r0 = y0 * img.width;
    const r1 = y1 * img.width;
    for (let x = 0; x < width; x++) {
      const a = wx[x]!;
      for (let c = 0; c < C; c++) {
        const top = src[(r0 + x0[x]!) * C + c]! * (1 - a) + src[(r0 + x1[x]!) * C + c]! * a;
        const bottom = src[(r1 + x0[x]!) * C + c]! * (1 - a) + src[(r1 + x1[x]!) * C + c]! * a;
        out[(y * width + x) * C + c] = Math.round(top * (1 - wy) + bottom * wy);
      }
    }
  }
  return { width, height, channels: C, pixels: out };
}

/**
 * Grey → colour repeats the grey value; colour → grey is the ITU-R BT.601 luma (as PIL's 'L'), so
 * a colour folder imported with --channels 1 matches what image tools show as its grey version.
 */
export function convertChannels(img: DecodedImage, channels: 1 | 3): DecodedImage {
  if (img.channels === channels) return img;
  const n = img.width * img.height;
  const out = new Uint8Array(n * channels);
  const src = img.pixels;
  if (channels === 3) {
    for (let p = 0; p < n; p++) out[3 * p] = out[3 * p + 1] = out[3 * p + 2] = src[p]!;
  } else {
    for (let p = 0; p < n; p++)
      out[p] = Math.round(0.299 * src[3 * p]! + 0.587 * src[3 * p + 1]! + 0.114 * src[3 * p + 2]!);
  }
  return { width: img.width, height: img.height, channels, pixels: out };
}

/** An 8-bit PNG of the image: grey (colour type 0) for one channel, RGB (2) for three. */
export function encodePng(img: DecodedImage): Uint8Array {
  const colorType = img.channels === 1 ? 0 : 2;
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.pixels.buffer, img.pixels.byteOffset, img.pixels.byteLength);
  return new Uint8Array(
    PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: false, bitDepth: 8 }),
  );
}
