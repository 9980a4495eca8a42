/**
 * Whole-model checks of the training graph. The oracle is independent of onnxruntime and of the
 * rules: a tiny float64 interpreter, written here, runs the same models, and central finite
 * differences of its mean cross-entropy give the reference gradients.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import { GraphBuilder, attr, floatTensor } from '../onnx/builder.ts';
import { createSession, ort } from '../onnx/ort.ts';
import { WEIGHT_INPUTS } from '../onnx/ops.ts';
import { tinyConvNet } from '../onnx/testing.ts';
import {
  DataType,
  attrFloat,
  attrInt,
  attrInts,
  elementCount,
  type Model,
  type Node,
} from '../onnx/types.ts';
import { buildTrainingGraph, TRAINABLE_OPS, type TrainingGraph } from './training-graph.ts';

// ---------------------------------------------------------------- test models

function randn(rng: Rng, dims: number[], scale: number): Float32Array {
  return Float32Array.from({ length: elementCount(dims) }, () => rng.normal() * scale);
}

function weight(b: GraphBuilder, rng: Rng, name: string, dims: number[], scale?: number): string {
  const fanIn = dims.length > 1 ? elementCount(dims.slice(1)) : 4;
  return b.initializer(floatTensor(name, dims, randn(rng, dims, scale ?? Math.sqrt(2 / fanIn))));
}

/** Conv → Relu → MaxPool → Conv → Relu → MaxPool → Flatten → Gemm → Relu → Gemm → Softmax, 1×12×12, 3 classes. */
function leNet(seed: number): Model {
  const rng = new Rng(seed);
  const b = new GraphBuilder();
  const x = b.input('image', DataType.FLOAT, ['N', 1, 12, 12]);
  const pool = { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) };
  let h = b.op('Conv', [x, weight(b, rng, 'c1.w', [4, 1, 3, 3]), weight(b, rng, 'c1.b', [4], 0.1)], {
    pads: attr.ints([1, 1, 1, 1]),
  });
  h = b.op('MaxPool', [b.op('Relu', [h])], pool);
  h = b.op('Conv', [h, weight(b, rng, 'c2.w', [6, 4, 3, 3]), weight(b, rng, 'c2.b', [6], 0.1)]);
  h = b.op('MaxPool', [b.op('Relu', [h])], pool);
  h = b.op('Flatten', [h], { axis: attr.int(1) });
  h = b.op('Relu', [
    b.op('Gemm', [h, weight(b, rng, 'fc1.w', [16, 24]), weight(b, rng, 'fc1.b', [16], 0.1)], {
      transB: attr.int(1),
    }),
  ]);
  h = b.op(
    'Gemm',
    [h, weight(b, rng, 'fc2.w', [3, 16]), weight(b, rng, 'fc2.b', [3], 0.1)],
    { transB: attr.int(1) },
    'scores',
  );
  b.output(b.op('Softmax', [h], { axis: attr.int(1) }, 'probs'), DataType.FLOAT, ['N', 3]);
  return b.build('lenet');
}

/**
 * Stem Conv (stride 2, pad 1) → BN → Relu; a residual block of depthwise Conv → BN → Clip (ReLU6)
 * → pointwise Conv, added to the block input; Relu → overlapping MaxPool (k3 s2 p1) →
 * GlobalAveragePool → Flatten → MatMul + Add. 2×8×8 inputs, 3 classes.
 */
