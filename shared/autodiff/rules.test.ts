/**
 * Every backward rule against central finite differences. Each case builds a small graph around one
 * operator, differentiates loss = Σ op(x)·r with the rule (r fed as the seed), and compares with
 * (L(x + ε) − L(x − ε)) / 2ε where L is summed in float64 from onnxruntime's float32 outputs and ε
 * is the float32-rounded step actually taken. Inputs keep away from kinks (Relu, Clip, MaxPool ties)
 * by more than ε, so the differences never straddle one.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import { GraphBuilder, attr } from '../onnx/builder.ts';
import { createSession, ort } from '../onnx/ort.ts';
import { DataType, elementCount, type Model } from '../onnx/types.ts';
import { RULES } from './rules/index.ts';
import { inferShapes } from './shapes.ts';
import { buildVjpGraph } from './vjp.ts';

type Values = (rng: Rng, n: number) => Float32Array;

interface Operand {
  readonly name: string;
  /** Concrete dims fed; axis 0 is declared symbolic ('batch') when `batch` is set. */
  readonly dims: readonly number[];
  readonly batch?: boolean;
  readonly values?: Values;
}

interface RuleCase {
  readonly rule: string;
  readonly label: string;
  readonly operands: readonly Operand[];
  /** Emits the operator(s) and returns the output(s) in the loss. */
  forward(b: GraphBuilder, x: string[]): string | string[];
  readonly bound?: number;
  /** Model opset (default 17); below 13 the graph is upgraded first, and its outputs must not change. */
  readonly opset?: number;
}

const EPS = 1e-2;
/** Most elements checked per operand (sampled evenly beyond this). */
const MAX_ELEMENTS = 40;

const normal: Values = (rng, n) => Float32Array.from({ length: n }, () => rng.normal());
/** Normal values at least `gap` away from every kink. */
const awayFrom =
  (kinks: readonly number[], scale = 1, shift = 0, gap = 0.1): Values =>
  (rng, n) =>
    Float32Array.from({ length: n }, () => {
      for (;;) {
        const v = rng.normal() * scale + shift;
        if (kinks.every((k) => Math.abs(v - k) > gap)) return v;
      }
    });
/** Distinct values 0.05 apart in random order: no ties inside any pooling window. */
const distinct: Values = (rng, n) => {
  const p = rng.permutation(n);
  return Float32Array.from(p, (i) => (i - n / 2) * 0.05);
};
const positive: Values = (rng, n) => Float32Array.from({ length: n }, () => 0.5 + rng.next());

const x1 = (dims: number[], values?: Values): Operand[] => [
  { name: 'x', dims, batch: true, ...(values !== undefined ? { values } : {}) },
];

const ints = attr.ints;
const int = attr.int;

function conv(attrs: Record<string, ReturnType<typeof attr.int>>, bias = true) {
  return (b: GraphBuilder, [x, w, c]: string[]) => b.op('Conv', bias ? [x!, w!, c!] : [x!, w!], attrs);
}

