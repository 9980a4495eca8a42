/**
 * The level-1 (FRAM) image (resources/firmware/src/blob.h, wsep_fram_header_t): the shared pages and
 * every model's page table, loaded at the FRAM base. The buffers the firmware fills at run time (the
 * activation arena, the exclusive-page buffer, the descriptor buffer) follow the image at offsets fixed
 * here, so the memory map is planned offline and the firmware allocates nothing.
 */
import { fail, ok, type Result } from '../core/errors.ts';
import { align4, checkBlob, sealBlob } from './blob-frame.ts';

export const FRAM_HEADER_BYTES = 80;
export const VALUE_TYPE_F32 = 0;

export interface FramImageInput {
  readonly exportId: number;
  readonly budgetBytes: number;
  readonly pageSize: number;
  readonly sharedPageCount: number;
  /** M × P values. */
  readonly sharedPages: Float32Array;
  /** Per model, its page table as uint16 entries. */
  readonly tables: readonly Uint16Array[];
  readonly arenaBytes: number;
  readonly exclusiveBufferBytes: number;
  readonly descriptorBufferBytes: number;
}

/** Where everything lies in FRAM, in bytes from the FRAM base. */
export interface FramLayout {
  readonly sharedOffset: number;
  readonly sharedBytes: number;
  readonly tablesOffset: number;
  /** The table directory and the tables. */
  readonly tablesBytes: number;
  readonly tableOffsets: readonly number[];
  /** The image QEMU loads: header, shared pages, tables. */
  readonly imageBytes: number;
  readonly arenaOffset: number;
  readonly arenaBytes: number;
  readonly exclusiveOffset: number;
  readonly exclusiveBytes: number;
  readonly descriptorOffset: number;
  readonly descriptorBytes: number;
  /** Everything the firmware uses in FRAM: the image and the three buffers. */
  readonly usedBytes: number;
}

export function framLayout(
  input: Omit<FramImageInput, 'exportId' | 'budgetBytes' | 'sharedPages'>,
): FramLayout {
  const sharedOffset = FRAM_HEADER_BYTES;
  const sharedBytes = input.sharedPageCount * input.pageSize * 4;
  const tablesOffset = sharedOffset + sharedBytes;
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
    sharedOffset,
    sharedBytes,
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
    VALUE_TYPE_F32,
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
    0,
    0,
  ];
  header.forEach((x, i) => v.setUint32(16 + 4 * i, x >>> 0, true));
  bytes.set(
    new Uint8Array(input.sharedPages.buffer, input.sharedPages.byteOffset, layout.sharedBytes),
    layout.sharedOffset,
  );
  input.tables.forEach((t, k) => {
    v.setUint32(layout.tablesOffset + 8 * k, layout.tableOffsets[k]!, true);
    v.setUint32(layout.tablesOffset + 8 * k + 4, t.length, true);
    t.forEach((entry, j) => v.setUint16(layout.tableOffsets[k]! + 2 * j, entry, true));
  });
  return { bytes: sealBlob('fram', bytes), layout };
}

export interface FramImage {
  readonly exportId: number;
  readonly budgetBytes: number;
  readonly pageSize: number;
  readonly valueType: number;
  readonly sharedPageCount: number;
  readonly sharedPages: Float32Array;
  readonly tables: readonly Uint16Array[];
  readonly arenaOffset: number;
  readonly arenaBytes: number;
  readonly exclusiveOffset: number;
  readonly exclusiveBytes: number;
  readonly descriptorOffset: number;
  readonly descriptorBytes: number;
}

/** Reads an image back, with the firmware's range checks. */
export function decodeFramImage(bytes: Uint8Array): Result<FramImage> {
  const framed = checkBlob('fram', bytes, FRAM_HEADER_BYTES);
  if (!framed.ok) return framed;
  const v = framed.value;
  const u = (at: number): number => v.getUint32(at, true);
  const bad = (why: string): Result<never> => fail('E_MCU_BLOB', `The fram blob ${why}.`);
  const [exportId, budgetBytes, pageSize, valueType, M, sharedOffset, count, tablesOffset] = [
    16, 20, 24, 28, 32, 36, 40, 44,
  ].map(u) as [number, number, number, number, number, number, number, number];
  if (
    pageSize === 0 ||
    sharedOffset + M * pageSize * 4 > bytes.byteLength ||
    tablesOffset + count * 8 > bytes.byteLength
  )
    return bad('has shared pages or page tables outside the image');
  const sharedPages = new Float32Array(M * pageSize);
  for (let i = 0; i < sharedPages.length; i++) sharedPages[i] = v.getFloat32(sharedOffset + 4 * i, true);
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
    sharedPages,
    tables,
    arenaOffset: u(48),
    arenaBytes: u(52),
    exclusiveOffset: u(56),
    exclusiveBytes: u(60),
    descriptorOffset: u(64),
    descriptorBytes: u(68),
  });
}
