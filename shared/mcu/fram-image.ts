/**
 * The level-1 (FRAM) image (resources/firmware/src/blob.h, wsep_fram_header_t): the shared pages and
 * every model's page table, loaded at the FRAM base. The buffers the firmware fills at run time (the
 * activation arena, the exclusive-page buffer, the descriptor buffer) follow the image at offsets fixed
 * here, so the memory map is planned offline and the firmware allocates nothing.
 */
import { fail, ok, type Result } from '../core/errors.ts';
import type { ValueType } from '../image/plan.ts';
import { align4, checkBlob, sealBlob } from './blob-frame.ts';
import { VALUE_TYPE_CODE, valueTypeOfCode, type PageStore } from './page-store.ts';

export const FRAM_HEADER_BYTES = 80;

export interface FramImageInput {
  readonly exportId: number;
  readonly budgetBytes: number;
  readonly pageSize: number;
  readonly sharedPageCount: number;
  /** How pages are stored (f32 when absent): sizes the shared pages and the exclusive buffer's pages. */
  readonly valueType?: ValueType;
  /** The M shared pages: M × P values, or (i8) M × P codes and M scales. */
  readonly shared: PageStore;
  /** Per model, its page table as uint16 entries. */
  readonly tables: readonly Uint16Array[];
  readonly arenaBytes: number;
  readonly exclusiveBufferBytes: number;
  readonly descriptorBufferBytes: number;
}

/** The three buffers the firmware keeps in FRAM after the image, in bytes from the FRAM base. */
export interface FramBuffers {
  readonly arenaOffset: number;
  readonly arenaBytes: number;
  readonly exclusiveOffset: number;
  readonly exclusiveBytes: number;
  readonly descriptorOffset: number;
  readonly descriptorBytes: number;
}

/** Where everything lies in FRAM, in bytes from the FRAM base. */
export interface FramLayout extends FramBuffers {
  readonly valueType: ValueType;
  /** f32: M × P × 4 values; i8: M × P codes. */
  readonly sharedOffset: number;
  /** The shared pages as stored: values, or codes and the scale table. */
  readonly sharedBytes: number;
  /** i8: the M float32 scales (0 and 0 for f32). */
  readonly scalesOffset: number;
  readonly scalesBytes: number;
  readonly tablesOffset: number;
  /** The table directory and the tables. */
  readonly tablesBytes: number;
  readonly tableOffsets: readonly number[];
  /** The image QEMU loads: header, shared pages, tables. */
  readonly imageBytes: number;
  /** Everything the firmware uses in FRAM: the image and the three buffers. */
  readonly usedBytes: number;
}

export function framLayout(input: Omit<FramImageInput, 'exportId' | 'budgetBytes' | 'shared'>): FramLayout {
  const valueType = input.valueType ?? 'f32';
  const M = input.sharedPageCount;
  // i8: the scale table first (4-aligned at the header's end), then the codes.
  const scalesOffset = valueType === 'i8' ? FRAM_HEADER_BYTES : 0;
  const scalesBytes = valueType === 'i8' ? M * 4 : 0;
  const sharedOffset = FRAM_HEADER_BYTES + scalesBytes;
  const codesBytes = M * input.pageSize * (valueType === 'i8' ? 1 : 4);
  const sharedBytes = scalesBytes + codesBytes;
  const tablesOffset = align4(sharedOffset + codesBytes);
  let at = tablesOffset + input.tables.length * 8;
  const tableOffsets = input.tables.map((t) => {
    const off = at;
    at += align4(t.length * 2);
    return off;
  });
  const imageBytes = at;
  const arenaOffset = imageBytes;
  const exclusiveOffset = arenaOffset + align4(input.arenaBytes);
  const descriptorOffset = exclusiveOffset + align4(input.exclusiveBufferBytes);
  return {
    valueType,
    sharedOffset,
    sharedBytes,
    scalesOffset,
    scalesBytes,
    tablesOffset,
    tablesBytes: imageBytes - tablesOffset,
    tableOffsets,
    imageBytes,
    arenaOffset,
    arenaBytes: align4(input.arenaBytes),
    exclusiveOffset,
    exclusiveBytes: align4(input.exclusiveBufferBytes),
    descriptorOffset,
    descriptorBytes: align4(input.descriptorBufferBytes),
    usedBytes: descriptorOffset + align4(input.descriptorBufferBytes),
  };
}

