/**
 * onnxruntime-node sessions with the engine's defaults: one intra-op thread and no spinning, because
 * two-core machines lose more to spinning threads than they gain (measured in notes/gradients.md).
 */
import * as ort from 'onnxruntime-node';
import { attemptAsync, type Result } from '../core/errors.ts';
import { encodeModel } from './codec.ts';
import type { Model } from './types.ts';

export { ort };

export interface SessionOptions {
  readonly intraOpThreads?: number;
  readonly allowSpinning?: boolean;
}

export function sessionOptions(options: SessionOptions = {}): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: options.intraOpThreads ?? 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: options.allowSpinning ? '1' : '0' } } },
  };
}

export async function createSession(
  model: Model | Uint8Array,
  options: SessionOptions = {},
): Promise<Result<ort.InferenceSession>> {
  const bytes = model instanceof Uint8Array ? model : encodeModel(model);
  return attemptAsync(() => ort.InferenceSession.create(bytes, sessionOptions(options)), 'E_ORT');
}

export function floatTensor(data: Float32Array, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor('float32', data, dims);
}