const cases: RuleCase[] = [
  // ---------------------------------------------------------------- Conv
  {
    rule: 'Conv',
    label: 'k3 pad 1',
    operands: [...x1([2, 3, 5, 5]), { name: 'w', dims: [4, 3, 3, 3] }, { name: 'b', dims: [4] }],
    forward: conv({ pads: ints([1, 1, 1, 1]) }),
  },
  {
    rule: 'Conv',
    label: 'stride 2, asymmetric pads, leftover rows',
    operands: [...x1([2, 2, 7, 6]), { name: 'w', dims: [3, 2, 3, 2] }, { name: 'b', dims: [3] }],
    forward: conv({ strides: ints([2, 2]), pads: ints([1, 0, 0, 1]) }),
  },
  {
    rule: 'Conv',
    label: 'dilation 2, stride (1,2)',
    operands: [...x1([1, 2, 7, 8]), { name: 'w', dims: [2, 2, 3, 3] }],
    forward: conv({ dilations: ints([2, 2]), strides: ints([1, 2]), pads: ints([1, 2, 1, 0]) }, false),
  },
  {
    rule: 'Conv',
    label: 'group 2, stride 2',
    operands: [...x1([2, 4, 5, 5]), { name: 'w', dims: [6, 2, 3, 3] }, { name: 'b', dims: [6] }],
    forward: conv({ group: int(2), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) }),
  },
  {
    rule: 'Conv',
    label: 'depthwise, stride 2',
    operands: [...x1([2, 3, 6, 6]), { name: 'w', dims: [3, 1, 3, 3] }, { name: 'b', dims: [3] }],
    forward: conv({ group: int(3), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) }),
  },
  {
    rule: 'Conv',
    label: 'depthwise multiplier 2, dilation 2',
    operands: [...x1([1, 2, 7, 7]), { name: 'w', dims: [4, 1, 3, 3] }],
    forward: conv({ group: int(2), dilations: ints([2, 2]), pads: ints([2, 2, 2, 2]) }, false),
  },
  {
    rule: 'Conv',
    label: '1-D, stride 2',
    operands: [...x1([2, 3, 9]), { name: 'w', dims: [4, 3, 3] }, { name: 'b', dims: [4] }],
    forward: conv({ strides: ints([2]) }),
  },
  {
    rule: 'Conv',
    label: 'auto_pad SAME_UPPER stride 2',
    operands: [...x1([1, 2, 6, 5]), { name: 'w', dims: [2, 2, 3, 3] }],
    forward: (b, [x, w]) =>
      b.op('Conv', [x!, w!], { auto_pad: attr.string('SAME_UPPER'), strides: ints([2, 2]) }),
  },
  {
    rule: 'ConvTranspose',
    label: 'stride 2, pad 1, output_padding 1',
    operands: [...x1([2, 3, 4, 4]), { name: 'w', dims: [3, 2, 3, 3] }, { name: 'b', dims: [2] }],
    forward: (b, [x, w, c]) =>
      b.op('ConvTranspose', [x!, w!, c!], {
        strides: ints([2, 2]),
        pads: ints([1, 1, 1, 1]),
        output_padding: ints([1, 1]),
      }),
  },
  {
    rule: 'ConvTranspose',
    label: 'group 2, dilation 2, stride (2,1)',
    operands: [...x1([1, 4, 3, 4]), { name: 'w', dims: [4, 3, 2, 3] }],
    forward: (b, [x, w]) =>
      b.op('ConvTranspose', [x!, w!], {
        group: int(2),
        dilations: ints([2, 2]),
        strides: ints([2, 1]),
        pads: ints([0, 1, 1, 0]),
      }),
  },
  // ---------------------------------------------------------------- Gemm / MatMul
  ...[0, 1].flatMap((ta) =>
    [0, 1].map((tb): RuleCase => ({
      rule: 'Gemm',
      label: `transA=${ta} transB=${tb}, α=0.7 β=1.3, C [5]`,
      operands: [
        { name: 'a', dims: ta ? [4, 3] : [3, 4] },
        { name: 'b', dims: tb ? [5, 4] : [4, 5] },
        { name: 'c', dims: [5] },
      ],
      forward: (b, [a, w, c]) =>
        b.op('Gemm', [a!, w!, c!], {
          transA: int(ta),
          transB: int(tb),
          alpha: attr.float(0.7),
          beta: attr.float(1.3),
        }),
    })),
  ),
  ...[[3, 1], [1, 5], [3, 5], []].map((cDims): RuleCase => ({
    rule: 'Gemm',
    label: `batch input, C [${cDims.join(',')}]`,
    operands: [...x1([3, 4]), { name: 'b', dims: [5, 4] }, { name: 'c', dims: cDims }],
    forward: (b, [a, w, c]) => b.op('Gemm', [a!, w!, c!], { transB: int(1) }),
  })),
  {
    rule: 'MatMul',
    label: '2-D',
    operands: [...x1([2, 3]), { name: 'w', dims: [3, 4] }],
    forward: (b, [a, w]) => b.op('MatMul', [a!, w!]),
  },
  {
    rule: 'MatMul',
    label: 'batched × 2-D',
    operands: [...x1([2, 3, 4]), { name: 'w', dims: [4, 5] }],
    forward: (b, [a, w]) => b.op('MatMul', [a!, w!]),
  },
  {
    rule: 'MatMul',
    label: 'both batched, broadcast',
    operands: [
      { name: 'a', dims: [2, 1, 3, 4] },
      { name: 'w', dims: [3, 4, 2] },
    ],
    forward: (b, [a, w]) => b.op('MatMul', [a!, w!]),
  },
  {
    rule: 'MatMul',
    label: '1-D right',
    operands: [...x1([2, 4]), { name: 'w', dims: [4] }],
    forward: (b, [a, w]) => b.op('MatMul', [a!, w!]),
  },
  {
    rule: 'MatMul',
    label: '1-D left',
    operands: [
      { name: 'a', dims: [4] },
      { name: 'w', dims: [4, 3] },
    ],
    forward: (b, [a, w]) => b.op('MatMul', [a!, w!]),
  },
  // ---------------------------------------------------------------- elementwise with broadcasting
  {
    rule: 'Add',
    label: '[N,3,4,4] + [3,1,1]',
    operands: [...x1([2, 3, 4, 4]), { name: 'y', dims: [3, 1, 1] }],
    forward: (b, [x, y]) => b.op('Add', [x!, y!]),
  },
  { rule: 'Add', label: 'fan-out x + x', operands: x1([2, 3]), forward: (b, [x]) => b.op('Add', [x!, x!]) },
  {
    rule: 'Sub',
    label: '[N,3] − [3]',
    operands: [...x1([2, 3]), { name: 'y', dims: [3] }],
    forward: (b, [x, y]) => b.op('Sub', [x!, y!]),
  },
  {
    rule: 'Sub',
    label: '[1,3] − [N,3]',
    operands: [{ name: 'y', dims: [1, 3] }, ...x1([2, 3])],
    forward: (b, [y, x]) => b.op('Sub', [y!, x!]),
  },
  {
    rule: 'Mul',
    label: '[N,3,4] · [1,3,1]',
    operands: [...x1([2, 3, 4]), { name: 'y', dims: [1, 3, 1] }],
    forward: (b, [x, y]) => b.op('Mul', [x!, y!]),
  },
  {
    rule: 'Div',
    label: '[N,3] / [1,3]',
    operands: [...x1([2, 3]), { name: 'y', dims: [1, 3], values: positive }],
    forward: (b, [x, y]) => b.op('Div', [x!, y!]),
  },
  {
    rule: 'Div',
    label: '[3] / [N,3]',
    operands: [
      { name: 'y', dims: [3] },
      { name: 'x', dims: [2, 3], batch: true, values: positive },
    ],
    forward: (b, [y, x]) => b.op('Div', [y!, x!]),
  },
  // ---------------------------------------------------------------- activations
  {
    rule: 'Relu',
    label: '',
    operands: x1([2, 3, 4], awayFrom([0])),
    forward: (b, [x]) => b.op('Relu', [x!]),
  },
  {
    rule: 'LeakyRelu',
    label: 'α=0.2',
    operands: x1([2, 3, 4], awayFrom([0])),
    forward: (b, [x]) => b.op('LeakyRelu', [x!], { alpha: attr.float(0.2) }),
  },
  {
    rule: 'Clip',
    label: 'ReLU6 (min/max inputs)',
    operands: x1([2, 3, 4], awayFrom([0, 6], 4, 3)),
    forward: (b, [x]) => b.op('Clip', [x!, b.constFloat('lo', [], [0]), b.constFloat('hi', [], [6])]),
  },
  {
    rule: 'Clip',
    label: 'max only',
    operands: x1([2, 5], awayFrom([0.5])),
    forward: (b, [x]) => b.op('Clip', [x!, '', b.constFloat('hi', [], [0.5])]),
  },
  { rule: 'Sigmoid', label: '', operands: x1([2, 5]), forward: (b, [x]) => b.op('Sigmoid', [x!]) },
  { rule: 'Tanh', label: '', operands: x1([2, 5]), forward: (b, [x]) => b.op('Tanh', [x!]) },
  {
    rule: 'HardSigmoid',
    label: 'α=0.2 β=0.5',
    operands: x1([2, 6], awayFrom([-2.5, 2.5], 3)),
    forward: (b, [x]) => b.op('HardSigmoid', [x!], { alpha: attr.float(0.2), beta: attr.float(0.5) }),
  },
  {
    rule: 'HardSwish',
    label: '',
    operands: x1([2, 8], awayFrom([-3, 3], 3)),
    forward: (b, [x]) => b.op('HardSwish', [x!]),
  },
  {
    rule: 'Softmax',
    label: 'axis 1 of [N,5]',
    operands: x1([2, 5]),
    forward: (b, [x]) => b.op('Softmax', [x!], { axis: int(1) }),
  },
  {
    rule: 'Softmax',
    label: 'axis -1 of [N,3,4]',
    operands: x1([2, 3, 4]),
    forward: (b, [x]) => b.op('Softmax', [x!], { axis: int(-1) }),
  },
  {
    rule: 'LogSoftmax',
    label: 'axis 1',
    operands: x1([2, 5]),
    forward: (b, [x]) => b.op('LogSoftmax', [x!], { axis: int(1) }),
  },
  // ---------------------------------------------------------------- pools and normalisation
  {
    rule: 'MaxPool',
    label: 'k2 s2',
    operands: x1([2, 2, 4, 4], distinct),
    forward: (b, [x]) => b.op('MaxPool', [x!], { kernel_shape: ints([2, 2]), strides: ints([2, 2]) }),
  },
  {
    rule: 'MaxPool',
    label: 'k3 s2 pad 1 (overlapping)',
    operands: x1([1, 2, 7, 7], distinct),
    forward: (b, [x]) =>
      b.op('MaxPool', [x!], { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) }),
  },
  {
    rule: 'MaxPool',
    label: 'k3 s2 ceil_mode',
    operands: x1([1, 1, 6, 6], distinct),
    forward: (b, [x]) =>
      b.op('MaxPool', [x!], { kernel_shape: ints([3, 3]), strides: ints([2, 2]), ceil_mode: int(1) }),
  },
  {
    rule: 'AveragePool',
    label: 'k2 s2',
    operands: x1([2, 2, 4, 4]),
    forward: (b, [x]) => b.op('AveragePool', [x!], { kernel_shape: ints([2, 2]), strides: ints([2, 2]) }),
  },
  ...[0, 1].map((include): RuleCase => ({
    rule: 'AveragePool',
    label: `k3 s2 pad 1, count_include_pad=${include}`,
    operands: x1([1, 2, 7, 6]),
    forward: (b, [x]) =>
      b.op('AveragePool', [x!], {
        kernel_shape: ints([3, 3]),
        strides: ints([2, 2]),
        pads: ints([1, 1, 1, 1]),
        count_include_pad: int(include),
      }),
  })),
  {
    rule: 'AveragePool',
    label: 'k3 s2 ceil_mode',
    operands: x1([1, 1, 6, 6]),
    forward: (b, [x]) =>
      b.op('AveragePool', [x!], { kernel_shape: ints([3, 3]), strides: ints([2, 2]), ceil_mode: int(1) }),
  },
  {
    rule: 'GlobalAveragePool',
    label: '',
    operands: x1([2, 3, 3, 4]),
    forward: (b, [x]) => b.op('GlobalAveragePool', [x!]),
  },
  {
    rule: 'BatchNormalization',
    label: 'inference mode, scale and bias',
    operands: [...x1([2, 3, 3, 3]), { name: 'scale', dims: [3] }, { name: 'bias', dims: [3] }],
    forward: (b, [x, s, c]) =>
      b.op(
        'BatchNormalization',
        [x!, s!, c!, b.constFloat('mean', [3], [0.2, -0.1, 0.4]), b.constFloat('var', [3], [0.5, 1.5, 2])],
        { epsilon: attr.float(1e-3) },
      ),
  },
  {
    rule: 'BatchNormalization',
    label: '[N,C] input',
    operands: [...x1([2, 4]), { name: 'scale', dims: [4] }, { name: 'bias', dims: [4] }],
    forward: (b, [x, s, c]) =>
      b.op('BatchNormalization', [
        x!,
        s!,
        c!,
        b.constFloat('mean', [4], [0.2, -0.1, 0.4, 0]),
        b.constFloat('var', [4], [0.5, 1.5, 2, 1]),
      ]),
  },
  // ---------------------------------------------------------------- shape operators
  {
    rule: 'Flatten',
    label: 'axis 1',
    operands: x1([2, 3, 2, 2]),
    forward: (b, [x]) => b.op('Flatten', [x!], { axis: int(1) }),
  },
  {
    rule: 'Reshape',
    label: '[0, 2, -1]',
    operands: x1([2, 3, 4]),
    forward: (b, [x]) => b.op('Reshape', [x!, b.constInt64('shape', [0, 2, -1])]),
  },
  {
    rule: 'Transpose',
    label: 'perm [2,0,1]',
    operands: x1([2, 3, 4]),
    forward: (b, [x]) => b.op('Transpose', [x!], { perm: ints([2, 0, 1]) }),
  },
  {
    rule: 'Concat',
    label: 'axis 1',
    operands: [
      { name: 'x', dims: [2, 2, 3], batch: true },
      { name: 'y', dims: [2, 4, 3], batch: true },
    ],
    forward: (b, [x, y]) => b.op('Concat', [x!, y!], { axis: int(1) }),
  },
  {
    rule: 'Split',
    label: 'sizes [1,2,3], middle output unused',
    operands: x1([2, 6, 2]),
    forward: (b, [x]) => {
      const [p, , r] = b.opN('Split', [x!, b.constInt64('split', [1, 2, 3])], 3, { axis: int(1) });
      return [p!, r!];
    },
  },
  {
    rule: 'Slice',
    label: 'axes [1,2], negative start',
    operands: x1([2, 5, 6]),
    forward: (b, [x]) =>
      b.op('Slice', [
        x!,
        b.constInt64('starts', [1, -4]),
        b.constInt64('ends', [4, 100]),
        b.constInt64('axes', [1, 2]),
      ]),
  },
  {
    rule: 'Squeeze',
    label: 'axes [1]',
    operands: x1([2, 1, 3]),
    forward: (b, [x]) => b.op('Squeeze', [x!, b.constInt64('axes', [1])]),
  },
  {
    rule: 'Unsqueeze',
    label: 'axes [1, -1]',
    operands: x1([2, 3]),
    forward: (b, [x]) => b.op('Unsqueeze', [x!, b.constInt64('axes', [1, -1])]),
  },
  {
    rule: 'Pad',
    label: 'constant, positive and negative pads',
    operands: x1([2, 2, 4, 4]),
    forward: (b, [x]) =>
      b.op('Pad', [x!, b.constInt64('pads', [0, 0, 1, -1, 0, 0, 2, 1])], { mode: attr.string('constant') }),
  },
  { rule: 'Dropout', label: 'inference', operands: x1([2, 3]), forward: (b, [x]) => b.op('Dropout', [x!]) },
  {
    rule: 'Dropout',
    label: 'ratio and training_mode=false inputs',
    operands: x1([2, 3]),
    forward: (b, [x]) =>
      b.op('Dropout', [
        x!,
        b.constFloat('ratio', [], [0.5]),
        b.initializer({ name: 'mode', dims: [], dataType: DataType.BOOL, data: Uint8Array.from([0]) }),
      ]),
  },
  { rule: 'Identity', label: '', operands: x1([2, 3]), forward: (b, [x]) => b.op('Identity', [x!]) },
  {
    rule: 'Constant',
    label: 'x · Constant',
    operands: x1([2, 3]),
    forward: (b, [x]) =>
      b.op('Mul', [
        x!,
        b.op('Constant', [], {
          value: attr.tensor({
            name: 'k',
            dims: [3],
            dataType: DataType.FLOAT,
            data: Float32Array.from([1, -2, 3]),
          }),
        }),
      ]),
  },
  // ---------------------------------------------------------------- opset 11/12 forms (upgraded to 13)
  {
    rule: 'Squeeze',
    label: 'opset 11, axes attribute',
    opset: 11,
    operands: x1([2, 1, 3]),
    forward: (b, [x]) => b.op('Squeeze', [x!], { axes: ints([1]) }),
  },
  {
    rule: 'Unsqueeze',
    label: 'opset 11, axes attribute',
    opset: 11,
    operands: x1([2, 3]),
    forward: (b, [x]) => b.op('Unsqueeze', [x!], { axes: ints([0, 3]) }),
  },
  {
    rule: 'Split',
    label: 'opset 11, split attribute',
    opset: 11,
    operands: x1([2, 5]),
    forward: (b, [x]) => b.opN('Split', [x!], 2, { axis: int(1), split: ints([2, 3]) }),
  },
  {
    rule: 'Softmax',
    label: 'opset 11, coerced 2-D over [N,2,3]',
    opset: 11,
    operands: x1([2, 2, 3]),
    forward: (b, [x]) => b.op('Softmax', [x!]),
  },
  {
    rule: 'LogSoftmax',
    label: 'opset 12, axis -1',
    opset: 12,
    operands: x1([2, 5]),
    forward: (b, [x]) => b.op('LogSoftmax', [x!], { axis: int(-1) }),
  },
  {
    rule: 'Dropout',
    label: 'opset 11, ratio attribute',
    opset: 11,
    operands: x1([2, 3]),
    forward: (b, [x]) => b.op('Dropout', [x!], { ratio: attr.float(0.3) }),
  },
];

