import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import { encodeModel } from '../onnx/codec.ts';
import { SUPPORTED_OPS } from '../onnx/ops.ts';
import { createSession, floatTensor } from '../onnx/ort.ts';
import { elementCount, type Model } from '../onnx/types.ts';
import { validateModel } from '../onnx/validate.ts';
import { GPU_ZOO } from './gpu.ts';
import { LOGITS, countWeights, describeLayers } from './model-builder.ts';
import { markdownGpuTable, markdownRecipeTable, markdownTaskTable } from './summary.ts';
import { MCU_OPS, ZOO_TASKS } from './tasks.ts';

const PAGE = 512;

async function forward(
  model: Model,
  inputShape: readonly number[],
  batch: number,
): Promise<{ dims: readonly number[]; data: Float32Array }> {
  const session = await createSession(model);
  if (!session.ok) throw new Error(session.error.message);
  const rng = new Rng(11);
  const x = Float32Array.from({ length: batch * elementCount([...inputShape]) }, () => rng.normal());
  const out = await session.value.run({ input: floatTensor(x, [batch, ...inputShape]) });
  const logits = out[LOGITS]!;
  return { dims: logits.dims, data: logits.data as Float32Array };
}

function expectValid(model: Model, ops: ReadonlySet<string>): void {
  const checked = validateModel(model, { supportedOps: ops });
  expect(checked.ok ? 'ok' : checked.error.message).toBe('ok');
}

describe('ten task models (MCU zoo)', () => {
  it('has the ten tasks with the agreed input shapes and classes', () => {
    expect(ZOO_TASKS.map((t) => [t.id, t.inputShape.join('×'), t.classes])).toEqual([
      ['mnist', '1×28×28', 10],
      ['fmnist', '1×28×28', 10],
      ['cifar10', '3×32×32', 10],
      ['gtsrb', '3×32×32', 43],
      ['digits8x8', '1×8×8', 10],
      ['speech_commands', '1×49×10', 12],
      ['esc10', '1×40×32', 10],
      ['urbansound8k', '1×32×32', 10],
      ['har_chest_accel', '3×1×128', 7],
      ['wall_following', '24', 4],
    ]);
  });

  it('sizes: 60k–75k weights each, none over 128 pages, cheap per sample', () => {
    const rows = ZOO_TASKS.map((t) => {
      const built = t.describe(1);
      return {
        task: t.id,
        weights: built.weights,
        pages: Math.ceil(built.weights / PAGE),
        mflops: +((2 * built.macs) / 1e6).toFixed(2),
        layers: describeLayers(built.layers),
      };
    });
    console.table(rows);
    const total = rows.reduce((s, r) => s + r.pages, 0);
    const largest = Math.max(...rows.map((r) => r.pages));
    console.log(
      `total ${total} pages; packing ceiling Σ pages / max pages = ${(total / largest).toFixed(2)}x`,
    );
    for (const r of rows) {
      expect(r.weights, r.task).toBeGreaterThanOrEqual(60_000);
      expect(r.weights, r.task).toBeLessThanOrEqual(75_000);
      expect(r.pages, r.task).toBeLessThanOrEqual(128);
      expect(r.mflops, r.task).toBeLessThanOrEqual(3.2);
    }
    expect(total / largest).toBeGreaterThan(9.8);
  });

  for (const t of ZOO_TASKS) {
    it(`${t.id}: validates, uses MCU operators only, runs to finite [batch, ${t.classes}] logits, same bytes for a seed`, async () => {
      const model = t.build(7);
      expectValid(model, MCU_OPS);
      expect(countWeights(model)).toBe(t.describe(7).weights);
      expect(model.graph.outputs.map((o) => [o.name, ...(o.shape ?? [])])).toEqual([
        [LOGITS, 'batch', t.classes],
      ]);
      const { dims, data } = await forward(model, t.inputShape, 5);
      expect(dims).toEqual([5, t.classes]);
      expect(data.every(Number.isFinite)).toBe(true);
      expect(new Set(data).size).toBeGreaterThan(t.classes); // not a constant output (dead network)
      expect(Buffer.from(encodeModel(t.build(7))).equals(Buffer.from(encodeModel(model)))).toBe(true);
      expect(Buffer.from(encodeModel(t.build(8))).equals(Buffer.from(encodeModel(model)))).toBe(false);
    });
  }

  it('every task has a usable training recipe', () => {
    for (const t of ZOO_TASKS) {
      const h = t.training;
      expect(h.steps * h.batch * h.lr, t.id).toBeGreaterThan(0);
      expect(h.patience, t.id).toBeLessThanOrEqual(h.steps);
      for (const a of h.augment) if ('axis' in a) expect(a.axis, t.id).toBeLessThan(t.inputShape.length);
    }
    expect(ZOO_TASKS.find((t) => t.id === 'speech_commands')!.training.augment).toContainEqual({
      kind: 'shift',
      axis: 1,
      max: 6,
    });
  });
});

describe('GPU zoo (SOTA architectures, 32×32×3)', () => {
  it('has at least the agreed architectures', () => {
    const names = GPU_ZOO.map((m) => m.name);
    for (const n of ['mobilenet_v2', 'resnet18', 'squeezenet1_1', 'shufflenet_v2_x1_0'])
      expect(names).toContain(n);
    expect(names.length).toBeGreaterThanOrEqual(6);
  });

  for (const entry of GPU_ZOO) {
    it(`${entry.name}: validates, matches ${entry.reference} (${entry.referenceWeights.toLocaleString('en')} weights), runs a batch of 2`, async () => {
      const model = entry.build(1);
      expectValid(model, SUPPORTED_OPS);
      const weights = countWeights(model);
      expect(weights).toBe(entry.referenceWeights);
      // SqueezeNet 1.1 is small by design (0.73 M with a 10-class head); every other model is 1–12 M.
      expect(weights).toBeGreaterThanOrEqual(entry.name === 'squeezenet1_1' ? 700_000 : 1_000_000);
      expect(weights).toBeLessThanOrEqual(12_000_000);
      const { dims, data } = await forward(model, entry.inputShape, 2);
      expect(dims).toEqual([2, 10]);
      expect(data.every(Number.isFinite)).toBe(true);
    });
  }

  it('takes the class count from the caller', () => {
    const model = GPU_ZOO.find((m) => m.name === 'mobilenet_v3_small')!.build(1, 43);
    expect(model.graph.outputs[0]!.shape).toEqual(['batch', 43]);
  });
});

describe('docs/ZOO.md', () => {
  it('shows the sizes the code builds (accuracy columns are filled by the training pipeline)', () => {
    const doc = readFileSync(new URL('../../docs/ZOO.md', import.meta.url), 'utf8');
    // Task rows: everything up to the activations column must match; later columns may hold results.
    const taskLines = markdownTaskTable()
      .split('\n')
      .filter((l) => l.startsWith('| ') && !l.startsWith('| task') && !l.startsWith('| **'));
    for (const line of taskLines) expect(doc).toContain(line.split(' | ').slice(0, 8).join(' | '));
    expect(doc).toContain(markdownTaskTable().split('\n').at(-1)!);
    for (const line of markdownGpuTable().split('\n')) expect(doc).toContain(line);
    for (const line of markdownRecipeTable().split('\n')) expect(doc).toContain(line);
  });
});
