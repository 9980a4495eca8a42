/**
 * A bundle's preprocessing, applied to one raw sample exactly as shared/datasets/load.ts applies it to
 * task data (the same permutation and normalisation code, so the same raw values give bit-identical
 * model input), and compared with a task's own preprocessing to tell whether data belongs to a plan.
 *
 * The bundle stores the layout only by name ('HWC->CHW', 'TC->CT', 'none'); the stored sample shape
 * and the permutation are recovered from that name and the model's input shape.
 */
import { fail, ok, type Result } from '../core/errors.ts';
import { permuteSamples } from '../datasets/layout.ts';
import { applyStats } from '../datasets/normalize.ts';
import type { Preprocessing } from '../datasets/types.ts';

export interface StoredLayout {
  /** Axis letters of the stored sample, e.g. 'HWC'; '' when the layout is 'none'. */
  readonly letters: string;
  /** Per-sample shape as the task data stores it (the source layout). */
  readonly storedShape: readonly number[];
  /** Model axis k (before the reshape to inputShape) is stored axis permutation[k]. */
  readonly permutation: readonly number[];
  /** True when stored and model layouts hold the values in the same order. */
  readonly identity: boolean;
}

const LAYOUT = /^([A-Z]+)->([A-Z]+)$/;

/**
 * The stored layout a preprocessing names, for a model taking `inputShape`. The model side of the
 * name may have fewer axes than inputShape: the data loader reshapes by inserting size-1 axes (e.g.
 * 'TC->CT' with inputShape [3, 1, 128]); which size-1 axes are dropped does not change value order.
 */
export function storedLayout(pre: Preprocessing, inputShape: readonly number[]): Result<StoredLayout> {
  if (pre.layout === 'none')
    return ok({
      letters: '',
      storedShape: [...inputShape],
      permutation: inputShape.map((_, k) => k),
      identity: true,
    });
  const m = LAYOUT.exec(pre.layout);
  const [from, to] = m ? [m[1]!, m[2]!] : ['', ''];
  const sameLetters =
    m !== null &&
    from.length === to.length &&
    new Set(from).size === from.length &&
    new Set(to).size === to.length &&
    [...to].every((c) => from.includes(c));
  if (!sameLetters)
    return fail(
      'E_BUNDLE',
      `The bundle's preprocessing names layout "${pre.layout}", which is not "none" or a rearrangement of axis letters such as "HWC->CHW".`,
    );
  const permuted = [...inputShape];
  for (let k = 0; permuted.length > to.length && k < permuted.length;) {
    if (permuted[k] === 1) permuted.splice(k, 1);
    else k++;
  }
  if (permuted.length !== to.length)
    return fail(
      'E_BUNDLE',
      `The bundle's layout "${pre.layout}" has ${to.length} axes, which does not fit input shape [${inputShape.join(', ')}].`,
    );
  const permutation = [...to].map((c) => from.indexOf(c));
  const storedShape = new Array<number>(from.length);
  permutation.forEach((p, k) => (storedShape[p] = permuted[k]!));
  const moved = permutation.filter((p) => storedShape[p]! > 1);
  return ok({
    letters: from,
    storedShape,
    permutation,
    identity: moved.every((p, i) => i === 0 || p > moved[i - 1]!),
  });
}

/** The normalisation axis load.ts used: one statistic means one for all values (or a size-1 axis). */
function statsAxis(pre: Preprocessing, inputShape: readonly number[]): Result<number | null> {
  if (pre.mean.length !== pre.std.length)
    return fail(
      'E_BUNDLE',
      `The bundle's preprocessing has ${pre.mean.length} means but ${pre.std.length} standard deviations.`,
    );
  if (pre.mean.length === 1) return ok(null);
  const axis = pre.axis ?? 0;
  if (inputShape[axis] !== pre.mean.length)
    return fail(
      'E_BUNDLE',
      `The bundle's preprocessing has ${pre.mean.length} means for axis ${axis}, but input shape [${inputShape.join(', ')}] has ${inputShape[axis] ?? 'no'} entries there.`,
    );
  return ok(axis);
}

/**
 * One raw sample (values as the task data stores them, before scale and normalisation) turned into
 * model input: permuted from the stored layout when `from` is 'stored', then normalised.
 */
export function preprocessSample(
  raw: Float32Array,
  from: 'stored' | 'model',
  pre: Preprocessing,
  inputShape: readonly number[],
): Result<Float32Array> {
  const size = inputShape.reduce((a, b) => a * b, 1);
  if (raw.length !== size)
    return fail('E_DATA_MISMATCH', `The sample has ${raw.length} values; the model takes ${size}.`);
  const axis = statsAxis(pre, inputShape);
  if (!axis.ok) return axis;
  const x = new Float32Array(size);
  if (from === 'stored') {
    const layout = storedLayout(pre, inputShape);
    if (!layout.ok) return layout;
    permuteSamples(raw, x, 1, layout.value.storedShape, layout.value.permutation);
  } else {
    x.set(raw);
  }
  applyStats(x, 1, inputShape, axis.value, pre.scale, { mean: [...pre.mean], std: [...pre.std] });
  return ok(x);
}

/** Equal up to the last bits a JSON round trip or another machine's summation order could change. */
function close(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b)) + 1e-12;
}

/**
 * How `data`'s preprocessing differs from the bundle's, in words, or undefined when they agree. The
 * statistics come from the data's train split, so different statistics mean different data.
 */
export function preprocessingDifference(bundle: Preprocessing, data: Preprocessing): string | undefined {
  if (bundle.layout !== data.layout) return `layout "${data.layout}", the bundle's is "${bundle.layout}"`;
  if (!close(bundle.scale, data.scale)) return `scale ${data.scale}, the bundle's is ${bundle.scale}`;
  if ((bundle.axis ?? 0) !== (data.axis ?? 0))
    return `statistics along axis ${data.axis ?? 0}, the bundle's along axis ${bundle.axis ?? 0}`;
  for (const key of ['mean', 'std'] as const) {
    const a = bundle[key];
    const b = data[key];
    if (a.length !== b.length) return `${b.length} ${key} values, the bundle has ${a.length}`;
    const at = a.findIndex((v, i) => !close(v, b[i]!));
    if (at >= 0) return `train-split ${key}[${at}] = ${b[at]}, the bundle's is ${a[at]}`;
  }
  return undefined;
}