function residualNet(seed: number): Model {
  const rng = new Rng(seed);
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, ['batch', 2, 8, 8]);
  const bn = (h: string, prefix: string): string =>
    b.op('BatchNormalization', [
      h,
      b.initializer(
        floatTensor(
          `${prefix}.scale`,
          [4],
          Float32Array.from({ length: 4 }, () => 0.8 + 0.4 * rng.next()),
        ),
      ),
      weight(b, rng, `${prefix}.bias`, [4], 0.1),
      b.initializer(floatTensor(`${prefix}.mean`, [4], randn(rng, [4], 0.1))),
      b.initializer(
        floatTensor(
          `${prefix}.var`,
          [4],
          Float32Array.from({ length: 4 }, () => 0.5 + rng.next()),
        ),
      ),
    ]);
  let h = b.op('Conv', [x, weight(b, rng, 'stem.w', [4, 2, 3, 3]), weight(b, rng, 'stem.b', [4], 0.1)], {
    strides: attr.ints([2, 2]),
    pads: attr.ints([1, 1, 1, 1]),
  });
  const block = b.op('Relu', [bn(h, 'bn1')]);
  h = b.op('Conv', [block, weight(b, rng, 'dw.w', [4, 1, 3, 3])], {
    group: attr.int(4),
    pads: attr.ints([1, 1, 1, 1]),
  });
  h = b.op('Clip', [bn(h, 'bn2'), b.constFloat('zero', [], [0]), b.constFloat('six', [], [6])]);
  h = b.op('Conv', [h, weight(b, rng, 'pw.w', [4, 4, 1, 1]), weight(b, rng, 'pw.b', [4], 0.1)]);
  h = b.op('Relu', [b.op('Add', [h, block])]);
  h = b.op('MaxPool', [h], {
    kernel_shape: attr.ints([3, 3]),
    strides: attr.ints([2, 2]),
    pads: attr.ints([1, 1, 1, 1]),
  });
  h = b.op('Flatten', [b.op('GlobalAveragePool', [h])], { axis: attr.int(1) });
  h = b.op(
    'Add',
    [b.op('MatMul', [h, weight(b, rng, 'head.w', [4, 3])]), weight(b, rng, 'head.b', [3], 0.1)],
    {},
    'logits',
  );
  b.output(h, DataType.FLOAT, ['batch', 3]);
  return b.build('residual');
}

// ---------------------------------------------------------------- float64 reference interpreter

interface T64 {
  dims: number[];
  data: Float64Array;
}

function broadcast(a: T64, b: T64, f: (x: number, y: number) => number): T64 {
  const rank = Math.max(a.dims.length, b.dims.length);
  const pa = [...Array(rank - a.dims.length).fill(1), ...a.dims];
  const pb = [...Array(rank - b.dims.length).fill(1), ...b.dims];
  const dims = pa.map((d, i) => Math.max(d, pb[i]!));
  const out = new Float64Array(elementCount(dims));
  const idx = new Array<number>(rank).fill(0);
  for (let k = 0; k < out.length; k++) {
    let r = k;
    for (let i = rank - 1; i >= 0; i--) {
      idx[i] = r % dims[i]!;
      r = Math.floor(r / dims[i]!);
    }
    let ia = 0;
    let ib = 0;
    for (let i = 0; i < rank; i++) {
      ia = ia * pa[i]! + (pa[i] === 1 ? 0 : idx[i]!);
      ib = ib * pb[i]! + (pb[i] === 1 ? 0 : idx[i]!);
    }
    out[k] = f(a.data[ia]!, b.data[ib]!);
  }
  return { dims, data: out };
}

function conv64(x: T64, w: T64, bias: T64 | undefined, node: Node): T64 {
  const [n, c, h, wd] = x.dims as [number, number, number, number];
  const [m, cg, kh, kw] = w.dims as [number, number, number, number];
  const [sh, sw] = attrInts(node, 'strides', [1, 1]) as [number, number];
  const [pt, pl, pb, pr] = attrInts(node, 'pads', [0, 0, 0, 0]) as [number, number, number, number];
  const group = attrInt(node, 'group', 1);
  const ho = Math.floor((h + pt + pb - kh) / sh) + 1;
  const wo = Math.floor((wd + pl + pr - kw) / sw) + 1;
  const out = new Float64Array(n * m * ho * wo);
  const mg = m / group;
  for (let b = 0; b < n; b++)
    for (let o = 0; o < m; o++) {
      const g = Math.floor(o / mg);
      for (let i = 0; i < ho; i++)
        for (let j = 0; j < wo; j++) {
          let s = bias ? bias.data[o]! : 0;
          for (let ci = 0; ci < cg; ci++)
            for (let u = 0; u < kh; u++)
              for (let v = 0; v < kw; v++) {
                const y = i * sh - pt + u;
                const z = j * sw - pl + v;
                if (y < 0 || y >= h || z < 0 || z >= wd) continue;
                s +=
                  x.data[((b * c + g * cg + ci) * h + y) * wd + z]! *
                  w.data[((o * cg + ci) * kh + u) * kw + v]!;
              }
          out[((b * m + o) * ho + i) * wo + j] = s;
        }
    }
  void c;
  return { dims: [n, m, ho, wo], data: out };
}

