import { crc32, deflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { unwrap } from '../../core/errors.ts';
import { failureOf } from '../../core/testing-result.ts';
import {
  convertChannels,
  decodeImage,
  encodePng,
  resizeImage,
  sniffImage,
  type DecodedImage,
} from './image.ts';

function gradient(width: number, height: number, channels: 1 | 3): DecodedImage {
  const pixels = new Uint8Array(width * height * channels);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 29 + 7) % 256;
  return { width, height, channels, pixels };
}

/** A PNG written with pngjs's own options (colour type, bit depth) from RGBA or 16-bit input. */
function pngjsWrite(
  width: number,
  height: number,
  data: Buffer,
  colorType: 0 | 2 | 4 | 6,
  bitDepth: 8 | 16,
): Uint8Array {
  const png = new PNG({ width, height, bitDepth });
  png.data = data;
  return new Uint8Array(PNG.sync.write(png, { colorType, bitDepth, inputColorType: 6, inputHasAlpha: true }));
}

/** A palette PNG (colour type 3), which pngjs cannot write: chunks assembled by hand. */
function palettePng(width: number, height: number, palette: number[][], indices: number[]): Uint8Array {
  const chunk = (type: string, data: Uint8Array): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 3; // palette
  const raw = Buffer.alloc(height * (width + 1));
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) raw[y * (width + 1) + 1 + x] = indices[y * width + x]!;
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('PLTE', Uint8Array.from(palette.flat())),
      chunk('IDAT', deflateSync(raw)),
      chunk('IEND', new Uint8Array(0)),
    ]),
  );
}

function jpegOf(img: DecodedImage, quality = 95): Uint8Array {
  const rgba = Buffer.alloc(img.width * img.height * 4);
  for (let p = 0; p < img.width * img.height; p++) {
    for (let c = 0; c < 3; c++)
      rgba[4 * p + c] = img.pixels[p * img.channels + (img.channels === 3 ? c : 0)]!;
    rgba[4 * p + 3] = 255;
  }
  return new Uint8Array(jpeg.encode({ width: img.width, height: img.height, data: rgba }, quality).data);
}

describe('PNG', () => {
  it.each([1, 3] as const)('%i-channel encode → decode gives the same pixels', (channels) => {
    const img = gradient(7, 5, channels);
    const bytes = encodePng(img);
    expect(sniffImage(bytes)).toBe('png');
    expect(unwrap(decodeImage(bytes, 'a.png'))).toEqual(img);
  });

  it('grey + alpha stays grey (alpha dropped); RGBA drops alpha', () => {
    const rgba = Buffer.alloc(2 * 2 * 4);
    [10, 20, 30, 40].forEach((g, p) => rgba.set([g, g, g, p * 60], 4 * p));
    const ga = unwrap(decodeImage(pngjsWrite(2, 2, rgba, 4, 8), 'ga.png'));
    expect(ga.channels).toBe(1);
    expect([...ga.pixels]).toEqual([10, 20, 30, 40]);
    const colour = Buffer.from(rgba);
    colour[1] = 99; // first pixel no longer grey
    const c = unwrap(decodeImage(pngjsWrite(2, 2, colour, 6, 8), 'c.png'));
    expect(c.channels).toBe(3);
    expect([...c.pixels.subarray(0, 6)]).toEqual([10, 99, 10, 20, 20, 20]);
  });

  it('an RGB file whose pixels are all grey decodes to 1 channel', () => {
    const rgba = Buffer.alloc(3 * 4);
    [0, 90, 255].forEach((g, p) => rgba.set([g, g, g, 255], 4 * p));
    const img = unwrap(decodeImage(pngjsWrite(3, 1, rgba, 2, 8), 'rgb-grey.png'));
    expect(img.channels).toBe(1);
    expect([...img.pixels]).toEqual([0, 90, 255]);
  });

  it('16-bit grey is rescaled to 8 bits', () => {
    const data = Buffer.alloc(2 * 1 * 8);
    const view = new DataView(data.buffer, data.byteOffset);
    [0, 65535].forEach((v, p) => {
      for (let c = 0; c < 3; c++) view.setUint16(8 * p + 2 * c, v, false);
      view.setUint16(8 * p + 6, 65535, false);
    });
    const img = unwrap(decodeImage(pngjsWrite(2, 1, data, 0, 16), 'deep.png'));
    expect(img.channels).toBe(1);
    expect([...img.pixels]).toEqual([0, 255]);
  });

  it('palette images: colour palettes give 3 channels, all-grey palettes 1', () => {
    const colour = unwrap(
      decodeImage(
        palettePng(
          2,
          1,
          [
            [255, 0, 0],
            [0, 0, 255],
          ],
          [1, 0],
        ),
        'p.png',
      ),
    );
    expect(colour.channels).toBe(3);
    expect([...colour.pixels]).toEqual([0, 0, 255, 255, 0, 0]);
    const grey = unwrap(
      decodeImage(
        palettePng(
          3,
          1,
          [
            [0, 0, 0],
            [128, 128, 128],
          ],
          [1, 0, 1],
        ),
        'g.png',
      ),
    );
    expect(grey.channels).toBe(1);
    expect([...grey.pixels]).toEqual([128, 0, 128]);
  });
});

