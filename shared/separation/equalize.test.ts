import { describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import { createSession, floatTensor } from '../onnx/ort.ts';
import type { Model, Tensor } from '../onnx/types.ts';
import { ZOO_TASKS } from '../zoo/tasks.ts';
import { buildModel } from '../zoo/model-builder.ts';
import { equalizeLayerScales } from './equalize.ts';

async function outputs(model: Model, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const session = await createSession(model);
  if (!session.ok) throw new Error(session.error.message);
  const input = model.graph.inputs.find((i) => !model.graph.initializers.some((t) => t.name === i.name))!;
  const out = await session.value.run({ [input.name]: floatTensor(x, dims) });
  await session.value.release();
  return out[model.graph.outputs[0]!.name]!.data as Float32Array;
}

function rms(t: Tensor): number {
  const d = t.data as Float32Array;
  return Math.sqrt(d.reduce((a, v) => a + v * v, 0) / d.length);
}

/** Multiplies every bias by a large factor, so that a wrong bias scale would show in the outputs. */
function loudBiases(model: Model): Model {
  const weightNames = new Set(model.graph.nodes.map((n) => n.inputs[1]));
  return {
    ...model,
    graph: {
      ...model.graph,
      initializers: model.graph.initializers.map((t) =>
        weightNames.has(t.name) ? t : { ...t, data: (t.data as Float32Array).map((_, i) => Math.sin(i + 1)) },
      ),
    },
  };
}

describe('equalizeLayerScales', () => {
  it.each(ZOO_TASKS.map((t) => [t.id, t] as const))(
    '%s: same outputs, every layer at the same RMS',
    async (_, spec) => {
      const model = loudBiases(spec.build(3));
      const eq = equalizeLayerScales(model);
      expect(eq.reason).toBeUndefined();
      expect(eq.applied).toBe(true);
      expect(eq.factors.reduce((a, c) => a * c, 1)).toBeCloseTo(1, 12);
      const layerWeights = eq.model.graph.nodes
        .filter((n) => ['Conv', 'Gemm', 'MatMul'].includes(n.opType))
        .map((n) => eq.model.graph.initializers.find((t) => t.name === n.inputs[1])!);
      const scales = layerWeights.map(rms);
      for (const s of scales) expect(s / scales[0]!).toBeCloseTo(1, 5);
      const rng = new Rng(1);
      const dims = [4, ...spec.inputShape];
      const x = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal());
      const before = await outputs(model, x, dims);
      const after = await outputs(eq.model, x, dims);
      const peak = Math.max(...before.map(Math.abs));
      before.forEach((v, i) => expect(Math.abs(after[i]! - v)).toBeLessThan(1e-5 * peak));
    },
  );

  it('leaves a model alone, with the reason, when an operator does not commute with scaling', () => {
    const model = buildModel('s', [4], 1, (b, x) => b.dense('fc2', b.sigmoid(b.dense('fc1', x, 8)), 2)).model;
    const eq = equalizeLayerScales(model);
    expect(eq.applied).toBe(false);
    expect(eq.model).toBe(model);
    expect(eq.reason).toMatch(/^Sigmoid \(node ".*"\) does not commute with scaling/);
  });
});
