/**
 * A small architecture description in JSON, so that a user can size a model to a page budget
 * without code (`wsep train --arch my-arch.json`, `wsep model describe --arch my-arch.json`):
 *
 *   {"conv": [16, 32], "kernel": 3, "pool": 2, "dense": [64], "activation": "relu"}
 *
 * It builds a plain stack with the MCU operator set only (Conv, Relu, LeakyRelu, MaxPool, Flatten,
 * Gemm): each conv layer is followed by the activation and a max pool, then Flatten, the hidden
 * dense layers with the activation, and the logits layer, whose width is the task's class count.
 * The input shape comes from the task's data, never from the file, so one file serves any task of
 * the same kind. Every field is optional; ARCH_FIELDS documents each and its default.
 */
import { fail, ok, raise, type Result } from '../core/errors.ts';
import type { ModelBuilder, Value } from './model-builder.ts';

export type Activation = 'relu' | 'leaky_relu';

export interface ArchFile {
  /** Output channels of each conv layer, in order. */
  readonly conv: readonly number[];
  /** Kernel size: k (square, or [1, k] on 1-D inputs), or [kh, kw]. */
  readonly kernel: number | readonly [number, number];
  /** 'same' keeps the map size (zero padding); 'valid' shrinks it by kernel − 1. */
  readonly pad: 'same' | 'valid';
  /** Max-pool window after each conv layer (0 or 1: none); one number for all, or one per layer. */
  readonly pool: number | readonly number[];
  /** Widths of the hidden dense layers before the logits layer. */
  readonly dense: readonly number[];
  readonly activation: Activation;
}

export const ARCH_DEFAULTS: ArchFile = {
  conv: [],
  kernel: 3,
  pad: 'same',
  pool: 2,
  dense: [],
  activation: 'relu',
};

/** One line per field, for help texts and docs. */
export const ARCH_FIELDS: readonly string[] = [
  'conv        list of conv layer widths (output channels), in order; default [] (no conv layer).',
  '            Conv layers need an input with spatial dims: [C, H, W] images and maps, or [C, 1, T]',
  '            sequences (1-D convs over T); a flat [F] input takes dense layers only.',
  'kernel      conv kernel: k (k×k, or 1×k on [C, 1, T] inputs) or [kh, kw]; default 3.',
  'pad         "same" (keep the map size) or "valid" (shrink it by kernel − 1); default "same".',
  'pool        max-pool window after each conv (0 or 1: none; 1×p on [C, 1, T] inputs); one number',
  '            or one per conv layer; default 2.',
  'dense       list of hidden dense layer widths before the logits layer; default [].',
  'activation  "relu" or "leaky_relu" (slope 0.1), after every conv and hidden dense layer; default "relu".',
  'The logits layer always follows, with one output per class of the task.',
];

const FIELD_NAMES = Object.keys(ARCH_DEFAULTS);

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65536;
}

