/**
 * The model descriptor blob (resources/firmware/src/blob.h, wsep_desc_header_t + wsep_layer_t): what the
 * firmware needs to run one model, with no recompile for a new plan. A 64-byte header, then one 64-byte
 * record per layer, all little-endian uint32 (LeakyRelu's alpha as its f32 bits).
 */
import { fail, ok, type Result } from '../core/errors.ts';
import { checkBlob, sealBlob } from './blob-frame.ts';
import { OP, type Layer, type LayerOp, type ModelLayers } from './layers.ts';

export const DESCRIPTOR_HEADER_BYTES = 64;
export const LAYER_BYTES = 64;

export interface Descriptor extends ModelLayers {
  readonly weightCount: number;
  readonly pageCount: number;
  readonly exclusivePages: number;
}

const OPS = Object.entries(OP) as [LayerOp, number][];
const f32 = new DataView(new ArrayBuffer(4));
const floatBits = (v: number): number => (f32.setFloat32(0, v, true), f32.getUint32(0, true));
const bitsFloat = (u: number): number => (f32.setUint32(0, u, true), f32.getFloat32(0, true));

export function descriptorBytes(layerCount: number): number {
  return DESCRIPTOR_HEADER_BYTES + layerCount * LAYER_BYTES;
}

export function encodeDescriptor(d: Descriptor): Uint8Array {
  const bytes = new Uint8Array(descriptorBytes(d.layers.length));
  const v = new DataView(bytes.buffer);
  const header = [
    d.weightCount,
    d.pageCount,
    d.layers.length,
    d.classes,
    ...d.input,
    d.activationValues,
    d.exclusivePages,
    Math.min(d.macs, 0xffffffff),
  ];
  header.forEach((x, i) => v.setUint32(16 + 4 * i, x, true));
  d.layers.forEach((l, i) => {
    const fields = [
      OP[l.op],
      ...l.in,
      ...l.out,
      ...l.kernel,
      ...l.stride,
      ...l.pad,
      l.weightOffset,
      l.biasOffset,
      floatBits(l.alpha),
    ];
    fields.forEach((x, k) => v.setUint32(DESCRIPTOR_HEADER_BYTES + i * LAYER_BYTES + 4 * k, x >>> 0, true));
  });
  return sealBlob('descriptor', bytes);
}

/** Reads a descriptor back (tests, `wsep mcu run`): the frame, then the layer records. */
export function decodeDescriptor(bytes: Uint8Array): Result<Descriptor> {
  const framed = checkBlob('descriptor', bytes, DESCRIPTOR_HEADER_BYTES);
  if (!framed.ok) return framed;
  const v = framed.value;
  const u = (at: number): number => v.getUint32(at, true);
  const layerCount = u(24);
  if (bytes.byteLength !== descriptorBytes(layerCount))
    return fail(
      'E_MCU_BLOB',
      `The descriptor blob has ${bytes.byteLength} bytes, not ${descriptorBytes(layerCount)} for ${layerCount} layers.`,
    );
  const layers: Layer[] = [];
  for (let i = 0; i < layerCount; i++) {
    const at = DESCRIPTOR_HEADER_BYTES + i * LAYER_BYTES;
    const w = (k: number): number => u(at + 4 * k);
    const op = OPS.find(([, code]) => code === w(0));
    if (!op) return fail('E_MCU_BLOB', `Layer ${i} of the descriptor has the unknown operator ${w(0)}.`);
    layers.push({
      op: op[0],
      in: [w(1), w(2), w(3)],
      out: [w(4), w(5), w(6)],
      kernel: [w(7), w(8)],
      stride: [w(9), w(10)],
      pad: [w(11), w(12)],
      weightOffset: w(13),
      biasOffset: w(14),
      alpha: bitsFloat(w(15)),
    });
  }
  return ok({
    weightCount: u(16),
    pageCount: u(20),
    classes: u(28),
    input: [u(32), u(36), u(40)],
    activationValues: u(44),
    exclusivePages: u(48),
    macs: u(52),
    layers,
  });
}
