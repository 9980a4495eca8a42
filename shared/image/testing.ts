/**
 * Plan fixtures for tests and benchmarks, until the planner produces real plans: conv nets of a chosen
 * size and plans over them whose page tables follow the format's rules (forced exclusive pages when a
 * model has more pages than the pool, one page of a model per shared slot unless self-tying), with
 * random but seeded assignments. The values are real: exclusive pages hold the model's own weights and
 * each shared slot one occupant's page.
 */
import { Rng } from '../core/rng.ts';
import { GraphBuilder, attr, floatTensor } from '../onnx/builder.ts';
import { DataType, type Model } from '../onnx/types.ts';
import { selectWeights, weightsAsInputs } from '../onnx/weights.ts';
import { STORED_DEVICE } from './device-profile.ts';
import { memoryAccount, planShape } from './memory.ts';
import { pageCount, type Plan, type PlannedModel } from './plan.ts';
import { PLAN_REPORT_VERSION, reportTotals, type PlanReport } from './report.ts';

export interface ConvNetSpec {
  /** [channels, height, width]; height and width divisible by 2^convs.length. */
  readonly input: readonly [number, number, number];
  /** Output channels of each 3×3 conv (each followed by Relu and a 2×2 max-pool). */
  readonly convs: readonly number[];
  /** Hidden fully connected widths. */
  readonly hidden: readonly number[];
  readonly classes: number;
}

export const TINY_SPEC: ConvNetSpec = { input: [1, 8, 8], convs: [4], hidden: [12], classes: 3 };

/** A conv net with random weights (seeded) and the input named 'input', output 'logits'. */
export function convNet(seed: number, spec: ConvNetSpec, name = 'net'): Model {
  const rng = new Rng(seed);
  const random = (n: string, dims: number[], scale: number) => {
    const size = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) data[i] = rng.normal() * scale;
    return floatTensor(n, dims, data);
  };
  const b = new GraphBuilder();
  let [c, h, w] = spec.input;
  let x = b.input('input', DataType.FLOAT, ['batch', c, h, w]);
  spec.convs.forEach((out, i) => {
    const wt = b.initializer(random(`conv${i}.weight`, [out, c, 3, 3], Math.sqrt(2 / (c * 9))));
    const bias = b.initializer(random(`conv${i}.bias`, [out], 0.05));
    x = b.op('Conv', [x, wt, bias], { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) });
    x = b.op('Relu', [x]);
    x = b.op('MaxPool', [x], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) });
    c = out;
    h /= 2;
    w /= 2;
  });
  x = b.op('Flatten', [x], { axis: attr.int(1) });
  let width = c * h * w;
  [...spec.hidden, spec.classes].forEach((out, i, all) => {
    const wt = b.initializer(random(`fc${i}.weight`, [out, width], Math.sqrt(2 / width)));
    const bias = b.initializer(random(`fc${i}.bias`, [out], 0.05));
    const last = i === all.length - 1;
    x = b.op('Gemm', [x, wt, bias], { transB: attr.int(1) }, last ? 'logits' : undefined);
    if (!last) x = b.op('Relu', [x]);
    width = out;
  });
  b.output(x, DataType.FLOAT, ['batch', spec.classes]);
  return b.build(name);
}

/** Number of learned weights of a conv net spec (for sizing benchmark models). */
export function convNetWeightCount(spec: ConvNetSpec): number {
  let [c, h, w] = spec.input;
  let total = 0;
  for (const out of spec.convs) {
    total += out * c * 9 + out;
    c = out;
    h /= 2;
    w /= 2;
  }
  let width = c * h * w;
  for (const out of [...spec.hidden, spec.classes]) {
    total += out * width + out;
    width = out;
  }
  return total;
}

export interface SyntheticPlanOptions {
  readonly pageSize: number;
  /** M; defaults to 80% of the largest model's page count (so the largest has forced exclusive pages). */
  readonly sharedPageCount?: number;
  /** Exclusive pages per model beyond the forced ones. */
  readonly extraExclusive?: number;
  readonly selfTied?: boolean;
  /** Number exclusive pages in a shuffled order instead of page order (readers must accept any order). */
  readonly shuffleExclusive?: boolean;
  readonly seed: number;
}

/** The model's weights flattened in formation order (selectWeights order, row-major). */
export function flatWeights(model: Model): {
  flat: Float32Array;
  tensors: { name: string; dims: number[]; offset: number; length: number }[];
} {
  const weights = selectWeights(model);
  const tensors: { name: string; dims: number[]; offset: number; length: number }[] = [];
  let offset = 0;
  for (const t of weights) {
    const length = t.dims.reduce((a, b) => a * b, 1);
    tensors.push({ name: t.name, dims: [...t.dims], offset, length });
    offset += length;
  }
  const flat = new Float32Array(offset);
  weights.forEach((t, i) => flat.set(t.data as Float32Array, tensors[i]!.offset));
  return { flat, tensors };
}

