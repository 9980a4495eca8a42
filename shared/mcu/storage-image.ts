/**
 * The level-2 (flash storage) image (resources/firmware/src/blob.h, wsep_l2_header_t): per model its
 * descriptor, exclusive pages and test slice, behind a directory. The firmware reads it only through
 * its storage driver, which counts the bytes a switch costs.
 */
import { fail, ok, type Result } from '../core/errors.ts';
import type { ValueType } from '../image/plan.ts';
import { align4, checkBlob, sealBlob } from './blob-frame.ts';
import { decodeDescriptor } from './descriptor.ts';
import {
  storeBytes,
  storeFromBytes,
  VALUE_TYPE_CODE,
  valueTypeOfCode,
  type PageStore,
} from './page-store.ts';

export const STORAGE_HEADER_BYTES = 48;
export const ENTRY_BYTES = 64;
export const NAME_BYTES = 32;

export interface StorageModel {
  /** At most 31 bytes of UTF-8 (the firmware prints it as is). */
  readonly name: string;
  readonly descriptor: Uint8Array;
  /** The E_k exclusive pages: values, or (i8) codes and scales, read together at a switch. */
  readonly exclusive: PageStore;
  /** samples × input values, model input as the host runtime takes it. */
  readonly slice: Float32Array;
  readonly labels: Uint8Array;
}

export interface StorageImageInput {
  readonly exportId: number;
  readonly budgetBytes: number;
  /** Samples per task whose raw logits the firmware prints (0: none). */
  readonly logitsSamples: number;
  /** The FRAM image's value type (the firmware checks that both agree); f32 when absent. */
  readonly valueType?: ValueType;
  readonly models: readonly StorageModel[];
}

export interface StorageLayout {
  readonly totalBytes: number;
  readonly descriptorBytes: number;
  readonly exclusiveBytes: number;
  readonly sliceBytes: number;
}

const f32Bytes = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Bytes of a store in level 2: f32 values, or the scales then the codes (page-store.ts). */
const exclusiveByteLength = (e: PageStore): number =>
  e.valueType === 'f32' ? e.values.byteLength : e.scales.byteLength + e.codes.byteLength;

export function storageLayout(input: Pick<StorageImageInput, 'models'>): StorageLayout {
  let descriptorBytes = 0;
  let exclusiveBytes = 0;
  let sliceBytes = 0;
  for (const m of input.models) {
    descriptorBytes += align4(m.descriptor.byteLength);
    exclusiveBytes += align4(exclusiveByteLength(m.exclusive));
    sliceBytes += m.slice.byteLength + align4(m.labels.byteLength);
  }
  const totalBytes =
    STORAGE_HEADER_BYTES + input.models.length * ENTRY_BYTES + descriptorBytes + exclusiveBytes + sliceBytes;
  return { totalBytes, descriptorBytes, exclusiveBytes, sliceBytes };
}

export function encodeStorageImage(input: StorageImageInput): { bytes: Uint8Array; layout: StorageLayout } {
  const layout = storageLayout(input);
  const bytes = new Uint8Array(layout.totalBytes);
  const v = new DataView(bytes.buffer);
  [
    input.exportId,
    input.budgetBytes,
    input.models.length,
    STORAGE_HEADER_BYTES,
    input.logitsSamples,
    VALUE_TYPE_CODE[input.valueType ?? 'f32'],
  ].forEach((x, i) => v.setUint32(16 + 4 * i, x >>> 0, true));
  let at = STORAGE_HEADER_BYTES + input.models.length * ENTRY_BYTES;
  const place = (data: Uint8Array): number => {
    const off = at;
    bytes.set(data, off);
    at += align4(data.byteLength);
    return off;
  };
  input.models.forEach((m, k) => {
    const entry = STORAGE_HEADER_BYTES + k * ENTRY_BYTES;
    bytes.set(Buffer.from(m.name, 'utf8').subarray(0, NAME_BYTES - 1), entry);
    const fields = [
      place(m.descriptor),
      m.descriptor.byteLength,
      place(storeBytes(m.exclusive)),
      exclusiveByteLength(m.exclusive),
      place(f32Bytes(m.slice)),
      m.labels.byteLength,
      place(m.labels),
      0,
    ];
    fields.forEach((x, i) => v.setUint32(entry + NAME_BYTES + 4 * i, x, true));
  });
  return { bytes: sealBlob('storage', bytes), layout };
}

