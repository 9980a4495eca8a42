/**
 * Train / validation / test assignment. Validation must mirror the shift between train and test
 * (the planner's early stopping trusts it), so there is one rule per kind of shift: by group
 * (speaker, fold, subject), chronological, or stratified random where train and test are i.i.d.
 * All rules are deterministic: the same input and seed give the same split.
 */
import type { Rng } from '../core/rng.ts';

/** Source row indices per split, each in the order they will be stored. */
export interface SplitAssignment {
  readonly train: readonly number[];
  readonly val: readonly number[];
  readonly test: readonly number[];
}

/** Indices grouped by class, each list in the input order. */
function byClass(indices: readonly number[], labels: ArrayLike<number>): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  for (const i of indices) {
    const c = labels[i]!;
    let list = groups.get(c);
    if (!list) groups.set(c, (list = []));
    list.push(i);
  }
  return new Map([...groups.entries()].sort((a, b) => a[0] - b[0]));
}

/**
 * Stratified random cut of `indices` into parts with the given fractions (the last part takes the
 * rest): each class is shuffled and cut in the same proportions, rounding per class.
 * Returns the parts, each sorted by source index so the stored order follows the source.
 */
export function stratifiedParts(
  indices: readonly number[],
  labels: ArrayLike<number>,
  fractions: readonly number[],
  rng: Rng,
): number[][] {
  const parts: number[][] = fractions.map(() => []);
  for (const list of byClass(indices, labels).values()) {
    const shuffled = [...list];
    rng.shuffle(shuffled);
    let start = 0;
    fractions.forEach((f, k) => {
      const end =
        k === fractions.length - 1
          ? shuffled.length
          : Math.min(shuffled.length, start + Math.round(f * list.length));
      parts[k]!.push(...shuffled.slice(start, end));
      start = end;
    });
  }
  return parts.map((p) => p.sort((a, b) => a - b));
}

/** Holds out a stratified random `valFraction` of `trainIndices` as validation. */
export function stratifiedValidation(
  trainIndices: readonly number[],
  labels: ArrayLike<number>,
  valFraction: number,
  rng: Rng,
): { train: number[]; val: number[] } {
  const [train, val] = stratifiedParts(trainIndices, labels, [1 - valFraction, valFraction], rng);
  return { train: train!, val: val! };
}

/** Validation = the samples whose group (fold, subject, speaker) is in `valGroups`. */
export function groupValidation(
  trainIndices: readonly number[],
  groups: ArrayLike<number | string>,
  valGroups: ReadonlySet<number | string>,
): { train: number[]; val: number[] } {
  const train: number[] = [];
  const val: number[] = [];
  for (const i of trainIndices) (valGroups.has(groups[i]!) ? val : train).push(i);
  return { train, val };
}

/**
 * Picks whole groups at random (seeded) until they hold at least `valFraction` of the samples: the
 * speaker-disjoint rule when there are too many groups to list by hand.
 */
export function pickValidationGroups(
  trainIndices: readonly number[],
  groups: ArrayLike<number | string>,
  valFraction: number,
  rng: Rng,
): Set<number | string> {
  const sizes = new Map<number | string, number>();
  for (const i of trainIndices) sizes.set(groups[i]!, (sizes.get(groups[i]!) ?? 0) + 1);
  // Sorted first so the draw does not depend on the order groups happen to appear in.
  const names = [...sizes.keys()].sort((a, b) => String(a).localeCompare(String(b), 'en', { numeric: true }));
  rng.shuffle(names);
  const picked = new Set<number | string>();
  let held = 0;
  for (const g of names) {
    if (held >= valFraction * trainIndices.length) break;
    picked.add(g);
    held += sizes.get(g)!;
  }
  return picked;
}

/**
 * Validation = the last `valFraction` of `trainIndices` in time order (they must be in time order).
 * With `minPerClass`, the tail grows (up to `maxFraction`) until it holds that many samples of every
 * class of the train part: a rare class that occurs in bursts (a robot's left turns, once per lap)
 * can otherwise be missing from a short tail, and early stopping would be blind to it.
 */
export function chronologicalValidation(
  trainIndices: readonly number[],
  valFraction: number,
  cover?: { readonly labels: ArrayLike<number>; readonly minPerClass: number; readonly maxFraction: number },
): { train: number[]; val: number[] } {
  let cut = trainIndices.length - Math.round(valFraction * trainIndices.length);
  if (cover) {
    const need = new Map<number, number>();
    for (const i of trainIndices)
      need.set(cover.labels[i]!, Math.min(cover.minPerClass, (need.get(cover.labels[i]!) ?? 0) + 1));
    const have = new Map<number, number>();
    for (const i of trainIndices.slice(cut))
      have.set(cover.labels[i]!, (have.get(cover.labels[i]!) ?? 0) + 1);
    const covered = () => [...need].every(([c, n]) => (have.get(c) ?? 0) >= n);
    const floor = trainIndices.length - Math.round(cover.maxFraction * trainIndices.length);
    while (!covered() && cut > floor) {
      cut--;
      const c = cover.labels[trainIndices[cut]!]!;
      have.set(c, (have.get(c) ?? 0) + 1);
    }
  }
  return { train: trainIndices.slice(0, cut), val: trainIndices.slice(cut) };
}

/**
 * A class-balanced random draw of `perClass` samples per class (seeded), in source order. Fails
 * when a class has fewer samples than asked.
 */
export function balancedDraw(
  indices: readonly number[],
  labels: ArrayLike<number>,
  perClass: number,
  rng: Rng,
): number[] {
  const out: number[] = [];
  for (const [c, list] of byClass(indices, labels)) {
    if (list.length < perClass)
      throw new Error(`class ${c} has ${list.length} samples, fewer than the ${perClass} asked for`);
    const shuffled = [...list];
    rng.shuffle(shuffled);
    out.push(...shuffled.slice(0, perClass));
  }
  return out.sort((a, b) => a - b);
}

/** Problems with an assignment over source rows 0..n−1 (used rows only): overlap, repeats, range. */
export function splitProblems(split: SplitAssignment, n: number, expected?: readonly number[]): string[] {
  const problems: string[] = [];
  const owner = new Map<number, string>();
  for (const name of ['train', 'val', 'test'] as const) {
    if (split[name].length === 0) problems.push(`the ${name} split is empty`);
    for (const i of split[name]) {
      if (!Number.isInteger(i) || i < 0 || i >= n)
        problems.push(`${name} holds row ${i}, outside 0..${n - 1}`);
      const prev = owner.get(i);
      if (prev !== undefined) problems.push(`row ${i} is in both ${prev} and ${name}`);
      owner.set(i, name);
    }
  }
  if (expected) {
    const missing = expected.filter((i) => !owner.has(i));
    if (missing.length > 0)
      problems.push(`${missing.length} selected rows are in no split (first: ${missing[0]})`);
    if (owner.size !== expected.length)
      problems.push(`the splits hold ${owner.size} rows, expected ${expected.length}`);
  }
  return problems;
}
