/**
 * Pages as the firmware stores them (resources/firmware/src/blob.h): f32 values, or int8 codes with one
 * float32 scale per page (docs/FORMAT.md §11). A plan holds i8 pages dequantised (every value exactly
 * code × scale); the export turns them back into their codes, refusing any value off its page's grid,
 * so the bytes the firmware reads are exactly the values the planner evaluated.
 */
import { fail, ok, type Result } from '../core/errors.ts';
import { decodeI8Pages, encodeI8Pages } from '../image/quantize.ts';
import type { ValueType } from '../image/plan.ts';

export type PageStore =
  | { readonly valueType: 'f32'; readonly values: Float32Array }
  | { readonly valueType: 'i8'; readonly codes: Int8Array; readonly scales: Float32Array };

/** The firmware's value-type codes (WSEP_VALUE_F32, WSEP_VALUE_I8). */
export const VALUE_TYPE_CODE: Readonly<Record<ValueType, number>> = { f32: 0, i8: 1 };

export function valueTypeOfCode(code: number): ValueType | undefined {
  return code === 0 ? 'f32' : code === 1 ? 'i8' : undefined;
}

/** Pages in the store (P values or codes each). */
export function storePages(store: PageStore, pageSize: number): number {
  return (store.valueType === 'f32' ? store.values.length : store.codes.length) / pageSize;
}

/** Bytes of one page as stored: P × 4, or P codes and the page's 4-byte scale. */
export function storedPageBytes(valueType: ValueType, pageSize: number): number {
  return valueType === 'i8' ? pageSize + 4 : pageSize * 4;
}

/**
 * A set of pages as one block of bytes (a model's exclusive pages in level 2 and in the FRAM buffer):
 * f32 values, or (i8) the E scales then the E × P codes, so the scales stay 4-aligned and one read
 * brings both.
 */
export function storeBytes(store: PageStore): Uint8Array {
  if (store.valueType === 'f32')
    return new Uint8Array(store.values.buffer, store.values.byteOffset, store.values.byteLength);
  const out = new Uint8Array(store.scales.byteLength + store.codes.byteLength);
  out.set(new Uint8Array(store.scales.buffer, store.scales.byteOffset, store.scales.byteLength), 0);
  out.set(
    new Uint8Array(store.codes.buffer, store.codes.byteOffset, store.codes.byteLength),
    store.scales.byteLength,
  );
  return out;
}

/** The block of storeBytes read back; `pages` says where the scales end (i8). */
export function storeFromBytes(valueType: ValueType, bytes: Uint8Array, pages: number): PageStore {
  const copy = bytes.slice();
  if (valueType === 'f32')
    return { valueType, values: new Float32Array(copy.buffer, 0, copy.byteLength / 4) };
  return {
    valueType,
    scales: new Float32Array(copy.buffer, 0, pages),
    codes: new Int8Array(copy.buffer, 4 * pages, copy.byteLength - 4 * pages),
  };
}

/** The dequantised values of a store (i8: code × scale, as the host runtime gathers them). */
export function storeValues(store: PageStore, pageSize: number): Float32Array {
  return store.valueType === 'f32' ? store.values : decodeI8Pages(store.codes, store.scales, pageSize);
}

/** A plan's pages (values, and scales for i8) as the firmware stores them. */
export function storeOf(
  valueType: ValueType,
  values: Float32Array,
  scales: Float32Array | undefined,
  pageSize: number,
  what: string,
): Result<PageStore> {
  if (valueType === 'f32') return ok({ valueType, values });
  if (!scales || scales.length * pageSize !== values.length)
    return fail('E_MCU_BLOB', `The ${what} of this i8 plan have no scale table of one scale per page.`);
  const encoded = encodeI8Pages(values, scales, pageSize);
  if (!encoded.ok)
    return fail(
      'E_MCU_BLOB',
      `Page ${encoded.page} of the ${what}, value ${encoded.index}: ${encoded.message}.`,
      'The bundle was not written by a planner that quantises its pages; plan it again with --value-type i8.',
    );
  return ok({ valueType, codes: encoded.codes, scales });
}