export interface StorageImage {
  readonly exportId: number;
  readonly budgetBytes: number;
  readonly logitsSamples: number;
  readonly valueType: ValueType;
  readonly models: readonly StorageModel[];
}

/** Reads an image back (tests, `wsep mcu run`); input values per sample come from each descriptor. */
export function decodeStorageImage(
  bytes: Uint8Array,
  inputValues: (descriptor: Uint8Array) => Result<number>,
): Result<StorageImage> {
  const framed = checkBlob('storage', bytes, STORAGE_HEADER_BYTES);
  if (!framed.ok) return framed;
  const v = framed.value;
  const u = (at: number): number => v.getUint32(at, true);
  const count = u(24);
  const dir = u(28);
  const valueType = valueTypeOfCode(u(36));
  if (valueType === undefined)
    return fail('E_MCU_BLOB', `The storage blob has the unknown value type ${u(36)}.`);
  const inside = (off: number, n: number): boolean => off + n <= bytes.byteLength;
  if (!inside(dir, count * ENTRY_BYTES))
    return fail('E_MCU_BLOB', 'The storage blob has its directory outside the image.');
  const models: StorageModel[] = [];
  for (let k = 0; k < count; k++) {
    const entry = dir + k * ENTRY_BYTES;
    const raw = bytes.subarray(entry, entry + NAME_BYTES);
    const end = raw.indexOf(0);
    if (end < 0) return fail('E_MCU_BLOB', `Model ${k} of the storage blob has an unterminated name.`);
    const name = Buffer.from(raw.subarray(0, end)).toString('utf8');
    const w = (i: number): number => u(entry + NAME_BYTES + 4 * i);
    const [descOff, descBytes, exclOff, exclBytes, sliceOff, samples, labelsOff] = [0, 1, 2, 3, 4, 5, 6].map(
      w,
    ) as number[] as [number, number, number, number, number, number, number];
    if (
      !inside(descOff, descBytes) ||
      !inside(exclOff, exclBytes) ||
      !inside(labelsOff, samples) ||
      (valueType === 'f32' && exclBytes % 4 !== 0)
    )
      return fail('E_MCU_BLOB', `Model "${name}" of the storage blob lies outside the image.`);
    const descriptor = bytes.slice(descOff, descOff + descBytes);
    const per = inputValues(descriptor);
    if (!per.ok) return per;
    // i8: the descriptor's exclusive page count says where the scales end and the codes begin.
    const d = valueType === 'i8' ? decodeDescriptor(descriptor) : undefined;
    if (d && !d.ok) return d;
    const pages = d?.ok ? d.value.exclusivePages : 0;
    if (valueType === 'i8' && exclBytes < 4 * pages)
      return fail('E_MCU_BLOB', `The exclusive pages of model "${name}" are shorter than their scale table.`);
    if (!inside(sliceOff, samples * per.value * 4))
      return fail('E_MCU_BLOB', `The test slice of model "${name}" lies outside the storage blob.`);
    models.push({
      name,
      descriptor,
      exclusive: storeFromBytes(valueType, bytes.subarray(exclOff, exclOff + exclBytes), pages),
      slice: new Float32Array(bytes.slice(sliceOff, sliceOff + samples * per.value * 4).buffer),
      labels: bytes.slice(labelsOff, labelsOff + samples),
    });
  }
  return ok({ exportId: u(16), budgetBytes: u(20), logitsSamples: u(32), valueType, models });
}
