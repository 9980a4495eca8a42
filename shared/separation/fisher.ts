/**
 * Step 2 — the diagonal Fisher information of a model's weights, from per-sample gradients of the
 * log-likelihood of the **true** label:  F[i] = (1/S) Σ_s (∂ log p(y_s | x_s) / ∂θ_i)²,
 * over S training samples (≥ 256 by default, drawn without replacement, seeded). The gradients come
 * from the model's training graph (shared/autodiff, head 'per-sample-loglik') run at batch 1 in one
 * onnxruntime session reused for every sample.
 *
 * Page scores are per-page sums of F; they rank a model's own pages only (DESIGN.md, step 2).
 * Exact zeros (dead units, weights no sample reaches) are counted apart: a zero is a measurement,
 * not "unknown".
 */
import { attemptAsync, fail, ok, throwIfCancelled, WsepFailure, type Result } from '../core/errors.ts';
import type { ProgressSink } from '../core/progress.ts';
import { Rng } from '../core/rng.ts';
import type { Split } from '../datasets/types.ts';
import { buildTrainingGraph } from '../autodiff/training-graph.ts';
import type { Model } from '../onnx/types.ts';
import { TrainingSession } from '../train/session.ts';
import { formModel, pageSums } from './formation.ts';
import { pageCount } from '../image/plan.ts';

export const DEFAULT_FISHER_SAMPLES = 256;

export interface FisherOptions {
  readonly pageSize: number;
  /** Samples S (default 256; 512–1024 for small or noisy tasks). Capped at the split's size. */
  readonly samples?: number;
  readonly seed?: number;
  readonly signal?: AbortSignal;
  readonly progress?: ProgressSink;
  /** Names the task in progress events. */
  readonly task?: string;
}

export interface FisherResult {
  readonly samples: number;
  /** F per weight, in formation order. */
  readonly perWeight: Float64Array;
  /** Σ F per page. */
  readonly pageScores: Float64Array;
  /** Σ F over the model. */
  readonly total: number;
  /** Weights whose Fisher is exactly 0 (no sample moved them). */
  readonly zeroWeights: number;
  /** Per page, how many of its weights have exactly 0 Fisher. */
  readonly zeroWeightsPerPage: Int32Array;
}

/** S distinct sample indices of [0, n), seeded (all of them, shuffled, when S ≥ n). */
export function sampleIndices(n: number, samples: number, seed: number): Int32Array {
  return new Rng(seed).permutation(n).slice(0, Math.min(samples, n));
}

/**
 * Accumulates squared per-sample gradients. `gradient(i)` returns the gradient tensors of sample i
 * in formation order (their lengths add up to `weightCount`); the arrays may be reused between calls.
 */
export async function accumulateFisher(
  indices: Int32Array,
  weightCount: number,
  gradient: (sample: number) => Promise<readonly Float32Array[]>,
  options: {
    readonly pageSize: number;
    readonly signal?: AbortSignal;
    readonly onSample?: (done: number) => void;
  },
): Promise<Result<FisherResult>> {
  if (indices.length === 0)
    return fail('E_DATASET', 'The Fisher information needs at least one training sample.');
  const sum = new Float64Array(weightCount);
  for (let s = 0; s < indices.length; s++) {
    throwIfCancelled(options.signal);
    const grads = await gradient(indices[s]!);
    let offset = 0;
    for (const g of grads) {
      if (offset + g.length > weightCount)
        return fail('E_INTERNAL', `Per-sample gradients hold more than the model's ${weightCount} weights.`);
      for (let i = 0; i < g.length; i++) sum[offset + i]! += g[i]! * g[i]!;
      offset += g.length;
    }
    if (offset !== weightCount)
      return fail('E_INTERNAL', `Per-sample gradients hold ${offset} values, expected ${weightCount}.`);
    options.onSample?.(s + 1);
  }
  let total = 0;
  let zeroWeights = 0;
  const zeroWeightsPerPage = new Int32Array(pageCount(weightCount, options.pageSize));
  for (let i = 0; i < weightCount; i++) {
    sum[i]! /= indices.length;
    if (!Number.isFinite(sum[i]!))
      return fail(
        'E_PLAN',
        `The Fisher information is not finite at weight ${i}.`,
        'Check the model and its data for NaN or huge values.',
      );
    total += sum[i]!;
    if (sum[i] === 0) {
      zeroWeights++;
      zeroWeightsPerPage[Math.floor(i / options.pageSize)]!++;
    }
  }
  return ok({
    samples: indices.length,
    perWeight: sum,
    pageScores: pageSums(sum, options.pageSize),
    total,
    zeroWeights,
    zeroWeightsPerPage,
  });
}

/** The diagonal true-label Fisher of `model` on `train` (already normalised, in model layout). */
export async function computeFisher(
  model: Model,
  train: Split,
  options: FisherOptions,
): Promise<Result<FisherResult>> {
  const formation = formModel(model, options.pageSize);
  if (!formation.ok) return formation;
  const { tensors, flat, weightCount } = formation.value;
  const graph = buildTrainingGraph(model, { head: 'per-sample-loglik', weights: tensors.map((t) => t.name) });
  if (!graph.ok) return graph;
  const created = await TrainingSession.create(graph.value);
  if (!created.ok) return created;
  const session = created.value;
  try {
    const d = session.sampleLength;
    if (train.x.length !== train.n * d || train.y.length !== train.n) {
      return fail(
        'E_DATA_MISMATCH',
        `The training split holds ${train.x.length} values and ${train.y.length} labels for ${train.n} samples of ${d} values.`,
      );
    }
    const weights = tensors.map((t) => flat.subarray(t.offset, t.offset + t.length));
    const label = new BigInt64Array(1);
    const indices = sampleIndices(train.n, options.samples ?? DEFAULT_FISHER_SAMPLES, options.seed ?? 0);
    const S = indices.length;
    return await attemptAsync(async () => {
      const result = await accumulateFisher(
        indices,
        weightCount,
        async (i) => {
          label[0] = BigInt(train.y[i]!);
          await session.run(weights, train.x.subarray(i * d, (i + 1) * d), label, 1);
          return session.grads;
        },
        {
          pageSize: options.pageSize,
          ...(options.signal !== undefined ? { signal: options.signal } : {}),
          onSample: (done) => {
            if (options.progress && (done % 16 === 0 || done === S)) {
              options.progress({
                stage: 'fisher',
                step: done,
                total: S,
                fraction: done / S,
                ...(options.task ? { task: options.task } : {}),
              });
            }
          },
        },
      );
      if (!result.ok) throw new WsepFailure(result.error);
      return result.value;
    }, 'E_ORT');
  } finally {
    await session.release();
  }
}
