/**
 * Train / validation / test for user data. Test is the --test source as given, or carved off the
 * main source; validation is carved off what remains. Without groups both cuts are stratified by
 * class; with groups (speaker, subject, recording session) whole groups go to test and validation,
 * so no group straddles two splits and validation shows the same shift as new people or sessions.
 */
import { fail, ok, type Result } from '../../core/errors.ts';
import { Rng } from '../../core/rng.ts';
import {
  groupValidation,
  pickValidationGroups,
  stratifiedParts,
  stratifiedValidation,
  type SplitAssignment,
} from '../splits.ts';
import type { GroupId } from './source.ts';

export interface SplitInput {
  /** Rows 0..mainCount−1 are the main source; the rest (if any) are the --test source. */
  readonly mainCount: number;
  readonly testCount: number;
  /** Class index per row (main, then test). */
  readonly y: Uint8Array;
  readonly classes: readonly string[];
  /** Group per main row (length mainCount), when the split is by group. */
  readonly groups?: readonly GroupId[];
  readonly groupName?: string;
  readonly testFraction: number;
  readonly valFraction: number;
  readonly seed: number;
  readonly mainPath: string;
  readonly testPath?: string;
}

export interface SplitChoice {
  readonly split: SplitAssignment;
  readonly method: string;
}

const pct = (f: number) => `${+(f * 100).toFixed(1)}%`;
const groupsText = (k: number) => `${k} group${k === 1 ? '' : 's'}`;

export function chooseSplit(input: SplitInput): Result<SplitChoice> {
  const rng = new Rng(input.seed);
  const main = [...Array(input.mainCount).keys()];
  const given = input.testCount > 0;
  let test: number[];
  let rest: number[];
  let train: number[];
  let val: number[];
  let method: string;
  const testWords = given ? `test = every sample of ${input.testPath} (as given)` : '';

  if (input.groups) {
    const groups = input.groups;
    const distinct = new Set(groups).size;
    const needed = given ? 2 : 3;
    if (distinct < needed) {
      return fail(
        'E_DATASET',
        `${input.mainPath} has ${distinct} distinct ${input.groupName ?? 'group'} value${distinct === 1 ? '' : 's'}; group-disjoint splits need at least ${needed} (one for each of train, validation${given ? '' : ' and test'}).`,
        'Give finer groups, or drop the groups to split at random by class.',
      );
    }
    let testGroups = 0;
    if (given) {
      test = [...Array(input.testCount).keys()].map((i) => input.mainCount + i);
      rest = main;
    } else {
      const picked = pickValidationGroups(main, groups, input.testFraction, rng.fork(1));
      testGroups = picked.size;
      const cut = groupValidation(main, groups, picked);
      rest = cut.train;
      test = cut.val;
    }
    const valPicked = pickValidationGroups(rest, groups, input.valFraction, rng.fork(2));
    ({ train, val } = groupValidation(rest, groups, valPicked));
    const name = input.groupName ?? 'group';
    method =
      `seeded (seed ${input.seed}) group-disjoint by ${name}: ` +
      (given
        ? `${testWords}; `
        : `whole groups drawn at random for test until they held ≥ ${pct(input.testFraction)} of the samples (${groupsText(testGroups)}), `) +
      `then for validation until ≥ ${pct(input.valFraction)} of the rest (${groupsText(valPicked.size)}); no ${name} is in two of train, validation${given ? '' : ' and test'}`;
  } else {
    if (given) {
      test = [...Array(input.testCount).keys()].map((i) => input.mainCount + i);
      rest = main;
    } else {
      const [r, t] = stratifiedParts(
        main,
        input.y,
        [1 - input.testFraction, input.testFraction],
        rng.fork(1),
      );
      rest = r!;
      test = t!;
    }
    ({ train, val } = stratifiedValidation(rest, input.y, input.valFraction, rng.fork(2)));
    method =
      `seeded (seed ${input.seed}) stratified random: ` +
      (given ? `${testWords}; ` : `test = ${pct(input.testFraction)} of each class of ${input.mainPath}, `) +
      `validation = ${pct(input.valFraction)} of each class of the rest`;
  }

  for (const [name, rows, option] of [
    ['train', train, ''],
    ['validation', val, '--val-fraction'],
    ['test', test, '--test-fraction'],
  ] as const) {
    if (rows.length === 0) {
      return fail(
        'E_DATASET',
        `The ${name} split is empty: ${input.mainCount} samples${input.groups ? ` in ${new Set(input.groups).size} groups` : ''} are too few for ${option ? `${option} ${name === 'test' ? input.testFraction : input.valFraction}` : 'the fractions asked'}.`,
        option
          ? `Raise ${option} or add samples.`
          : 'Lower --test-fraction / --val-fraction, or add samples.',
      );
    }
  }
  const inTrain = new Array<number>(input.classes.length).fill(0);
  for (const i of train) inTrain[input.y[i]!]!++;
  const missing = inTrain.findIndex((k) => k === 0);
  if (missing >= 0) {
    return fail(
      'E_DATASET',
      `Class '${input.classes[missing]}' has no sample in the train split: all its samples went to ${input.groups ? 'groups drawn for ' : ''}validation or test.`,
      input.groups
        ? 'Every class needs samples in groups that stay in train: add data, use finer groups, or try another --seed.'
        : 'Add samples of it, or lower --test-fraction / --val-fraction.',
    );
  }
  return ok({ split: { train, val, test }, method });
}