function unwrapOk<T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

const worst = new Map<string, { err: number; label: string }>();

async function checkCase(c: RuleCase, seed: number): Promise<number> {
  const rng = new Rng(seed);
  const b = new GraphBuilder();
  const names = c.operands.map((o) =>
    b.input(o.name, DataType.FLOAT, o.batch ? ['batch', ...o.dims.slice(1)] : [...o.dims]),
  );
  const produced = c.forward(b, names);
  const outputs = Array.isArray(produced) ? produced : [produced];
  for (const o of outputs) b.output(o, DataType.FLOAT);
  const model: Model = b.build(`${c.rule}-case`, c.opset);
  const vjp = unwrapOk(buildVjpGraph(model, outputs, names));
  const session = unwrapOk(await createSession(vjp.model));

  // Concrete output shapes: the inferred ones with the batch of the batched operand.
  const batch = c.operands.find((o) => o.batch)?.dims[0] ?? 1;
  const info = inferShapes(model.graph);
  const outDims = outputs.map((o) => info.shapes.get(o)!.map((d) => (d === 'batch' ? batch : d)));

  const values = c.operands.map((o) => (o.values ?? normal)(rng, elementCount(o.dims)));
  const seeds = outDims.map((dims) => normal(rng, elementCount(dims)));
  const feeds = (): Record<string, ort.Tensor> => {
    const f: Record<string, ort.Tensor> = {};
    c.operands.forEach((o, i) => (f[o.name] = new ort.Tensor('float32', values[i]!, [...o.dims])));
    vjp.seedNames.forEach((s, i) => (f[s] = new ort.Tensor('float32', seeds[i]!, outDims[i]!)));
    return f;
  };
  const loss = async (): Promise<number> => {
    const out = await session.run(feeds());
    let total = 0;
    outputs.forEach((o, k) => {
      const y = out[o]!.data as Float32Array;
      for (let j = 0; j < y.length; j++) total += y[j]! * seeds[k]![j]!;
    });
    return total;
  };

  const base = await session.run(feeds());
  if (c.opset !== undefined && c.opset < 13) {
    // The upgraded graph must compute what the original computes.
    const original = unwrapOk(await createSession(model));
    const f: Record<string, ort.Tensor> = {};
    c.operands.forEach((o, i) => (f[o.name] = new ort.Tensor('float32', values[i]!, [...o.dims])));
    const out = await original.run(f);
    for (const o of outputs)
      expect(Array.from(base[o]!.data as Float32Array)).toEqual(Array.from(out[o]!.data as Float32Array));
    await original.release();
  }
  let worstErr = 0;
  for (let i = 0; i < c.operands.length; i++) {
    const grad = base[vjp.gradNames[i]!]!.data as Float32Array;
    const x = values[i]!;
    expect(grad.length).toBe(x.length);
    const stride = Math.max(1, Math.ceil(x.length / MAX_ELEMENTS));
    let diff = 0;
    let norm = 0;
    for (let j = 0; j < x.length; j += stride) {
      const keep = x[j]!;
      x[j] = keep + EPS;
      const up = x[j]!;
      const lPlus = await loss();
      x[j] = keep - EPS;
      const down = x[j]!;
      const lMinus = await loss();
      x[j] = keep;
      const fd = (lPlus - lMinus) / (up - down);
      diff += (grad[j]! - fd) ** 2;
      norm += fd ** 2;
    }
    const err = Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-6);
    worstErr = Math.max(worstErr, err);
  }
  await session.release();
  return worstErr;
}

describe('backward rules agree with finite differences', () => {
  cases.forEach((c, n) => {
    it(`${c.rule}${c.label ? ` (${c.label})` : ''}`, async () => {
      const err = await checkCase(c, 100 + n);
      const prev = worst.get(c.rule);
      if (!prev || err > prev.err) worst.set(c.rule, { err, label: c.label });
      expect(err).toBeLessThan(c.bound ?? 2e-3);
    });
  });

  it('every rule in the table has a case here', () => {
    const tested = new Set(cases.map((c) => c.rule));
    expect(Object.keys(RULES).filter((r) => !tested.has(r))).toEqual([]);
  });

  afterAll(() => {
    for (const [rule, { err, label }] of [...worst].sort()) {
      console.log(
        `[autodiff fd] ${rule.padEnd(18)} max rel err ${err.toExponential(2)}${label ? `  (worst: ${label})` : ''}`,
      );
    }
  });
});
