/**
 * Equalises the weight scales of a model's layers without changing what it computes, before its
 * weights are cut into pages.
 *
 * Why: a shared page holds one value per position for ~10 models' pages at once, and Adam moves
 * every value by about the learning rate per step. A model's first conv (weights ~0.3) and a wide
 * dense layer (weights ~0.03) differ tenfold in scale, so on one slot they cannot agree on a value,
 * and the same step is a 0.7% change to one and a 7% change to the other. Equal scales remove both.
 *
 * How: in a chain of Conv / Gemm / MatMul layers joined by positively homogeneous operators (ReLU,
 * LeakyReLU, max and average pooling, reshapes), f(c·x) = c·f(x) for c > 0, so multiplying layer l's
 * weights by c_l and its bias by C_l = c_1···c_l leaves the logits unchanged when C_L = 1. Choosing
 * c_l = G / rms_l, with G the geometric mean of the layers' RMS, makes every layer's RMS equal to G
 * and the product exactly 1. A graph that is not such a chain is returned unchanged, with the reason.
 */
import type { Model, Node, Tensor } from '../onnx/types.ts';

/** Operators with f(c·x) = c·f(x) for every c > 0, and no weights of their own. */
const HOMOGENEOUS = new Set([
  'Relu',
  'LeakyRelu',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'GlobalMaxPool',
  'Flatten',
  'Reshape',
  'Identity',
  'Dropout',
  'Squeeze',
  'Unsqueeze',
  'Transpose',
]);
const LAYERS = new Set(['Conv', 'Gemm', 'MatMul']);

export interface Equalized {
  readonly model: Model;
  readonly applied: boolean;
  /** Why the model was left as it is (when not applied). */
  readonly reason?: string;
  /** c_l per weight layer, in graph order (empty when not applied). */
  readonly factors: readonly number[];
}

function rms(t: Tensor): number {
  const d = t.data as Float32Array;
  let s = 0;
  for (let i = 0; i < d.length; i++) s += d[i]! * d[i]!;
  return Math.sqrt(s / Math.max(1, d.length));
}

function scaled(t: Tensor, factor: number): Tensor {
  return { ...t, data: (t.data as Float32Array).map((v) => v * factor) };
}

export function equalizeLayerScales(model: Model): Equalized {
  const unchanged = (reason: string): Equalized => ({ model, applied: false, reason, factors: [] });
  const g = model.graph;
  const inits = new Map(g.initializers.map((t) => [t.name, t]));
  const constants = new Set(g.nodes.filter((n) => n.opType === 'Constant').flatMap((n) => n.outputs));
  const data = g.inputs.find((i) => !inits.has(i.name));
  if (!data) return unchanged('the model has no data input');
  const uses = new Map<string, number>();
  for (const n of g.nodes) for (const i of n.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);

  // Walk the chain: each node must take the current activation as its first input.
  let current = data.name;
  const layers: { node: Node; weight: Tensor; bias?: Tensor }[] = [];
  const biasAdds: { tensor: Tensor; afterLayer: number }[] = [];
  let ended = false;
  for (const n of g.nodes) {
    if (n.opType === 'Constant') continue;
    if (ended) return unchanged(`node "${n.name}" (${n.opType}) follows the output's Softmax`);
    if (n.inputs[0] !== current)
      return unchanged(`node "${n.name}" (${n.opType}) does not continue a single chain of layers`);
    const rest = n.inputs.slice(1).filter((i) => i !== '');
    if (LAYERS.has(n.opType)) {
      const weight = inits.get(n.inputs[1] ?? '');
      if (!weight) return unchanged(`layer "${n.name}" takes its weights from another node`);
      if ((uses.get(weight.name) ?? 0) > 1) return unchanged(`weights "${weight.name}" feed several nodes`);
      const biasName = n.inputs[2];
      const bias = biasName ? inits.get(biasName) : undefined;
      if (biasName && (!bias || (uses.get(biasName) ?? 0) > 1))
        return unchanged(`layer "${n.name}" has a bias that is not its own initializer`);
      layers.push({ node: n, weight, ...(bias ? { bias } : {}) });
    } else if (n.opType === 'Add' && rest.length === 1 && inits.has(rest[0]!) && layers.length > 0) {
      const t = inits.get(rest[0]!)!;
      if ((uses.get(t.name) ?? 0) > 1) return unchanged(`bias "${t.name}" feeds several nodes`);
      biasAdds.push({ tensor: t, afterLayer: layers.length - 1 });
    } else if (n.opType === 'Softmax' || n.opType === 'LogSoftmax') {
      ended = true;
    } else if (HOMOGENEOUS.has(n.opType)) {
      if (rest.some((i) => !inits.has(i) && !constants.has(i)))
        return unchanged(`node "${n.name}" (${n.opType}) takes a computed second input`);
    } else {
      return unchanged(`${n.opType} (node "${n.name}") does not commute with scaling`);
    }
    if (n.outputs.length !== 1 && n.opType !== 'Dropout' && n.opType !== 'MaxPool')
      return unchanged(`node "${n.name}" (${n.opType}) has several outputs`);
    current = n.outputs[0]!;
  }
  if (!g.outputs.some((o) => o.name === current)) return unchanged('the chain does not end at the output');
  if (layers.length < 2) return unchanged('fewer than two weight layers');

  const scales = layers.map((l) => rms(l.weight));
  if (scales.some((s) => !(s > 0))) return unchanged('a layer has all-zero weights');
  const logMean = scales.reduce((a, s) => a + Math.log(s), 0) / scales.length;
  const factors = scales.map((s) => Math.exp(logMean) / s);
  const replaced = new Map<string, Tensor>();
  let cumulative = 1;
  const cumulativeAt: number[] = [];
  layers.forEach((l, i) => {
    cumulative *= factors[i]!;
    cumulativeAt.push(cumulative);
    replaced.set(l.weight.name, scaled(l.weight, factors[i]!));
    if (l.bias) replaced.set(l.bias.name, scaled(l.bias, cumulative));
  });
  for (const b of biasAdds) replaced.set(b.tensor.name, scaled(b.tensor, cumulativeAt[b.afterLayer]!));
  return {
    model: { ...model, graph: { ...g, initializers: g.initializers.map((t) => replaced.get(t.name) ?? t) } },
    applied: true,
    factors,
  };
}
