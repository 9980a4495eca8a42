/**
 * Pages as stored (docs/FORMAT.md §2): float32 values, or int8 codes with one float32 scale per page.
 * The writer turns a plan's values into this form, the reader and the paged runtime hold it (level 1
 * keeps i8 shared pages as int8: a quarter of the bytes), and the gather dequantises while it copies
 * (./gather.ts).
 */
import { decodeI8Pages, encodeI8Pages } from './quantize.ts';
import type { ValueType } from './plan.ts';
import { bytesToF32, f32ToBytes, HOST_IS_LITTLE_ENDIAN } from './values.ts';

export type StoredPages =
  | { readonly valueType: 'f32'; readonly values: Float32Array }
  | { readonly valueType: 'i8'; readonly codes: Int8Array; readonly scales: Float32Array };

/** The file bytes of stored pages (little-endian float32, or the int8 codes as they are). */
export function storedPageBytes(pages: StoredPages): Uint8Array {
  if (pages.valueType === 'f32') return f32ToBytes(pages.values);
  return new Uint8Array(pages.codes.buffer, pages.codes.byteOffset, pages.codes.byteLength);
}

/**
 * A page file's bytes as stored pages. f32: viewed in place on little-endian hosts when `bytes` is
 * aligned and its buffer is our own (else copied); i8: viewed in place (bytes are codes).
 */
export function pagesFromBytes(
  bytes: Uint8Array,
  valueType: ValueType,
  scales: readonly number[] | undefined,
): StoredPages {
  if (valueType === 'i8')
    return {
      valueType,
      codes: new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      scales: Float32Array.from(scales ?? []),
    };
  const values =
    HOST_IS_LITTLE_ENDIAN && bytes.byteOffset % 4 === 0
      ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
      : bytesToF32(bytes);
  return { valueType, values };
}

/** The pages' values: f32 as they are (the same array), i8 dequantised into a new array. */
export function pageValues(pages: StoredPages, pageSize: number): Float32Array {
  return pages.valueType === 'f32' ? pages.values : decodeI8Pages(pages.codes, pages.scales, pageSize);
}

/** Bytes these pages hold in memory: values or codes, and the scales. */
export function heldBytes(pages: StoredPages): number {
  return pages.valueType === 'f32'
    ? pages.values.byteLength
    : pages.codes.byteLength + pages.scales.byteLength;
}

/**
 * A plan's page values in stored form. i8 values must already lie on their pages' grids (the planner
 * makes them so); otherwise the message says which page and value do not.
 */
export function encodePages(
  values: Float32Array,
  valueType: ValueType,
  scales: Float32Array | undefined,
  pageSize: number,
): { readonly pages: StoredPages } | { readonly problem: string } {
  if (valueType === 'f32') return { pages: { valueType, values } };
  const pageCount = values.length / pageSize;
  if (!scales || scales.length !== pageCount)
    return { problem: `${scales?.length ?? 0} scales for ${pageCount} pages (one scale per page)` };
  const encoded = encodeI8Pages(values, scales, pageSize);
  if (!encoded.ok) return { problem: `page ${encoded.page}, value ${encoded.index}: ${encoded.message}` };
  return { pages: { valueType, codes: encoded.codes, scales } };
}
