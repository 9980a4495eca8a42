/** The blob writers against their TypeScript readers: round trips, and corrupt input refused. */
import { describe, expect, it } from 'vitest';
import { CRC_SKIP, sealBlob } from './blob-frame.ts';
import { crc32 } from './crc32.ts';
import { decodeDescriptor, encodeDescriptor, type Descriptor } from './descriptor.ts';
import { decodeFramImage, encodeFramImage, type FramImageInput } from './fram-image.ts';
import { OP } from './layers.ts';
import { storeOf } from './page-store.ts';
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
  shared: { valueType: 'f32', values: Float32Array.from({ length: 12 }, (_, i) => i / 3) },
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
    expect(back.value.shared).toEqual(fram.shared);
    expect(back.value.valueType).toBe('f32');
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

describe('FRAM image with int8 pages', () => {
  // Codes and scales: one scale per page, codes in [-127, 127].
  const i8: FramImageInput = {
    ...fram,
    valueType: 'i8',
    shared: {
      valueType: 'i8',
      codes: Int8Array.of(-127, 0, 5, 127, 1, 2, 3, 4, -1, -2, -3, -4),
      scales: Float32Array.of(0.5, 0.25, 2),
    },
  };

  it('stores M × P codes and the M scales (4 bytes each), and reads them back', () => {
    const { bytes, layout } = encodeFramImage(i8);
    expect(layout.scalesBytes).toBe(12);
    expect(layout.sharedBytes).toBe(12 + 12); // codes at one byte each + scales
    expect(layout.tablesOffset).toBe(80 + 12 + 12);
    const f32 = encodeFramImage(fram).layout;
    expect(f32.sharedBytes).toBe(48);
    const v = new DataView(bytes.buffer);
    expect(v.getUint32(4, true)).toBe(2); // version
    expect(v.getUint32(28, true)).toBe(1); // WSEP_VALUE_I8
    expect(v.getUint32(72, true)).toBe(layout.scalesOffset);
    const back = decodeFramImage(bytes);
    if (!back.ok) throw new Error(back.error.message);
    expect(back.value.valueType).toBe('i8');
    expect(back.value.shared).toEqual(i8.shared);
  });

  it('refuses a scale that is not a finite float > 0, even with a good CRC', () => {
    const { bytes, layout } = encodeFramImage(i8);
    const bad = bytes.slice();
    new DataView(bad.buffer).setFloat32(layout.scalesOffset + 4, -1, true);
    expect(decodeFramImage(sealBlob('fram', bad))).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/scale/) },
    });
  });

  it('turns a plan’s dequantised values back into codes, and refuses a value off its page’s grid', () => {
    const values = Float32Array.of(-63.5, 0, 2.5, 63.5, 0.25, 0.5, 0.75, 1);
    const scales = Float32Array.of(0.5, 0.25);
    const store = storeOf('i8', values, scales, 4, 'shared pages');
    if (!store.ok) throw new Error(store.error.message);
    expect(store.value).toEqual({
      valueType: 'i8',
      codes: Int8Array.of(-127, 0, 5, 127, 1, 2, 3, 4),
      scales,
    });
    const off = storeOf('i8', Float32Array.of(0.3, 0, 0, 0), Float32Array.of(0.5), 4, 'shared pages');
    expect(off).toMatchObject({
      ok: false,
      error: { code: 'E_MCU_BLOB', message: expect.stringMatching(/grid/) },
    });
    expect(storeOf('i8', values, undefined, 4, 'shared pages').ok).toBe(false);
  });

  it('reads a version-1 (f32) image as before', () => {
    const { bytes } = encodeFramImage(fram);
    const v1 = bytes.slice();
    new DataView(v1.buffer).setUint32(4, 1, true);
    const back = decodeFramImage(v1);
    expect(back.ok && back.value.valueType).toBe('f32');
  });
});

describe('storage image', () => {
  const models = [
    {
      name: 'digits8x8',
      descriptor: encodeDescriptor(descriptor),
      exclusive: { valueType: 'f32' as const, values: Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8) },
      slice: Float32Array.from({ length: 3 * 64 }, (_, i) => i),
      labels: Uint8Array.of(1, 2, 9),
    },
    {
      name: 'b',
      descriptor: encodeDescriptor({ ...descriptor, exclusivePages: 0 }),
      exclusive: { valueType: 'f32' as const, values: new Float32Array(0) },
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

  it('stores int8 exclusive pages as the scales then the codes, read back with the descriptor’s page count', () => {
    const i8 = [
      {
        ...models[0]!,
        exclusive: {
          valueType: 'i8' as const,
          scales: Float32Array.of(0.5, 0.125, 3),
          codes: Int8Array.from({ length: 3 * 13 }, (_, i) => (i % 255) - 127),
        },
      },
      {
        ...models[1]!,
        exclusive: { valueType: 'i8' as const, scales: new Float32Array(0), codes: new Int8Array(0) },
      },
    ];
    const { bytes, layout } = encodeStorageImage({
      exportId: 7,
      budgetBytes: 1 << 20,
      logitsSamples: 0,
      valueType: 'i8',
      models: i8,
    });
    expect(layout.exclusiveBytes).toBe(Math.ceil((3 * 4 + 3 * 13) / 4) * 4);
    const v = new DataView(bytes.buffer);
    expect(v.getUint32(36, true)).toBe(1);
    // The directory's exclusive bytes are exact (E × (P + 4)): the firmware checks them.
    expect(v.getUint32(48 + 32 + 12, true)).toBe(3 * 4 + 3 * 13);
    const back = decodeStorageImage(bytes, inputValues);
    if (!back.ok) throw new Error(back.error.message);
    expect(back.value.valueType).toBe('i8');
    expect(back.value.models).toEqual(i8);
  });
});