describe('JPEG', () => {
  it('colour JPEG decodes to 3 channels close to the source', () => {
    const img = { width: 8, height: 8, channels: 3 as const, pixels: new Uint8Array(8 * 8 * 3).fill(0) };
    for (let p = 0; p < 64; p++) img.pixels.set([200, 40, 90], 3 * p);
    const bytes = jpegOf(img);
    expect(sniffImage(bytes)).toBe('jpeg');
    const got = unwrap(decodeImage(bytes, 'a.jpg'));
    expect([got.width, got.height, got.channels]).toEqual([8, 8, 3]);
    for (let i = 0; i < got.pixels.length; i++)
      expect(Math.abs(got.pixels[i]! - img.pixels[i]!)).toBeLessThan(6);
  });

  it('a JPEG of a grey picture decodes to 1 channel', () => {
    const img = unwrap(decodeImage(jpegOf(gradient(8, 8, 1)), 'g.jpg'));
    expect(img.channels).toBe(1);
    expect(img.pixels.length).toBe(64);
  });

  it('a JPEG named .png is read as JPEG (format from the bytes)', () => {
    expect(unwrap(decodeImage(jpegOf(gradient(4, 4, 3)), 'liar.png')).width).toBe(4);
  });
});

describe('resize and channels', () => {
  it('bilinear resize: same size is identity, constant stays constant, 2x2 → 1x1 averages', () => {
    const img = gradient(5, 4, 3);
    expect(resizeImage(img, 5, 4)).toBe(img);
    const flat = { width: 3, height: 3, channels: 1 as const, pixels: new Uint8Array(9).fill(77) };
    expect([...resizeImage(flat, 7, 5).pixels].every((v) => v === 77)).toBe(true);
    const four = { width: 2, height: 2, channels: 1 as const, pixels: Uint8Array.of(0, 100, 200, 60) };
    expect([...resizeImage(four, 1, 1).pixels]).toEqual([90]);
    // Upscaling a 1-pixel-wide ramp keeps the ends and interpolates between them.
    const ramp = { width: 2, height: 1, channels: 1 as const, pixels: Uint8Array.of(0, 200) };
    expect([...resizeImage(ramp, 4, 1).pixels]).toEqual([0, 50, 150, 200]);
    const a = resizeImage(gradient(9, 7, 3), 4, 3);
    expect(resizeImage(gradient(9, 7, 3), 4, 3)).toEqual(a); // deterministic
    expect(a.pixels.length).toBe(4 * 3 * 3);
  });

  it('grey ↔ colour', () => {
    const grey = { width: 2, height: 1, channels: 1 as const, pixels: Uint8Array.of(5, 250) };
    const rgb = convertChannels(grey, 3);
    expect([...rgb.pixels]).toEqual([5, 5, 5, 250, 250, 250]);
    expect([...convertChannels(rgb, 1).pixels]).toEqual([5, 250]);
    const red = { width: 1, height: 1, channels: 3 as const, pixels: Uint8Array.of(255, 0, 0) };
    expect([...convertChannels(red, 1).pixels]).toEqual([76]);
  });
});

describe('corrupt input', () => {
  it('a non-image file names the file', () => {
    const e = failureOf(decodeImage(new TextEncoder().encode('hello, I am a text file'), 'cats/readme.png'));
    expect(e.code).toBe('E_DATASET');
    expect(e.message).toBe(
      'cats/readme.png is not a PNG or JPEG image (its first bytes match neither format).',
    );
  });

  it('a truncated PNG names the file', () => {
    const bytes = encodePng(gradient(16, 16, 3));
    const e = failureOf(decodeImage(bytes.subarray(0, bytes.length - 30), 'cut.png'));
    expect(e.code).toBe('E_DATASET');
    expect(e.message).toContain('cut.png is not a readable PNG image');
    const header = failureOf(decodeImage(bytes.subarray(0, 12), 'head.png'));
    expect(header.message).toContain('head.png is not a readable PNG image');
  });

  it('a truncated JPEG names the file', () => {
    const bytes = jpegOf(gradient(16, 16, 3));
    const e = failureOf(decodeImage(bytes.subarray(0, 40), 'cut.jpg'));
    expect(e.code).toBe('E_DATASET');
    expect(e.message).toContain('cut.jpg is not a readable JPEG image');
    const half = failureOf(decodeImage(bytes.subarray(0, Math.floor(bytes.length / 2)), 'half.jpg'));
    expect(half.message).toContain('half.jpg is not a readable JPEG image');
  });
});