export function encodeFramImage(input: FramImageInput): { bytes: Uint8Array; layout: FramLayout } {
  const layout = framLayout(input);
  const bytes = new Uint8Array(layout.imageBytes);
  const v = new DataView(bytes.buffer);
  const header = [
    input.exportId,
    input.budgetBytes,
    input.pageSize,
    VALUE_TYPE_CODE[layout.valueType],
    input.sharedPageCount,
    layout.sharedOffset,
    input.tables.length,
    layout.tablesOffset,
    layout.arenaOffset,
    layout.arenaBytes,
    layout.exclusiveOffset,
    layout.exclusiveBytes,
    layout.descriptorOffset,
    layout.descriptorBytes,
    layout.scalesOffset,
    0,
  ];
  header.forEach((x, i) => v.setUint32(16 + 4 * i, x >>> 0, true));
  if (input.shared.valueType !== layout.valueType)
    throw new Error(`FRAM image: ${input.shared.valueType} pages in a ${layout.valueType} layout`);
  const s = input.shared;
  if (s.valueType === 'f32')
    bytes.set(new Uint8Array(s.values.buffer, s.values.byteOffset, s.values.byteLength), layout.sharedOffset);
  else {
    bytes.set(new Uint8Array(s.scales.buffer, s.scales.byteOffset, s.scales.byteLength), layout.scalesOffset);
    bytes.set(new Uint8Array(s.codes.buffer, s.codes.byteOffset, s.codes.byteLength), layout.sharedOffset);
  }
  input.tables.forEach((t, k) => {
    v.setUint32(layout.tablesOffset + 8 * k, layout.tableOffsets[k]!, true);
    v.setUint32(layout.tablesOffset + 8 * k + 4, t.length, true);
    t.forEach((entry, j) => v.setUint16(layout.tableOffsets[k]! + 2 * j, entry, true));
  });
  return { bytes: sealBlob('fram', bytes), layout };
}

export interface FramImage extends FramBuffers {
  readonly exportId: number;
  readonly budgetBytes: number;
  readonly pageSize: number;
  readonly valueType: ValueType;
  readonly sharedPageCount: number;
  readonly shared: PageStore;
  readonly tables: readonly Uint16Array[];
}

/** Reads an image back, with the firmware's range checks. */
export function decodeFramImage(bytes: Uint8Array): Result<FramImage> {
  const framed = checkBlob('fram', bytes, FRAM_HEADER_BYTES);
  if (!framed.ok) return framed;
  const v = framed.value;
  const u = (at: number): number => v.getUint32(at, true);
  const bad = (why: string): Result<never> => fail('E_MCU_BLOB', `The fram blob ${why}.`);
  const [exportId, budgetBytes, pageSize, valueCode, M, sharedOffset, count, tablesOffset] = [
    16, 20, 24, 28, 32, 36, 40, 44,
  ].map(u) as [number, number, number, number, number, number, number, number];
  const valueType = valueTypeOfCode(valueCode);
  if (valueType === undefined || (valueType === 'i8' && v.getUint32(4, true) < 2))
    return bad(`has the unknown value type ${valueCode}`);
  const scalesOffset = u(72);
  const V = valueType === 'i8' ? 1 : 4;
  if (
    pageSize === 0 ||
    sharedOffset + M * pageSize * V > bytes.byteLength ||
    (valueType === 'i8' && (scalesOffset % 4 !== 0 || scalesOffset + 4 * M > bytes.byteLength)) ||
    tablesOffset + count * 8 > bytes.byteLength
  )
    return bad('has shared pages, scales or page tables outside the image');
  let shared: PageStore;
  if (valueType === 'f32') {
    const values = new Float32Array(M * pageSize);
    for (let i = 0; i < values.length; i++) values[i] = v.getFloat32(sharedOffset + 4 * i, true);
    shared = { valueType, values };
  } else {
    const scales = Float32Array.from({ length: M }, (_, i) => v.getFloat32(scalesOffset + 4 * i, true));
    if (!scales.every((x) => Number.isFinite(x) && x > 0))
      return bad('has a scale that is not a finite float32 > 0');
    shared = {
      valueType,
      scales,
      codes: Int8Array.from(bytes.subarray(sharedOffset, sharedOffset + M * pageSize)),
    };
  }
  const tables: Uint16Array[] = [];
  for (let k = 0; k < count; k++) {
    const off = u(tablesOffset + 8 * k);
    const n = u(tablesOffset + 8 * k + 4);
    if (off + 2 * n > bytes.byteLength) return bad(`has page table ${k} outside the image`);
    tables.push(Uint16Array.from({ length: n }, (_, j) => v.getUint16(off + 2 * j, true)));
  }
  return ok({
    exportId,
    budgetBytes,
    pageSize,
    valueType,
    sharedPageCount: M,
    shared,
    tables,
    arenaOffset: u(48),
    arenaBytes: u(52),
    exclusiveOffset: u(56),
    exclusiveBytes: u(60),
    descriptorOffset: u(64),
    descriptorBytes: u(68),
  });
}
