/**
 * Tiny tasks and models for tests of pairing, fit checks and the commands that use them: a task of
 * any input shape and class count written in the real task format (so `loadTask`, `findTaskDir` and
 * the data roots see it as they see an imported task), and a small model of matching or chosen shape.
 */
import { Rng } from '../core/rng.ts';
import { packTask, writeTaskDir } from '../datasets/write.ts';
import { sampleSize } from '../datasets/types.ts';
import { saveModel } from '../onnx/io.ts';
import type { Model } from '../onnx/types.ts';
import { buildModel } from '../zoo/model-builder.ts';

export interface TinyTaskSpec {
  readonly task: string;
  readonly inputShape: readonly number[];
  readonly classes: number;
  /** Samples in all; 60% train, 20% validation, 20% test. Default 10 per class. */
  readonly samples?: number;
  readonly seed?: number;
}

/**
 * Writes `<root>/<task>/` with float32 samples whose mean depends on the class (so a few training
 * steps learn something) and returns the task folder.
 */
export function writeTinyTask(root: string, spec: TinyTaskSpec): string {
  const n = spec.samples ?? spec.classes * 10;
  const per = sampleSize(spec.inputShape);
  const rng = new Rng(spec.seed ?? 1);
  const x = new Float32Array(n * per);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % spec.classes;
    for (let j = 0; j < per; j++) x[i * per + j] = rng.normal() + (j % spec.classes === y[i] ? 2 : 0);
  }
  const rows = Array.from({ length: n }, (_, i) => i);
  const train = Math.round(n * 0.6);
  const val = Math.round(n * 0.2);
  const packed = packTask({
    task: spec.task,
    title: `Tiny ${spec.task}`,
    classes: Array.from({ length: spec.classes }, (_, c) => `c${c}`),
    storedShape: [...spec.inputShape],
    inputShape: [...spec.inputShape],
    layout: 'none',
    permutation: spec.inputShape.map((_, i) => i),
    x,
    y,
    dtype: 'float32',
    split: {
      train: rows.slice(0, train),
      val: rows.slice(train, train + val),
      test: rows.slice(train + val),
    },
    splitMethod: 'first 60% train, next 20% validation, last 20% test',
    normalization: { scale: 1, axis: null, description: 'one global mean and std' },
    source: 'synthetic (pairing-fixtures.ts)',
    license: 'CC0',
    notes: [],
  });
  const written = writeTaskDir(root, packed);
  if (!written.ok) throw new Error(written.error.message);
  return written.value;
}

/** A one-hidden-layer MLP taking `inputShape` samples and giving `classes` logits. */
export function tinyModel(inputShape: readonly number[], classes: number, seed = 1): Model {
  return buildModel('tiny', inputShape, seed, (b, x) =>
    b.dense('fc2', b.relu(b.dense('fc1', b.flatten(x), 8)), classes, { init: 'lecun' }),
  ).model;
}

/** Saves a tiny model with optional metadata; returns its path. */
export function saveTinyModel(
  path: string,
  inputShape: readonly number[],
  classes: number,
  metadata: Readonly<Record<string, string>> = {},
): string {
  const model = tinyModel(inputShape, classes);
  const saved = saveModel(path, { ...model, metadata: { ...model.metadata, ...metadata } });
  if (!saved.ok) throw new Error(saved.error.message);
  return path;
}
