/**
 * Training-time augmentation of a gathered mini-batch, in place. Each augmentation works along one
 * axis of the per-sample shape (channels first), so the same code shifts an image by pixels, an
 * MFCC map by frames, or an accelerometer trace by samples:
 * - shift: random translation by up to ±max positions, filling with 0 (the mean after normalisation).
 *   Two shifts on H and W make the usual pad-and-random-crop of images.
 * - flip: mirror along the axis with probability 1/2 (left–right for images; not for digits or signs).
 * - mask: zero one random band (SpecAugment-style time or frequency masking).
 * - noise: additive Gaussian noise; scale: multiply the sample by a random factor.
 *
 * `AugmentSpec` has the same shape as the zoo's training hints, so a task's recommended recipe is
 * passed through as data. All randomness comes from the `Rng` handed in, so runs are reproducible.
 */
import { fail, ok, type Result } from '../core/errors.ts';
import type { Rng } from '../core/rng.ts';

/**
 * Changes a batch in place: `x` holds `count` samples of `shape` (channels first) back to back.
 * Must draw all its randomness from `rng`.
 */
export type Augment = (x: Float32Array, count: number, shape: readonly number[], rng: Rng) => void;

/** An augmentation as data (a zoo recipe holds a list of these); `axis` is an axis of the per-sample shape. */
export type AugmentSpec =
  /** Random shift by up to ±max positions along `axis`, filling with zeros (time shift, image translation). */
  | { readonly kind: 'shift'; readonly axis: number; readonly max: number }
  /** Random mirror along `axis` with probability 1/2. */
  | { readonly kind: 'flip'; readonly axis: number }
  /** Zero one random band of up to maxWidth positions along `axis` (SpecAugment-style masking). */
  | { readonly kind: 'mask'; readonly axis: number; readonly maxWidth: number }
  /** Additive Gaussian noise of this standard deviation. */
  | { readonly kind: 'noise'; readonly std: number }
  /** Multiply the whole sample by a factor drawn uniformly in [min, max]. */
  | { readonly kind: 'scale'; readonly min: number; readonly max: number }
  /** Add one random offset per position of `axis` (e.g. per sensor channel), drawn from N(0, std²). */
  | { readonly kind: 'offset'; readonly axis: number; readonly std: number };

const FIELDS: Record<AugmentSpec['kind'], readonly string[]> = {
  shift: ['axis', 'max'],
  flip: ['axis'],
  mask: ['axis', 'maxWidth'],
  noise: ['std'],
  scale: ['min', 'max'],
  offset: ['axis', 'std'],
};

/**
 * Reads a list of augmentations from JSON text (as a model's `weightsep.augment` metadata holds it),
 * checking every entry's kind and numeric fields; `rank` is the per-sample rank, for the axes.
 */
export function parseAugmentSpecs(text: string, rank: number): Result<AugmentSpec[]> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail('E_USAGE', 'The augmentation list is not valid JSON.');
  }
  if (!Array.isArray(value)) return fail('E_USAGE', 'The augmentation list must be a JSON array.');
  for (const [i, entry] of value.entries()) {
    const spec = entry as Record<string, unknown> | null;
    const kind = spec?.kind;
    if (typeof kind !== 'string' || !(kind in FIELDS)) {
      return fail(
        'E_USAGE',
        `Augmentation ${i + 1} has kind ${JSON.stringify(kind)}; expected one of ${Object.keys(FIELDS).join(', ')}.`,
      );
    }
    for (const field of FIELDS[kind as AugmentSpec['kind']]) {
      const v = spec![field];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        return fail('E_USAGE', `Augmentation ${i + 1} (${kind}) needs a number for "${field}".`);
      }
      if (field === 'axis' && (!Number.isInteger(v) || v < 0 || v >= rank)) {
        return fail('E_USAGE', `Augmentation ${i + 1} (${kind}) has axis ${v}; samples have ${rank} axes.`);
      }
    }
  }
  return ok(value as AugmentSpec[]);
}

/** Builds one augmentation that applies the specs in order. */
export function augmentFrom(specs: readonly AugmentSpec[]): Augment | undefined {
  if (specs.length === 0) return undefined;
  const steps = specs.map(augmentOne);
  return (x, count, shape, rng) => {
    for (const s of steps) s(x, count, shape, rng);
  };
}