function maxPool64(x: T64, node: Node): T64 {
  const [n, c, h, w] = x.dims as [number, number, number, number];
  const [kh, kw] = attrInts(node, 'kernel_shape', []) as [number, number];
  const [sh, sw] = attrInts(node, 'strides', [1, 1]) as [number, number];
  const [pt, pl, pb, pr] = attrInts(node, 'pads', [0, 0, 0, 0]) as [number, number, number, number];
  const ho = Math.floor((h + pt + pb - kh) / sh) + 1;
  const wo = Math.floor((w + pl + pr - kw) / sw) + 1;
  const out = new Float64Array(n * c * ho * wo);
  for (let p = 0; p < n * c; p++)
    for (let i = 0; i < ho; i++)
      for (let j = 0; j < wo; j++) {
        let best = -Infinity;
        for (let u = 0; u < kh; u++)
          for (let v = 0; v < kw; v++) {
            const y = i * sh - pt + u;
            const z = j * sw - pl + v;
            if (y >= 0 && y < h && z >= 0 && z < w) best = Math.max(best, x.data[(p * h + y) * w + z]!);
          }
        out[(p * ho + i) * wo + j] = best;
      }
  return { dims: [n, c, ho, wo], data: out };
}

function gemm64(a: T64, b: T64, c: T64 | undefined, transB: boolean): T64 {
  const [m, k] = a.dims as [number, number];
  const nOut = transB ? b.dims[0]! : b.dims[1]!;
  const out = new Float64Array(m * nOut);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < nOut; j++) {
      let s = 0;
      for (let l = 0; l < k; l++)
        s += a.data[i * k + l]! * (transB ? b.data[j * k + l]! : b.data[l * nOut + j]!);
      out[i * nOut + j] = s;
    }
  const y = { dims: [m, nOut], data: out };
  return c ? broadcast(y, c, (p, q) => p + q) : y;
}

/** Runs the model in float64; returns every value. Supports exactly the ops the test models use. */
function run64(model: Model, feeds: Record<string, T64>): Map<string, T64> {
  const env = new Map<string, T64>(Object.entries(feeds));
  for (const t of model.graph.initializers)
    if (!env.has(t.name))
      env.set(t.name, { dims: [...t.dims], data: Float64Array.from(t.data as Float32Array) });
  const map = (x: T64, f: (v: number) => number): T64 => ({ dims: x.dims, data: x.data.map(f) });
  for (const node of model.graph.nodes) {
    const inp = node.inputs.map((n) => (n ? env.get(n)! : undefined));
    const x = inp[0]!;
    let y: T64;
    switch (node.opType) {
      case 'Conv':
        y = conv64(x, inp[1]!, inp[2], node);
        break;
      case 'Relu':
        y = map(x, (v) => Math.max(v, 0));
        break;
      case 'Clip':
        y = map(x, (v) => Math.min(Math.max(v, inp[1]!.data[0]!), inp[2]!.data[0]!));
        break;
      case 'MaxPool':
        y = maxPool64(x, node);
        break;
      case 'Flatten':
        y = { dims: [x.dims[0]!, elementCount(x.dims.slice(1))], data: x.data };
        break;
      case 'Gemm':
        y = gemm64(x, inp[1]!, inp[2], attrInt(node, 'transB', 0) === 1);
        break;
      case 'MatMul':
        y = gemm64(x, inp[1]!, undefined, false);
        break;
      case 'Add':
        y = broadcast(x, inp[1]!, (p, q) => p + q);
        break;
      case 'GlobalAveragePool': {
        const [n, c, h, w] = x.dims as [number, number, number, number];
        const out = new Float64Array(n * c);
        for (let p = 0; p < n * c; p++)
          for (let k = 0; k < h * w; k++) out[p]! += x.data[p * h * w + k]! / (h * w);
        y = { dims: [n, c, 1, 1], data: out };
        break;
      }
      case 'BatchNormalization': {
        const [, scale, bias, mean, variance] = inp as T64[];
        const eps = attrFloat(node, 'epsilon', 1e-5);
        const [n, c] = x.dims as [number, number];
        const area = elementCount(x.dims.slice(2));
        const out = new Float64Array(x.data.length);
        for (let b = 0; b < n; b++)
          for (let ch = 0; ch < c; ch++) {
            const k = scale!.data[ch]! / Math.sqrt(variance!.data[ch]! + eps);
            for (let s = 0; s < area; s++) {
              const i = (b * c + ch) * area + s;
              out[i] = (x.data[i]! - mean!.data[ch]!) * k + bias!.data[ch]!;
            }
          }
        y = { dims: x.dims, data: out };
        break;
      }
      case 'Softmax': {
        const [n, c] = x.dims as [number, number];
        const out = new Float64Array(n * c);
        for (let b = 0; b < n; b++) {
          const row = x.data.subarray(b * c, b * c + c);
          const top = Math.max(...row);
          const z = row.reduce((s, v) => s + Math.exp(v - top), 0);
          for (let j = 0; j < c; j++) out[b * c + j] = Math.exp(row[j]! - top) / z;
        }
        y = { dims: x.dims, data: out };
        break;
      }
      default:
        throw new Error(`reference interpreter: no ${node.opType}`);
    }
    env.set(node.outputs[0]!, y);
  }
  return env;
}