/** Reads and checks an architecture description; `file` names it in messages. */
export function parseArchFile(text: string, file: string): Result<ArchFile> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (thrown) {
    return fail('E_USAGE', `${file} is not valid JSON: ${(thrown as Error).message}.`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    return fail('E_USAGE', `${file} must hold a JSON object such as {"conv": [16, 32], "dense": [64]}.`);
  const o = json as Record<string, unknown>;
  const bad = (field: string, what: string, hint?: string): Result<ArchFile> =>
    fail(
      'E_USAGE',
      `${file}: field '${field}' ${what} (got ${JSON.stringify(o[field])}).`,
      hint ?? 'See "wsep model describe --help" for the fields of an architecture file.',
    );
  const unknown = Object.keys(o).filter((k) => !FIELD_NAMES.includes(k));
  if (unknown.length > 0)
    return fail(
      'E_USAGE',
      `${file}: unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}.`,
      `The fields are ${FIELD_NAMES.join(', ')}.`,
    );
  const spec: { -readonly [K in keyof ArchFile]: ArchFile[K] } = { ...ARCH_DEFAULTS };
  if (o.conv !== undefined) {
    if (!Array.isArray(o.conv) || !o.conv.every(isCount))
      return bad('conv', 'must be a list of whole numbers from 1 to 65536');
    spec.conv = o.conv;
  }
  if (o.kernel !== undefined) {
    const k = o.kernel;
    if (!(isCount(k) || (Array.isArray(k) && k.length === 2 && k.every(isCount))))
      return bad('kernel', 'must be a whole number ≥ 1 or [kh, kw]');
    spec.kernel = isCount(k) ? k : [k[0] as number, k[1] as number];
  }
  if (o.pad !== undefined) {
    if (o.pad !== 'same' && o.pad !== 'valid') return bad('pad', 'must be "same" or "valid"');
    spec.pad = o.pad;
  }
  if (o.pool !== undefined) {
    const p = o.pool;
    const window = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 64;
    if (!(window(p) || (Array.isArray(p) && p.every(window))))
      return bad('pool', 'must be a window from 0 to 64, or one per conv layer');
    spec.pool = p as number | number[];
  }
  if (Array.isArray(spec.pool) && spec.pool.length !== spec.conv.length)
    return bad('pool', `lists ${spec.pool.length} windows for ${spec.conv.length} conv layers`);
  if (o.dense !== undefined) {
    if (!Array.isArray(o.dense) || !o.dense.every(isCount))
      return bad('dense', 'must be a list of whole numbers from 1 to 65536');
    spec.dense = o.dense;
  }
  if (o.activation !== undefined) {
    if (o.activation !== 'relu' && o.activation !== 'leaky_relu')
      return bad('activation', 'must be "relu" or "leaky_relu"');
    spec.activation = o.activation;
  }
  return ok(spec);
}

/** The description as a file, every field written out (defaults included), so a reader sees all. */
export function formatArchFile(spec: ArchFile): string {
  const line = (v: unknown) => JSON.stringify(v);
  const fields = FIELD_NAMES.map((k) => `  ${line(k)}: ${line(spec[k as keyof ArchFile])}`);
  return `{\n${fields.join(',\n')}\n}\n`;
}

/** "c3×3·16-pool2-c3×3·32-pool2-fc64" style summary of the file, for labels. */
export function archFileLabel(spec: ArchFile): string {
  const k = typeof spec.kernel === 'number' ? `${spec.kernel}` : spec.kernel.join('×');
  return [
    ...spec.conv.map((c, i) => `c${k}·${c}${poolOf(spec, i) > 1 ? `-pool${poolOf(spec, i)}` : ''}`),
    ...spec.dense.map((d) => `fc${d}`),
  ].join('-');
}

function poolOf(spec: ArchFile, layer: number): number {
  return typeof spec.pool === 'number' ? spec.pool : (spec.pool[layer] ?? 0);
}

/**
 * The layers on a builder. Throws a WsepFailure (E_USAGE) naming the layer when the input cannot
 * take them (conv layers on a flat input, a window larger than the map); zoo/architecture.ts turns
 * that into an E_DATA_MISMATCH result.
 */
export function defineArchFile(spec: ArchFile, b: ModelBuilder, input: Value, classes: number): Value {
  const act = (v: Value) => (spec.activation === 'relu' ? b.relu(v) : b.leakyRelu(v, 0.1));
  let x = input;
  if (spec.conv.length > 0) {
    if (x.shape.length !== 3)
      raise(
        'E_USAGE',
        `Conv "conv1" needs an input with spatial dims ([C, H, W], or [C, 1, T] for sequences); the input is [${x.shape.join(', ')}].`,
      );
    // A [C, 1, T] sequence (or [C, T, 1]) gets 1-D kernels and windows along its long axis.
    const along = x.shape[1] === 1 && x.shape[2]! > 1 ? 'w' : x.shape[2] === 1 && x.shape[1]! > 1 ? 'h' : '';
    const oneD = (k: number): readonly [number, number] =>
      along === 'w' ? [1, k] : along === 'h' ? [k, 1] : [k, k];
    const kernel = typeof spec.kernel === 'number' ? oneD(spec.kernel) : spec.kernel;
    spec.conv.forEach((channels, i) => {
      x = act(
        b.conv(`conv${i + 1}`, x, channels, { kernel, ...(spec.pad === 'same' ? { pad: 'same' } : {}) }),
      );
      const p = poolOf(spec, i);
      if (p > 1) x = b.maxPool(x, oneD(p));
    });
  }
  x = b.flatten(x);
  spec.dense.forEach((units, i) => {
    x = act(b.dense(`fc${i + 1}`, x, units));
  });
  return b.dense('fc_out', x, classes, { init: 'lecun' });
}
