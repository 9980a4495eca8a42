/**
 * Mini-batches: a seeded shuffle per epoch and a gather of the chosen samples into buffers that are
 * allocated once. Labels are int64 because onnxruntime's loss operators take int64 class indices.
 *
 * Augmentation (augment.ts) runs on the gathered batch, in place, so the stored split is never changed.
 */
import { Rng } from '../core/rng.ts';
import { sampleSize, type Split } from '../datasets/types.ts';
import type { Augment } from './augment.ts';

/** What to do with the samples left over when the split is not a multiple of the batch size. */
export type LastBatch = 'partial' | 'drop';

export interface BatchOptions {
  readonly batchSize: number;
  readonly seed: number;
  /**
   * 'partial' (default) yields the remainder as a smaller batch; 'drop' skips it, so every step has
   * the same size (the dropped samples differ each epoch, so none is lost for good). A split smaller
   * than one batch always yields one partial batch.
   */
  readonly last?: LastBatch;
  readonly augment?: Augment;
}

/** Samples mini-batches from a split, epoch after epoch, into buffers it owns. */
export class BatchSampler {
  /** The current batch's inputs, [batchSize, ...shape]; only the first `size` samples are valid. */
  readonly x: Float32Array;
  /** The current batch's labels as int64. */
  readonly y: BigInt64Array;
  /** How many samples the current batch holds. */
  size = 0;
  /** Epochs started so far (1 during the first epoch). */
  epoch = 0;
  /** Batches per epoch. */
  readonly batchesPerEpoch: number;

  private readonly rng: Rng;
  private readonly augmentRng: Rng;
  private readonly order: Int32Array;
  private readonly sampleLength: number;
  private cursor = 0;
  private readonly usable: number;

  constructor(
    private readonly split: Split,
    private readonly shape: readonly number[],
    private readonly options: BatchOptions,
  ) {
    const { batchSize } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new Error(`batch size must be a positive integer, got ${batchSize}`);
    if (split.n < 1) throw new Error('cannot sample batches from an empty split');
    this.sampleLength = sampleSize(shape);
    if (split.x.length !== split.n * this.sampleLength) {
      throw new Error(
        `split holds ${split.x.length} values, expected ${split.n} samples of [${shape.join(', ')}]`,
      );
    }
    this.x = new Float32Array(batchSize * this.sampleLength);
    this.y = new BigInt64Array(batchSize);
    // Separate streams: turning augmentation on must not change the order of the samples.
    const root = new Rng(options.seed);
    this.rng = root.fork(1);
    this.augmentRng = root.fork(2);
    this.order = new Int32Array(split.n);
    const drop = (options.last ?? 'partial') === 'drop' && split.n >= batchSize;
    this.usable = drop ? split.n - (split.n % batchSize) : split.n;
    this.batchesPerEpoch = Math.ceil(this.usable / batchSize);
    this.cursor = this.usable; // forces a shuffle on the first call
  }

  /** Fills `x`/`y` with the next batch and returns its size. A new epoch starts with a fresh shuffle. */
  next(): number {
    if (this.cursor >= this.usable) {
      for (let i = 0; i < this.order.length; i++) this.order[i] = i;
      this.rng.shuffle(this.order);
      this.cursor = 0;
      this.epoch++;
    }
    const count = Math.min(this.options.batchSize, this.usable - this.cursor);
    gather(
      this.split,
      this.order.subarray(this.cursor, this.cursor + count),
      this.sampleLength,
      this.x,
      this.y,
    );
    this.cursor += count;
    this.size = count;
    this.options.augment?.(this.x, count, this.shape, this.augmentRng);
    return count;
  }
}

/** Copies the samples at `indices` of `split` into the front of `x` and their labels into `y`. */
export function gather(
  split: Split,
  indices: ArrayLike<number>,
  sampleLength: number,
  x: Float32Array,
  y: BigInt64Array,
): void {
  for (let b = 0; b < indices.length; b++) {
    const s = indices[b]!;
    x.set(split.x.subarray(s * sampleLength, (s + 1) * sampleLength), b * sampleLength);
    y[b] = BigInt(split.y[s]!);
  }
}