function meanCrossEntropy64(logits: T64, labels: readonly number[]): number {
  const [n, c] = logits.dims as [number, number];
  let total = 0;
  for (let b = 0; b < n; b++) {
    const row = logits.data.subarray(b * c, b * c + c);
    const top = Math.max(...row);
    const lse = top + Math.log(row.reduce((s, v) => s + Math.exp(v - top), 0));
    total += lse - row[labels[b]!]!;
  }
  return total / n;
}

// ---------------------------------------------------------------- helpers

function unwrapOk<T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

function inputDims(model: Model, batch: number): number[] {
  return model.graph.inputs[0]!.shape!.map((d, i) => (i === 0 ? batch : (d as number)));
}

function trainingFeeds(
  model: Model,
  tg: TrainingGraph,
  x: Float32Array,
  labels: readonly number[],
  batch: number,
): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {
    [tg.inputName]: new ort.Tensor('float32', x, inputDims(model, batch)),
    [tg.labelName]: new ort.Tensor('int64', BigInt64Array.from(labels.map(BigInt)), [batch]),
  };
  for (const name of tg.weightNames) {
    const t = model.graph.initializers.find((i) => i.name === name)!;
    feeds[name] = new ort.Tensor('float32', t.data as Float32Array, [...t.dims]);
  }
  return feeds;
}

/**
 * ORT's mean-CE gradients against float64 central differences of the reference on a sample of
 * elements of each weight; returns the worst relative error per weight.
 */
async function compareWithReference(
  model: Model,
  batch: number,
  seed: number,
): Promise<{ loss: number; refLoss: number; errors: Map<string, number> }> {
  const rng = new Rng(seed);
  const tg = unwrapOk(buildTrainingGraph(model, { head: 'mean-ce' }));
  const session = unwrapOk(await createSession(tg.model));
  const x = randn(rng, inputDims(model, batch), 1);
  const labels = Array.from({ length: batch }, () => rng.int(3));
  const out = await session.run(trainingFeeds(model, tg, x, labels, batch));
  await session.release();

  const logitsOf = tg.logitsName;
  const weights = new Map(
    model.graph.initializers.map((t) => [
      t.name,
      { dims: [...t.dims], data: Float64Array.from(t.data as Float32Array) },
    ]),
  );
  const refLoss = (): number => {
    const env = run64(model, {
      [tg.inputName]: { dims: inputDims(model, batch), data: Float64Array.from(x) },
      ...Object.fromEntries(weights),
    });
    return meanCrossEntropy64(env.get(logitsOf)!, labels);
  };
  const errors = new Map<string, number>();
  const h = 1e-6;
  tg.weightNames.forEach((name, k) => {
    const g = out[tg.gradNames[k]!]!.data as Float32Array;
    const w = weights.get(name)!;
    expect(out[tg.gradNames[k]!]!.dims).toEqual(w.dims);
    const stride = Math.max(1, Math.floor(w.data.length / 12));
    let diff = 0;
    let norm = 0;
    for (let j = 0; j < w.data.length; j += stride) {
      const keep = w.data[j]!;
      w.data[j] = keep + h;
      const up = refLoss();
      w.data[j] = keep - h;
      const down = refLoss();
      w.data[j] = keep;
      const fd = (up - down) / (2 * h);
      diff += (g[j]! - fd) ** 2;
      norm += fd ** 2;
    }
    errors.set(name, Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-9));
  });
  return { loss: (out[tg.lossName]!.data as Float32Array)[0]!, refLoss: refLoss(), errors };
}