export function syntheticPlan(
  models: readonly { readonly name: string; readonly model: Model }[],
  options: SyntheticPlanOptions,
): Plan {
  const rng = new Rng(options.seed);
  const P = options.pageSize;
  const formed = models.map((m) => ({ ...m, ...flatWeights(m.model) }));
  const maxPages = Math.max(...formed.map((f) => pageCount(f.flat.length, P)));
  const M = options.sharedPageCount ?? Math.max(1, Math.floor(maxPages * 0.8));
  const shared = new Float32Array(M * P);
  for (let i = 0; i < shared.length; i++) shared[i] = rng.normal() * 0.05;
  const planned: PlannedModel[] = formed.map((f) => {
    const N = pageCount(f.flat.length, P);
    const order = rng.permutation(N);
    const E = Math.min(N, Math.max(0, N - M) + (options.extraExclusive ?? 0));
    const exclusiveSet = Array.from(order.subarray(0, E)).sort((a, b) => a - b);
    const indices = exclusiveSet.map((_, e) => e);
    if (options.shuffleExclusive) rng.shuffle(indices);
    const table = new Uint32Array(N);
    const exclusivePages = new Float32Array(E * P);
    exclusiveSet.forEach((page, k) => {
      const e = indices[k]!;
      table[page] = M + e;
      exclusivePages.set(f.flat.subarray(page * P, Math.min((page + 1) * P, f.flat.length)), e * P);
    });
    const slots = rng.permutation(M);
    let next = 0;
    for (let j = 0; j < N; j++) {
      if (exclusiveSet.includes(j)) continue;
      const slot = options.selfTied ? rng.int(Math.max(1, Math.floor(M / 2))) : slots[next++]!;
      table[j] = slot;
      // The slot takes this occupant's values (last writer); the tail of a short last page keeps the old ones.
      shared.set(f.flat.subarray(j * P, Math.min((j + 1) * P, f.flat.length)), slot * P);
    }
    const { model: graph } = weightsAsInputs(f.model);
    const input = graph.graph.inputs[0]!;
    const classes = Number(graph.graph.outputs[0]!.shape![1]);
    return {
      name: f.name,
      graph,
      inputName: input.name,
      inputShape: input.shape!.slice(1).map(Number),
      outputName: graph.graph.outputs[0]!.name,
      classes: Array.from({ length: classes }, (_, k) => `class${k}`),
      preprocessing: { scale: 1 / 255, mean: [0.5], std: [0.25], layout: 'none' },
      tensors: f.tensors,
      weightCount: f.flat.length,
      pageTable: table,
      exclusivePages,
      accuracy: {
        test: { before: 0.9, after: 0.875 + rng.int(10) / 1000 },
        val: { before: 0.91, after: 0.9 },
      },
    };
  });
  const plan = {
    pageSize: P,
    valueType: 'f32' as const,
    budgets: { l1Bytes: M * P * 4 + 4096, l2Bytes: 1 << 20 },
    sharedPageCount: M,
    sharedPages: shared,
    selfTied: options.selfTied ?? false,
    models: planned,
  };
  return { ...plan, report: syntheticReport(plan) };
}

/** A report whose figures are the plan's own (image/memory.ts), as the planner would state them. */
export function syntheticReport(plan: Omit<Plan, 'report'>): PlanReport {
  const account = memoryAccount(planShape(plan), STORED_DEVICE);
  return {
    version: PLAN_REPORT_VERSION,
    pageSize: plan.pageSize,
    valueType: 'f32',
    valueBytes: 4,
    budgets: plan.budgets,
    budgetObeyed: 'device',
    device: STORED_DEVICE,
    sharedPageCount: plan.sharedPageCount,
    selfTying: plan.selfTied ? 2 : 1,
    strategy: 'synthetic fixture',
    init: 'random',
    tasks: plan.models.map((m) => ({
      task: m.name,
      weights: m.weightCount,
      pages: m.pageTable.length,
      exclusivePages: m.exclusivePages.length / plan.pageSize,
      test: { ...m.accuracy.test },
      val: { ...m.accuracy.val },
    })),
    totals: reportTotals(account, 1),
    occupancyHistogram: [0, plan.sharedPageCount],
    timing: { steps: 0, bestStep: 0 },
    initLosses: { random: 2.5 },
    history: [],
  };
}

/** A few tiny models and a plan over them (page size 16 so that tables have many entries). */
export function tinyPlan(seed = 1, options: Partial<SyntheticPlanOptions> = {}): Plan {
  const specs: ConvNetSpec[] = [
    TINY_SPEC,
    { input: [1, 8, 8], convs: [6], hidden: [10], classes: 4 },
    { input: [2, 4, 4], convs: [3], hidden: [], classes: 2 },
  ];
  const models = specs.map((spec, i) => ({
    name: ['alpha', 'beta', 'gamma'][i]!,
    model: convNet(seed * 10 + i, spec, `m${i}`),
  }));
  return syntheticPlan(models, { pageSize: 16, extraExclusive: 3, seed, ...options });
}
