import { describe, expect, it } from 'vitest';
import { WsepFailure } from '../core/errors.ts';
import { Rng } from '../core/rng.ts';
import { DataType, elementCount } from '../onnx/types.ts';
import { createSession, floatTensor } from '../onnx/ort.ts';
import { validateModel } from '../onnx/validate.ts';
import { selectWeights } from '../onnx/weights.ts';
import {
  LOGITS,
  ModelBuilder,
  buildModel,
  countWeights,
  describeLayers,
  type Value,
} from './model-builder.ts';

describe('ModelBuilder', () => {
  it('tracks shapes through every layer exactly as onnxruntime computes them', async () => {
    const b = new ModelBuilder('kitchen_sink', 3);
    const tracked: Value[] = [];
    const keep = (v: Value): Value => (tracked.push(v), v);
    let x = keep(b.input([4, 17, 13]));
    x = keep(b.conv('conv1', x, 8, { kernel: [3, 5], stride: [2, 1], pad: [1, 2, 0, 1], dilation: [1, 2] }));
    x = keep(b.batchNorm('bn1', x));
    x = keep(b.relu6(x));
    x = keep(b.maxPool(x, 3, { stride: 2, ceilMode: true }));
    const y = keep(b.depthwiseConv('dw', x, { kernel: 3, pad: 'same', bias: false }));
    x = keep(b.add(keep(b.hardSwish(y)), x));
    const [p, q] = b.channelSplit(x);
    keep(p!);
    keep(q!);
    x = keep(b.concat([keep(b.leakyRelu(p!)), keep(b.tanh(q!))]));
    x = keep(b.channelShuffle(x, 2));
    const gate = keep(b.sigmoid(keep(b.globalAvgPool(x))));
    x = keep(b.multiply(x, gate));
    x = keep(b.swish(x));
    x = keep(b.avgPool(x, 2, { stride: 1, pad: [0, 0, 1, 1] }));
    x = keep(b.conv('grouped', x, 4, { kernel: 1, groups: 2 }));
    x = keep(b.dense('fc', keep(b.flatten(x)), 5));
    for (const v of tracked.slice(1)) b.graph.output(v.name, DataType.FLOAT);
    const model = b.finish(x);
    const checked = validateModel(model);
    expect(checked.ok ? 'ok' : checked.error.message).toBe('ok');

    const session = await createSession(model);
    if (!session.ok) throw new Error(session.error.message);
    const batch = 2;
    const rng = new Rng(1);
    const input = Float32Array.from({ length: batch * 4 * 17 * 13 }, () => rng.normal());
    const out = await session.value.run({ input: floatTensor(input, [batch, 4, 17, 13]) });
    for (const v of tracked.slice(1, -1))
      expect([v.name, ...out[v.name]!.dims]).toEqual([v.name, batch, ...v.shape]);
    expect(out[LOGITS]!.dims).toEqual([batch, 5]);
  });

  it('names parameters after their (scoped) layers and counts weights as selectWeights does', () => {
    const built = buildModel('names', [3, 8, 8], 1, (b, x) => {
      x = b.conv('conv1', x, 4, { kernel: 3, pad: 1 });
      x = b.scope('block2', () =>
        b.relu(b.batchNorm('bn', b.conv('conv', x, 6, { kernel: 3, bias: false }))),
      );
      return b.dense('fc', b.flatten(x), 3);
    });
    const names = selectWeights(built.model).map((t) => t.name);
    expect(names).toEqual([
      'conv1.weight',
      'conv1.bias',
      'block2.conv.weight',
      'block2.bn.weight',
      'block2.bn.bias',
      'fc.weight',
      'fc.bias',
    ]);
    // BN running statistics stay in the graph but are not learned weights.
    expect(built.model.graph.initializers.map((t) => t.name)).toContain('block2.bn.running_var');
    expect(built.weights).toBe(4 * 3 * 9 + 4 + 6 * 4 * 9 + 6 + 6 + 3 * 6 * 36 + 3);
    expect(countWeights(built.model)).toBe(built.weights);
    expect(built.macs).toBe(64 * 4 * 27 + 36 * 6 * 36 + 3 * 216);
    expect(describeLayers(built.layers)).toBe('c3×3·4-c3×3·6-fc3');
    // The last layer writes `logits` itself: no Identity node.
    const last = built.model.graph.nodes.at(-1)!;
    expect([last.opType, ...last.outputs]).toEqual(['Gemm', 'logits']);
    expect(built.model.graph.outputs).toEqual([
      { name: 'logits', elemType: DataType.FLOAT, shape: ['batch', 3] },
    ]);
  });

  it('initialises deterministically: He-normal kernels, zero biases, identity batch norm', () => {
    const make = (seed: number) =>
      buildModel('init', [16, 6, 6], seed, (b, x) =>
        b.dense('fc', b.flatten(b.batchNorm('bn', b.conv('conv', x, 64, { kernel: 3 }))), 10),
      ).model;
    const a = make(5);
    const byName = new Map(a.graph.initializers.map((t) => [t.name, t.data as Float32Array]));
    const kernel = byName.get('conv.weight')!;
    const std = Math.sqrt(kernel.reduce((s, v) => s + v * v, 0) / kernel.length);
    expect(std).toBeGreaterThan(0.9 * Math.sqrt(2 / 144));
    expect(std).toBeLessThan(1.1 * Math.sqrt(2 / 144));
    expect([...byName.get('conv.bias')!].every((v) => v === 0)).toBe(true);
    expect([...byName.get('bn.weight')!].every((v) => v === 1)).toBe(true);
    expect([...byName.get('bn.running_var')!].every((v) => v === 1)).toBe(true);
    expect(make(5)).toEqual(a);
    expect(make(6).graph.initializers[0]!.data).not.toEqual(a.graph.initializers[0]!.data);
  });

  it('rejects architectures that cannot work, with a message that says why', () => {
    const b = new ModelBuilder('bad', 1);
    const x = b.input([1, 4, 4]);
    const expectUsage = (fn: () => unknown, text: RegExp) => {
      try {
        fn();
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(WsepFailure);
        expect((e as WsepFailure).error.message).toMatch(text);
      }
    };
    expectUsage(() => b.dense('fc', x, 3), /Add flatten\(\) first/);
    expectUsage(() => b.conv('big', x, 2, { kernel: 5 }), /does not fit/);
    b.conv('c', x, 2, { kernel: 1 });
    expectUsage(() => b.conv('c', x, 2, { kernel: 1 }), /used twice/);
    expectUsage(() => b.add(x, b.conv('d', x, 2, { kernel: 1 })), /shapes differ/);
    expectUsage(() => b.finish(x), /Flatten first/);
    // ONNX shape inference and onnxruntime's kernel disagree on this window count: refused.
    const five = b.conv('five', x, 1, { kernel: 2, pad: 1 }); // 5×5
    expectUsage(() => b.maxPool(five, 2, { stride: 2, pad: 1, ceilMode: true }), /ambiguous/);
    expect(elementCount(x.shape)).toBe(16);
  });
});