// ---------------------------------------------------------------- tests

describe('training graph: whole models against a float64 reference', () => {
  for (const [name, make] of [
    ['LeNet-like (ends in Softmax)', () => leNet(5)],
    ['residual + BatchNorm + depthwise', () => residualNet(6)],
  ] as const) {
    it(name, async () => {
      const { loss, refLoss, errors } = await compareWithReference(make(), 8, 11);
      const worst = Math.max(...errors.values());
      console.log(
        `[autodiff model] ${name}: loss ${loss.toFixed(6)} vs ${refLoss.toFixed(6)}; max rel err ${worst.toExponential(2)} over ${errors.size} weights (${[...errors].map(([w, e]) => `${w} ${e.toExponential(1)}`).join(', ')})`,
      );
      expect(Math.abs(loss - refLoss) / refLoss).toBeLessThan(1e-5);
      expect(worst).toBeLessThan(1e-4);
    });
  }
});

describe('training graph contract', () => {
  it('declares data, labels and weights as inputs and keeps no weight initializers', () => {
    const model = leNet(1);
    const tg = unwrapOk(buildTrainingGraph(model, { head: 'mean-ce' }));
    const names = ['c1.w', 'c1.b', 'c2.w', 'c2.b', 'fc1.w', 'fc1.b', 'fc2.w', 'fc2.b'];
    expect(tg.inputName).toBe('image');
    expect(tg.labelName).toBe('labels');
    expect(tg.weightNames).toEqual(names);
    expect(tg.logitsName).toBe('scores');
    expect(tg.model.graph.inputs.map((i) => i.name)).toEqual(['image', 'labels', ...names]);
    expect(tg.model.graph.initializers.filter((t) => names.includes(t.name))).toEqual([]);
    const outputs = tg.model.graph.outputs.map((o) => o.name);
    expect(outputs).toEqual(expect.arrayContaining([tg.lossName, tg.logitsName, ...tg.gradNames]));
  });

  it('per-sample log-likelihood: batch gradient = −N × mean-CE gradient = Σ of batch-1 gradients; one session serves any batch', async () => {
    const model = residualNet(2);
    const rng = new Rng(3);
    const batch = 4;
    const x = randn(rng, inputDims(model, batch), 1);
    const labels = [0, 2, 1, 2];
    const ce = unwrapOk(buildTrainingGraph(model, { head: 'mean-ce' }));
    const ll = unwrapOk(buildTrainingGraph(model, { head: 'per-sample-loglik' }));
    const ceSession = unwrapOk(await createSession(ce.model));
    const llSession = unwrapOk(await createSession(ll.model));
    const ceOut = await ceSession.run(trainingFeeds(model, ce, x, labels, batch));
    const llOut = await llSession.run(trainingFeeds(model, ll, x, labels, batch));
    const perSample = ll.gradNames.map((g) => new Float64Array((llOut[g]!.data as Float32Array).length));
    let lossSum = 0;
    const sampleSize = x.length / batch;
    for (let i = 0; i < batch; i++) {
      const one = await llSession.run(
        trainingFeeds(model, ll, x.slice(i * sampleSize, (i + 1) * sampleSize), [labels[i]!], 1),
      );
      lossSum += (one[ll.lossName]!.data as Float32Array)[0]!;
      ll.gradNames.forEach((g, k) =>
        (one[g]!.data as Float32Array).forEach((v, j) => (perSample[k]![j]! += v)),
      );
    }
    const llLoss = (llOut[ll.lossName]!.data as Float32Array)[0]!;
    const ceLoss = (ceOut[ce.lossName]!.data as Float32Array)[0]!;
    expect(llLoss).toBeCloseTo(-batch * ceLoss, 4);
    expect(lossSum).toBeCloseTo(llLoss, 4);
    ll.gradNames.forEach((g, k) => {
      const batched = llOut[g]!.data as Float32Array;
      const mean = ceOut[ce.gradNames[k]!]!.data as Float32Array;
      batched.forEach((v, j) => {
        expect(v).toBeCloseTo(-batch * mean[j]!, 4);
        expect(perSample[k]![j]!).toBeCloseTo(v, 4);
      });
    });
    await ceSession.release();
    await llSession.release();
  });

  it('distillation head: α = 0 is mean-CE; at the teacher α = 1 has zero gradient; its gradient matches finite differences of its loss', async () => {
    const model = leNet(5);
    const rng = new Rng(9);
    const batch = 4;
    const x = randn(rng, inputDims(model, batch), 1);
    const labels = [0, 2, 1, 2];
    const run = async (tg: TrainingGraph, shift?: { name: string; delta: Float32Array }) => {
      const session = unwrapOk(await createSession(tg.model));
      const feeds = trainingFeeds(model, tg, x, labels, batch);
      if (shift) {
        const t = feeds[shift.name]!;
        feeds[shift.name] = new ort.Tensor(
          'float32',
          (t.data as Float32Array).map((v, i) => v + shift.delta[i]!),
          t.dims,
        );
      }
      const out = await session.run(feeds);
      await session.release();
      return {
        loss: (out[tg.lossName]!.data as Float32Array)[0]!,
        grads: tg.gradNames.map((g) => out[g]!.data as Float32Array),
      };
    };
    const ce = unwrapOk(buildTrainingGraph(model, { head: 'mean-ce' }));
    const kd0 = unwrapOk(
      buildTrainingGraph(model, { head: 'mean-ce', distill: { alpha: 0, temperature: 2 } }),
    );
    const a = await run(ce);
    const b0 = await run(kd0);
    expect(b0.loss).toBeCloseTo(a.loss, 5);
    b0.grads.forEach((g, k) => g.forEach((v, j) => expect(v).toBeCloseTo(a.grads[k]![j]!, 5)));

    const kd1 = unwrapOk(
      buildTrainingGraph(model, { head: 'mean-ce', distill: { alpha: 1, temperature: 3 } }),
    );
    const atTeacher = await run(kd1);
    for (const g of atTeacher.grads) for (const v of g) expect(Math.abs(v)).toBeLessThan(1e-6);

    // Away from the teacher (fc2.w moved), central differences of the graph's own loss.
    const kd = unwrapOk(
      buildTrainingGraph(model, { head: 'mean-ce', distill: { alpha: 0.7, temperature: 2 } }),
    );
    const name = 'fc2.w';
    const k = kd.weightNames.indexOf(name);
    const size = kd.model.graph.inputs
      .find((i) => i.name === name)!
      .shape!.reduce<number>((p, d) => p * (d as number), 1);
    const moved = Float32Array.from({ length: size }, () => rng.normal() * 0.3);
    const at = await run(kd, { name, delta: moved });
    expect(Math.max(...at.grads[k]!.map(Math.abs))).toBeGreaterThan(1e-2);
    const h = 1e-2;
    for (const j of [0, 5, 17, 40]) {
      const plus = moved.slice();
      const minus = moved.slice();
      plus[j]! += h;
      minus[j]! -= h;
      const fd =
        ((await run(kd, { name, delta: plus })).loss - (await run(kd, { name, delta: minus })).loss) /
        (2 * h);
      expect(at.grads[k]![j]!).toBeCloseTo(fd, 3);
    }
  });

  it('gives zeros for a weight that does not reach the logits, honours an explicit weight list, and ignores shape problems off the path', async () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, ['batch', 2]);
    const w = b.initializer(floatTensor('w', [2, 3], [1, 2, 3, 4, 5, 6]));
    const unused = b.initializer(floatTensor('unused', [2], [1, 1]));
    b.output(b.op('MatMul', [x, w]), DataType.FLOAT, ['batch', 3]);
    b.output(b.op('Add', [x, b.op('Identity', [unused])]), DataType.FLOAT);
    // Flatten at axis 0 merges the batch: not representable here, but off the path, so never needed.
    b.output(b.op('Flatten', [x], { axis: attr.int(0) }), DataType.FLOAT);
    const model = b.build('partial');
    const tg = unwrapOk(buildTrainingGraph(model, { head: 'mean-ce', weights: ['w', 'unused'] }));
    const session = unwrapOk(await createSession(tg.model));
    const out = await session.run(trainingFeeds(model, tg, Float32Array.from([1, -1, 0.5, 2]), [0, 2], 2));
    expect(Array.from(out[tg.gradNames[1]!]!.data as Float32Array)).toEqual([0, 0]);
    expect(out[tg.gradNames[0]!]!.dims).toEqual([2, 3]);
    await session.release();
    const bad = buildTrainingGraph(model, { head: 'mean-ce', weights: ['nope'] });
    expect(!bad.ok && bad.error.code).toBe('E_AUTODIFF');
  });

  it('makes a fixed batch (1) symbolic, so any batch size trains', async () => {
    const tiny = tinyConvNet(4);
    const model: Model = {
      ...tiny,
      graph: { ...tiny.graph, inputs: [{ ...tiny.graph.inputs[0]!, shape: [1, 1, 8, 8] }] },
    };
    const tg = unwrapOk(buildTrainingGraph(model, { head: 'mean-ce' }));
    expect(tg.model.graph.inputs[0]!.shape).toEqual(['batch', 1, 8, 8]);
    const session = unwrapOk(await createSession(tg.model));
    const rng = new Rng(1);
    const out = await session.run(trainingFeeds(model, tg, randn(rng, [3, 1, 8, 8], 1), [0, 1, 2], 3));
    expect(out[tg.logitsName]!.dims).toEqual([3, 3]);
    await session.release();
  });

  it('refuses models older than opset 11', () => {
    const r = buildTrainingGraph(
      { ...tinyConvNet(), opsetImports: [{ domain: '', version: 9 }] },
      { head: 'mean-ce' },
    );
    expect(!r.ok && r.error.code).toBe('E_AUTODIFF');
    if (!r.ok) expect(r.error.message).toContain('opset 9');
  });

  it('reports every operator without a rule, with its node name, before building', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, ['batch', 2, 4, 4]);
    let h = b.op('Erf', [
      b.op('Conv', [x, b.initializer(floatTensor('c.w', [2, 2, 1, 1], new Float32Array(4).fill(0.1)))]),
    ]);
    h = b.op('Cos', [h]);
    h = b.op('Flatten', [h], { axis: attr.int(1) });
    b.output(
      b.op('Gemm', [h, b.initializer(floatTensor('fc.w', [32, 3], new Float32Array(96).fill(0.01)))]),
      DataType.FLOAT,
    );
    const r = buildTrainingGraph(b.build('norule'), { head: 'mean-ce' });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('E_AUTODIFF_NO_RULE');
      expect(r.error.message).toMatch(/Erf \(node "Erf_node"\).*Cos \(node "Cos_node"\)/);
    }
  });

  it('reports shape problems as E_AUTODIFF', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, ['batch', 2, 3]);
    b.output(
      b.op('MatMul', [x, b.initializer(floatTensor('w', [3, 4], new Float32Array(12)))]),
      DataType.FLOAT,
    );
    const r = buildTrainingGraph(b.build('rank3'), { head: 'mean-ce' });
    expect(!r.ok && r.error.code).toBe('E_AUTODIFF');
    if (!r.ok) expect(r.error.message).toContain('[batch, classes]');
  });

  it('TRAINABLE_OPS covers every supported operator (none is forward-only)', () => {
    const forwardOnly: string[] = [];
    const uncovered = Object.keys(WEIGHT_INPUTS).filter((op) => !TRAINABLE_OPS.has(op));
    expect(uncovered).toEqual(forwardOnly);
  });
});
