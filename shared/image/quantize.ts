/**
 * int8 pages (value type `i8`, docs/FORMAT.md §2): every page of P values is stored as P signed bytes
 * q ∈ [−127, 127] and one float32 scale s > 0, its value i being fround(q_i × s). One scale per
 * page — not per tensor or per occupant — because a shared page is one stored object that several
 * models read: its scale must be one number, and the joint optimisation chooses it from the page's
 * values as the page changes (separation/optimize.ts, fake quantisation).
 *
 * The same functions quantise in the planner (quantise–dequantise in the forward pass), in the
 * writer (values → stored bytes) and dequantise in the reader and the runtime's gather, so a value the
 * planner evaluated is bit for bit the value a device computes: q × s is exact in double (7 + 24
 * bits) and rounded to float32 once, by the Float32Array store.
 */
import type { Plan } from './plan.ts';

/** The largest |q|: the range is symmetric, so −128 is never used and negation never overflows. */
export const I8_MAX = 127;

/** The smallest scale a page gets: the smallest normal float32, so that a scale is never 0 or subnormal. */
export const MIN_SCALE = 2 ** -126;

/**
 * How a page's scale is chosen from its values:
 * - `max-abs`: max |v| / 127, no value is clipped;
 * - `mse`: the scale among CLIP_STEPS clipping fractions of max-abs that gives the least squared
 *   error on the page's own values (clipping a few outliers buys resolution for the rest).
 */
export type ScaleRule = 'max-abs' | 'mse';

export const SCALE_RULES: readonly ScaleRule[] = ['max-abs', 'mse'];

/** Clipping fractions of max |v| that the `mse` rule tries (1 = max-abs itself, always tried first). */
const CLIP_STEPS: readonly number[] = [1, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.6, 0.5];

/** A float32 scale for a largest magnitude `maxAbs`, never below MIN_SCALE. */
function scaleFor(maxAbs: number): number {
  const s = Math.fround(maxAbs / I8_MAX);
  return s >= MIN_SCALE && Number.isFinite(s) ? s : MIN_SCALE;
}

/** The int8 code of `v` at scale `s`: round to nearest (ties away from zero), clamped to ±127. */
export function quantizeValue(v: number, s: number): number {
  const q = Math.round(Math.abs(v) / s);
  const c = q > I8_MAX ? I8_MAX : q;
  return v < 0 && c > 0 ? -c : c; // never -0: a code is an integer, and 0 × s must read back as the value
}

/** Squared error of quantising values[from, to) at scale s. */
function squaredError(values: Float32Array, from: number, to: number, s: number): number {
  let e = 0;
  for (let i = from; i < to; i++) {
    const d = values[i]! - Math.fround(quantizeValue(values[i]!, s) * s);
    e += d * d;
  }
  return e;
}

/** The scale of the page values[from, to) under `rule`. */
export function pageScale(values: Float32Array, from: number, to: number, rule: ScaleRule): number {
  let maxAbs = 0;
  for (let i = from; i < to; i++) {
    const a = Math.abs(values[i]!);
    if (a > maxAbs) maxAbs = a;
  }
  const full = scaleFor(maxAbs);
  if (rule === 'max-abs' || maxAbs === 0) return full;
  let best = full;
  let bestError = squaredError(values, from, to, full);
  for (const fraction of CLIP_STEPS.slice(1)) {
    const s = scaleFor(maxAbs * fraction);
    const e = squaredError(values, from, to, s);
    if (e < bestError) {
      best = s;
      bestError = e;
    }
  }
  return best;
}

/**
 * Quantises pages of P values: writes each page's scale into `scales` (one per page) and each value's
 * dequantised value fround(q × s) into `out` (may be `values` itself: quantised in place). This is the
 * fake quantisation of the forward pass and the values an i8 plan holds.
 */
export function fakeQuantizePages(
  values: Float32Array,
  pageSize: number,
  rule: ScaleRule,
  scales: Float32Array,
  out: Float32Array = values,
): void {
  const pages = values.length / pageSize;
  for (let p = 0; p < pages; p++) {
    const from = p * pageSize;
    const to = from + pageSize;
    const s = pageScale(values, from, to, rule);
    scales[p] = s;
    for (let i = from; i < to; i++) out[i] = quantizeValue(values[i]!, s) * s;
  }
}

/** The result of encoding values that should lie on their pages' int8 grids. */
export type EncodeI8 =
  | { readonly ok: true; readonly codes: Int8Array }
  | { readonly ok: false; readonly page: number; readonly index: number; readonly message: string };

/**
 * The stored codes of pages whose values are already dequantised (q × s for their page's scale s): the
 * writer's path. A value that is not exactly on its page's grid is refused rather than rounded, so
 * that the bytes written are exactly the values the planner evaluated.
 */
export function encodeI8Pages(values: Float32Array, scales: Float32Array, pageSize: number): EncodeI8 {
  const codes = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const page = Math.floor(i / pageSize);
    const s = scales[page]!;
    const v = values[i]!;
    const q = quantizeValue(v, s);
    if (Math.fround(q * s) !== v)
      return {
        ok: false,
        page,
        index: i - page * pageSize,
        message: `value ${v} is not on the int8 grid of scale ${s} (nearest ${Math.fround(q * s)})`,
      };
    codes[i] = q;
  }
  return { ok: true, codes };
}

/** Dequantises codes (P per page) with their pages' scales into a new Float32Array. */
export function decodeI8Pages(codes: Int8Array, scales: Float32Array, pageSize: number): Float32Array {
  const out = new Float32Array(codes.length);
  dequantizeInto(codes, 0, scales, pageSize, out, 0, codes.length);
  return out;
}

/**
 * Dequantises `len` codes starting at code `src` (pages of P codes, page p's scale scales[p]) into
 * out[dst …]: one multiply per value, the scale looked up once per page (a run of pages is cut at
 * page boundaries, never divided per value).
 */
export function dequantizeInto(
  codes: Int8Array,
  src: number,
  scales: Float32Array,
  pageSize: number,
  out: Float32Array,
  dst: number,
  len: number,
): void {
  let done = 0;
  while (done < len) {
    const at = src + done;
    const page = Math.floor(at / pageSize);
    const end = Math.min(len, done + (page + 1) * pageSize - at);
    const s = scales[page]!;
    for (let i = done; i < end; i++) out[dst + i] = codes[src + i]! * s;
    done = end;
  }
}

/** Whether `s` may be a stored scale: a finite float32 > 0 (docs/FORMAT.md §3.2). */
export function validScale(s: number): boolean {
  return Number.isFinite(s) && s > 0 && Math.fround(s) === s;
}

/**
 * An f32 plan's pages quantised to i8 with one scale per page (values replaced by their dequantised
 * values): what the planner hands on after optimising with fake quantisation, and what tests and
 * tools use to make an i8 plan of any f32 one.
 */
export function quantizePlan(plan: Plan, rule: ScaleRule): Plan {
  const P = plan.pageSize;
  const quantize = (values: Float32Array): { values: Float32Array; scales: Float32Array } => {
    const scales = new Float32Array(values.length / P);
    const out = new Float32Array(values.length);
    fakeQuantizePages(values, P, rule, scales, out);
    return { values: out, scales };
  };
  const shared = quantize(plan.sharedPages);
  return {
    ...plan,
    valueType: 'i8',
    sharedPages: shared.values,
    sharedScales: shared.scales,
    models: plan.models.map((m) => {
      const e = quantize(m.exclusivePages);
      return { ...m, exclusivePages: e.values, exclusiveScales: e.scales };
    }),
  };
}