function augmentOne(spec: AugmentSpec): Augment {
  switch (spec.kind) {
    case 'shift':
      return randomShift(spec.axis, spec.max);
    case 'flip':
      return randomFlip(spec.axis);
    case 'mask':
      return randomMask(spec.axis, spec.maxWidth);
    case 'noise':
      return gaussianNoise(spec.std);
    case 'scale':
      return randomScale(spec.min, spec.max);
    case 'offset':
      return randomOffset(spec.axis, spec.std);
  }
}

/** Splits a sample shape around `axis`: outer × len × inner. */
function around(
  shape: readonly number[],
  axis: number,
  what: string,
): { outer: number; len: number; inner: number; sample: number } {
  if (!Number.isInteger(axis) || axis < 0 || axis >= shape.length) {
    throw new Error(`${what}: axis ${axis} is outside the sample shape [${shape.join(', ')}]`);
  }
  const len = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  return { outer, len, inner, sample: outer * len * inner };
}

/** Random translation by a whole number of positions in [−max, max] along `axis`, filling with `fill`. */
export function randomShift(axis: number, max: number, fill = 0): Augment {
  let scratch = new Float32Array(0);
  return (x, count, shape, rng) => {
    const { outer, len, inner, sample } = around(shape, axis, 'shift');
    const row = len * inner;
    if (scratch.length < row) scratch = new Float32Array(row);
    for (let b = 0; b < count; b++) {
      const shift = rng.int(2 * max + 1) - max;
      if (shift === 0) continue;
      for (let o = 0; o < outer; o++) {
        const base = b * sample + o * row;
        scratch.set(x.subarray(base, base + row));
        for (let t = 0; t < len; t++) {
          const from = t - shift;
          const dst = base + t * inner;
          if (from < 0 || from >= len) x.fill(fill, dst, dst + inner);
          else x.set(scratch.subarray(from * inner, (from + 1) * inner), dst);
        }
      }
    }
  };
}

/** Mirrors each sample along `axis` with probability 1/2. */
export function randomFlip(axis: number): Augment {
  return (x, count, shape, rng) => {
    const { outer, len, inner, sample } = around(shape, axis, 'flip');
    const row = len * inner;
    for (let b = 0; b < count; b++) {
      if (rng.next() >= 0.5) continue;
      for (let o = 0; o < outer; o++) {
        const base = b * sample + o * row;
        for (let t = 0; t < len >> 1; t++) {
          const p = base + t * inner;
          const q = base + (len - 1 - t) * inner;
          for (let i = 0; i < inner; i++) {
            const tmp = x[p + i]!;
            x[p + i] = x[q + i]!;
            x[q + i] = tmp;
          }
        }
      }
    }
  };
}

/** Sets one random band of 0..maxWidth positions along `axis` to `fill`. */
export function randomMask(axis: number, maxWidth: number, fill = 0): Augment {
  return (x, count, shape, rng) => {
    const { outer, len, inner, sample } = around(shape, axis, 'mask');
    const row = len * inner;
    for (let b = 0; b < count; b++) {
      const width = Math.min(len, rng.int(maxWidth + 1));
      if (width === 0) continue;
      const start = rng.int(len - width + 1);
      for (let o = 0; o < outer; o++) {
        const base = b * sample + o * row;
        x.fill(fill, base + start * inner, base + (start + width) * inner);
      }
    }
  };
}

/** Adds N(0, std²) noise to every value. */
export function gaussianNoise(std: number): Augment {
  return (x, count, shape, rng) => {
    const n = count * shape.reduce((a, b) => a * b, 1);
    for (let i = 0; i < n; i++) x[i] = x[i]! + std * rng.normal();
  };
}

/** Multiplies each sample by a factor drawn uniformly from [min, max]. */
export function randomScale(min: number, max: number): Augment {
  return (x, count, shape, rng) => {
    const sample = shape.reduce((a, b) => a * b, 1);
    for (let b = 0; b < count; b++) {
      const f = min + (max - min) * rng.next();
      for (let i = b * sample; i < (b + 1) * sample; i++) x[i] = x[i]! * f;
    }
  };
}

/**
 * Adds one N(0, std²) offset per sample and per position of `axis` (e.g. per sensor channel), so a
 * model cannot tell subjects apart by the constant offsets of their sensors.
 */
export function randomOffset(axis: number, std: number): Augment {
  return (x, count, shape, rng) => {
    const { outer, len, inner, sample } = around(shape, axis, 'offset');
    for (let b = 0; b < count; b++) {
      for (let t = 0; t < len; t++) {
        const offset = rng.normal() * std;
        for (let o = 0; o < outer; o++) {
          const base = b * sample + o * len * inner + t * inner;
          for (let i = 0; i < inner; i++) x[base + i]! += offset;
        }
      }
    }
  };
}
