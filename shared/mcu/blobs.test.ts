/** The blob writers against their TypeScript readers: round trips, and corrupt input refused. */
import { describe, expect, it } from 'vitest';
import { CRC_SKIP, sealBlob } from './blob-frame.ts';
import { crc32 } from './crc32.ts';
import { decodeDescriptor, encodeDescriptor, type Descriptor } from './descriptor.ts';
import { decodeFramImage, encodeFramImage, type FramImageInput } from './fram-image.ts';
import { OP } from './layers.ts';
import { decodeStorageImage, encodeStorageImage } from './storage-image.ts';

const descriptor: Descriptor = {
  weightCount: 1234,
  pageCount: 39,
  exclusivePages: 3,
  input: [1, 8, 8],
  classes: 10,
  activationValues: 256,
  macs: 98765,
  layers: [
    {
      op: 'conv2d',
      in: [1, 8, 8],
      out: [4, 8, 8],
      kernel: [3, 3],
      stride: [1, 1],
      pad: [1, 1],
      weightOffset: 0,
      biasOffset: 36,
      alpha: 0,
    },
    {
      op: 'leakyRelu',
      in: [4, 8, 8],
      out: [4, 8, 8],
      kernel: [1, 1],
      stride: [1, 1],
      pad: [0, 0],
      weightOffset: 0,
      biasOffset: 0xffffffff,
      alpha: 0.1,
    },
    {
      op: 'maxpool',
      in: [4, 8, 8],
      out: [4, 4, 4],
      kernel: [2, 2],
      stride: [2, 2],
      pad: [0, 0],
      weightOffset: 0,
      biasOffset: 0xffffffff,
      alpha: 0,
    },
    {
      op: 'gemm',
      in: [64, 1, 1],
      out: [10, 1, 1],
      kernel: [1, 1],
      stride: [1, 1],
      pad: [0, 0],
      weightOffset: 40,
      biasOffset: 680,
      alpha: 0,
    },
  ],
};

const fram: FramImageInput = {
  exportId: 0xcafe0001,
  budgetBytes: 65536,
  pageSize: 4,
  sharedPageCount: 3,
  sharedPages: Float32Array.from({ length: 12 }, (_, i) => i / 3),
  tables: [Uint16Array.of(0, 3, 1), Uint16Array.of(2, 0, 3, 4, 1)],
  arenaBytes: 2048,
  exclusiveBufferBytes: 32,
  descriptorBufferBytes: 320,
};

const flip = (b: Uint8Array, at: number): Uint8Array => {
  const c = b.slice();
  c[at] = c[at]! ^ 0x10;
  return c;
};

describe('CRC-32', () => {
  it('is zlib’s', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});

describe('descriptor blob', () => {
  it('reads back what was written, LeakyRelu alpha as f32', () => {
    const bytes = encodeDescriptor(descriptor);
    expect(bytes.byteLength).toBe(64 + 4 * 64);
    const back = decodeDescriptor(bytes);
    if (!back.ok) throw new Error(back.error.message);
    expect(back.value).toEqual({
      ...descriptor,
      layers: descriptor.layers.map((l) => ({ ...l, alpha: Math.fround(l.alpha) })),
    });
    expect(new DataView(bytes.buffer).getUint32(64, true)).toBe(OP.conv2d);
  });

  it('refuses a flipped byte, a bad magic, a truncated blob and an unknown operator', () => {
    const bytes = encodeDescriptor(descriptor);
    expect(decodeDescriptor(flip(bytes, 100))).toMatchObject({
      ok: false,
      error: { code: 'E_MCU_BLOB', message: expect.stringMatching(/CRC-32/) },
    });
    expect(decodeDescriptor(flip(bytes, 0))).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/magic/) },
    });
    expect(decodeDescriptor(bytes.subarray(0, 100))).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/says it has/) },
    });
    const badOp = bytes.slice();
    badOp[64] = 77;
    expect(decodeDescriptor(sealBlob('descriptor', badOp))).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/unknown operator 77/) },
    });
  });
});

describe('FRAM image', () => {
  it('reads back the shared pages and page tables, and plans the buffers after the image', () => {
    const { bytes, layout } = encodeFramImage(fram);
    expect(layout.imageBytes).toBe(bytes.byteLength);
    expect(layout.arenaOffset).toBe(layout.imageBytes);
    expect(layout.usedBytes).toBe(layout.imageBytes + 2048 + 32 + 320);
    const back = decodeFramImage(bytes);
    if (!back.ok) throw new Error(back.error.message);
    expect(back.value.sharedPages).toEqual(fram.sharedPages);
    expect(back.value.tables).toEqual(fram.tables);
    expect(back.value).toMatchObject({
      exportId: fram.exportId,
      budgetBytes: 65536,
      pageSize: 4,
      sharedPageCount: 3,
      arenaBytes: 2048,
    });
  });

  it('refuses a flipped byte anywhere after the frame', () => {
    const { bytes } = encodeFramImage(fram);
    for (const at of [CRC_SKIP, 50, bytes.byteLength - 1])
      expect(decodeFramImage(flip(bytes, at)).ok, `byte ${at}`).toBe(false);
    expect(decodeFramImage(flip(bytes, 4))).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/version/) },
    });
  });
});

describe('storage image', () => {
  const models = [
    {
      name: 'digits8x8',
      descriptor: encodeDescriptor(descriptor),
      exclusivePages: Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8),
      slice: Float32Array.from({ length: 3 * 64 }, (_, i) => i),
      labels: Uint8Array.of(1, 2, 9),
    },
    {
      name: 'b',
      descriptor: encodeDescriptor({ ...descriptor, exclusivePages: 0 }),
      exclusivePages: new Float32Array(0),
      slice: new Float32Array(64),
      labels: Uint8Array.of(0),
    },
  ];
  const inputValues = (d: Uint8Array) => {
    const r = decodeDescriptor(d);
    return r.ok ? { ok: true as const, value: r.value.input.reduce((a, b) => a * b, 1) } : r;
  };

  it('reads back every model’s parts', () => {
    const { bytes, layout } = encodeStorageImage({
      exportId: 7,
      budgetBytes: 1 << 20,
      logitsSamples: 2,
      models,
    });
    expect(layout.totalBytes).toBe(bytes.byteLength);
    const back = decodeStorageImage(bytes, inputValues);
    if (!back.ok) throw new Error(back.error.message);
    expect(back.value).toMatchObject({ exportId: 7, budgetBytes: 1 << 20, logitsSamples: 2 });
    expect(back.value.models).toEqual(models);
  });

  it('refuses a flipped byte and a descriptor that lies about its input', () => {
    const { bytes } = encodeStorageImage({ exportId: 7, budgetBytes: 1 << 20, logitsSamples: 0, models });
    expect(decodeStorageImage(flip(bytes, 200), inputValues).ok).toBe(false);
    const huge = decodeStorageImage(bytes, () => ({ ok: true, value: 1 << 20 }));
    expect(huge).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/test slice of model "digits8x8"/) },
    });
  });
});
