/**
 * The firmware's C kernels, compiled for the host with gcc (resources/firmware/host/host.c), against
 * onnxruntime on the same weights and inputs: one small model per operator configuration the zoo uses,
 * with pages small enough that weights cross pages inside every kernel, then each of the ten zoo models;
 * each with f32 pages and with int8 pages (one scale per page), where onnxruntime runs on the weights
 * the paged runtime dequantises from the same codes and scales.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTempDir } from '../../shared/core/testing-temp.ts';
import type { Split } from '../../shared/datasets/types.ts';
import type { ValueType } from '../../shared/image/plan.ts';
import { quantizePlan } from '../../shared/image/quantize.ts';
import { syntheticPlan } from '../../shared/image/testing.ts';
import type { Model } from '../../shared/onnx/types.ts';
import { readModelFile } from '../../shared/onnx/io.ts';
import { buildHostDriver } from '../../shared/mcu/build.ts';
import { buildModel } from '../../shared/zoo/model-builder.ts';
import { ortLogits, randomSplit, relativeError, requireTools, runHostDriver, writeBlobs } from './testing.ts';

const dir = useTempDir('mcu-kernels-');
let host = '';

beforeAll(() => {
  requireTools('gcc');
  const built = buildHostDriver();
  if (!built.ok) throw new Error(built.error.message);
  host = built.value;
});

/** Runs every model of `models` through the host driver and onnxruntime, paged with `pageSize`. */
async function compare(
  tag: string,
  models: { name: string; model: Model }[],
  pageSize: number,
  samples: number,
  valueType: ValueType = 'f32',
): Promise<Map<string, number>> {
  const f32 = syntheticPlan(models, { pageSize, extraExclusive: 2, seed: 7 });
  const plan = valueType === 'i8' ? quantizePlan(f32, 'max-abs') : f32;
  const slices = new Map<string, Split>(
    plan.models.map((m, i) => [m.name, randomSplit(samples, m.inputShape, m.classes.length, 100 + i)]),
  );
  const expected = await ortLogits(join(dir, `${tag}-bundle`), plan, slices);
  const { fram, storage } = writeBlobs(plan, slices, dir);
  const { code, report, stdout } = await runHostDriver(host, fram, storage);
  expect(code).toBe(0);
  expect(stdout).toContain(`values=${valueType}`);
  const errors = new Map<string, number>();
  for (const m of plan.models) {
    const task = report.tasks.find((t) => t.name === m.name)!;
    const want = expected.get(m.name)!;
    const k = m.classes.length;
    const got = new Float32Array(want.length);
    for (let i = 0; i < samples; i++) got.set(task.logits.get(i)!, i * k);
    errors.set(m.name, relativeError(got, want));
    for (let i = 0; i < samples; i++) {
      const ortBest = want.subarray(i * k, (i + 1) * k).reduce((b, v, c, a) => (v > a[b]! ? c : b), 0);
      expect(task.predictions[i], `${m.name} sample ${i}`).toBe(ortBest);
    }
  }
  return errors;
}

/*
 * int8: convolutions use each weight dequantised as the host does ((float)code × scale, bit for bit);
 * dense layers factor the scale out of each page part of a row, which rounds differently in the last
 * bits: the tolerance is that of float order, not of quantisation (both sides use the same int8 values).
 */
const TOLERANCE: Record<ValueType, number> = { f32: 1e-5, i8: 1e-5 };

describe.each(['f32', 'i8'] as const)(
  'firmware kernels on the host, against onnxruntime (%s pages)',
  (valueType) => {
    it('runs each operator configuration the zoo uses, weights crossing pages', async () => {
      const models = [
        // Conv 3×3 without padding, LeakyRelu, MaxPool 2×2, Flatten, Gemm (cifar10, esc10).
        buildModel('conv_leaky', [3, 12, 10], 1, (b, x) =>
          b.dense('fc', b.flatten(b.maxPool(b.leakyRelu(b.conv('c1', x, 5, { kernel: 3 }), 0.1), 2)), 7),
        ),
        // Conv 5×5 with padding 2 and stride 2, Relu (mnist, urbansound8k use 5×5).
        buildModel('conv_stride', [2, 11, 9], 2, (b, x) =>
          b.dense('fc', b.flatten(b.relu(b.conv('c1', x, 4, { kernel: 5, pad: 2, stride: 2 }))), 5),
        ),
        // 1-D convolutions [1, k] with same padding and [1, 2] pools over time (har_chest_accel).
        buildModel('conv_time', [3, 1, 32], 3, (b, x) =>
          b.dense(
            'fc',
            b.flatten(
              b.maxPool(
                b.relu(
                  b.conv(
                    'c2',
                    b.maxPool(b.relu(b.conv('c1', x, 6, { kernel: [1, 7], pad: 'same' })), [1, 2]),
                    8,
                    { kernel: [1, 5], pad: 'same' },
                  ),
                ),
                [1, 2],
              ),
            ),
            4,
          ),
        ),
        // Asymmetric padding and a 3×2 pool with stride 1.
        buildModel('conv_asym', [1, 9, 9], 4, (b, x) =>
          b.dense(
            'fc',
            b.flatten(
              b.maxPool(b.conv('c1', x, 3, { kernel: [3, 2], pad: [1, 0, 0, 1] }), [3, 2], { stride: 1 }),
            ),
            6,
          ),
        ),
        // Dense layers on a feature vector (wall_following).
        buildModel('dense', [24], 5, (b, x) =>
          b.dense('fc3', b.relu(b.dense('fc2', b.leakyRelu(b.dense('fc1', x, 17), 0.2), 9)), 4),
        ),
      ].map((built, i) => ({
        name: ['conv_leaky', 'conv_stride', 'conv_time', 'conv_asym', 'dense'][i]!,
        model: built.model,
      }));
      const errors = await compare(`ops-${valueType}`, models, 16, 6, valueType);
      for (const [name, error] of errors) expect(error, name).toBeLessThan(TOLERANCE[valueType]);
    });

    it('runs all ten zoo models as onnxruntime does', async () => {
      const zoo = join(process.cwd(), 'resources/zoo');
      const files = readdirSync(zoo)
        .filter((f) => f.endsWith('.onnx'))
        .sort();
      expect(files).toHaveLength(10);
      const models = files.map((f) => {
        const m = readModelFile(join(zoo, f));
        if (!m.ok) throw new Error(m.error.message);
        return { name: f.replace(/\.onnx$/, ''), model: m.value };
      });
      const errors = await compare(`zoo-${valueType}`, models, 512, 3, valueType);
      expect([...errors.keys()]).toHaveLength(10);
      for (const [name, error] of errors) expect(error, name).toBeLessThan(TOLERANCE[valueType]);
    }, 120_000);
  },
);
