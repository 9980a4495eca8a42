/**
 * A small layer API that writes standard ONNX (opset 17) through the GraphBuilder.
 *
 * Every layer takes a `Value` (a tensor name plus its per-sample shape, channels first, batch left
 * out) and returns the next one, so that branches (residuals, concatenation, channel split) read
 * as plainly as a straight stack. The builder tracks shapes itself, so layers take no shape
 * arguments, and it initialises weights from a seed so the same seed always gives the same bytes.
 *
 * Naming: a layer's parameters are named `<layer>.weight`, `<layer>.bias` (BatchNormalization adds
 * `.running_mean`/`.running_var`), where `<layer>` is the name given, prefixed by the open scopes
 * (`block2.bn` inside `scope('block2', …)`). Activations get readable names too (`conv1.out`).
 */
import { raise } from '../core/errors.ts';
import { Rng } from '../core/rng.ts';
import { GraphBuilder, attr, floatTensor } from '../onnx/builder.ts';
import { DataType, elementCount, type Attribute, type Model } from '../onnx/types.ts';
import { selectWeights } from '../onnx/weights.ts';

/** A tensor in the graph: its name and its shape per sample (channels first; the batch is left out). */
export interface Value {
  readonly name: string;
  readonly shape: readonly number[];
}

/**
 * How a layer's kernel is initialised. `he` (Kaiming normal, fan-in) suits ReLU-family layers;
 * `lecun` (std 1/√fan-in) suits the logits layer and sigmoid/tanh; `glorot` is Xavier normal.
 */
export type Init = 'he' | 'lecun' | 'glorot';

/** One line of the architecture summary: what a layer is and what it costs. */
export interface LayerRecord {
  /** Scoped layer name, e.g. `block2.conv1`, or the op for parameter-free layers. */
  readonly name: string;
  /** Short kind, e.g. `conv`, `dwconv`, `dense`, `maxpool`, `relu`. */
  readonly kind: string;
  /** Compact description used in tables, e.g. `c3×3·16` or `pool2`. */
  readonly label: string;
  readonly outShape: readonly number[];
  /** Learned weights the layer adds (kernel + bias, or BN γ + β). */
  readonly weights: number;
  /** Multiply–accumulates per sample (conv and dense only; cheap element-wise ops count 0). */
  readonly macs: number;
}

export interface ConvOptions {
  /** Kernel size: one number for square kernels, or [kh, kw] (e.g. [1, 7] for a 1-D conv over time). */
  readonly kernel: number | readonly [number, number];
  readonly stride?: number | readonly [number, number];
  /** Padding: one number for all sides, [ph, pw] for symmetric, [top, left, bottom, right] as ONNX, or 'same' (stride 1 only). */
  readonly pad?: number | readonly [number, number] | readonly [number, number, number, number] | 'same';
  readonly dilation?: number | readonly [number, number];
  readonly groups?: number;
  /** Default true; convs followed by batch norm usually go without. */
  readonly bias?: boolean;
  readonly init?: Init;
}

export interface DenseOptions {
  readonly bias?: boolean;
  readonly init?: Init;
}

export interface PoolOptions {
  readonly stride?: number | readonly [number, number];
  readonly pad?: number | readonly [number, number] | readonly [number, number, number, number];
  /** Round the output size up instead of down (SqueezeNet's pools do). */
  readonly ceilMode?: boolean;
}

/** The name of every zoo model's output: [batch, classes], no softmax. */
export const LOGITS = 'logits';

type Pair = readonly [number, number];

function pair(v: number | Pair): Pair {
  return typeof v === 'number' ? [v, v] : v;
}

/** ONNX pads order: [top, left, bottom, right]. */
function pads4(
  v: number | Pair | readonly [number, number, number, number],
): readonly [number, number, number, number] {
  if (typeof v === 'number') return [v, v, v, v];
  if (v.length === 2) return [v[0], v[1], v[0], v[1]];
  return v;
}

function times(s: Pair): string {
  return s[0] === s[1] ? `${s[0]}×${s[0]}` : `${s[0]}×${s[1]}`;
}

/** Output length of a sliding window (conv or pool) along one axis. */
function windowOut(
  size: number,
  kernel: number,
  stride: number,
  padBegin: number,
  padEnd: number,
  dilation = 1,
  ceil = false,
): number {
  const span = size + padBegin + padEnd - dilation * (kernel - 1) - 1;
  const out = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  // A last ceil-mode window that would start inside the end padding is kept by ONNX shape inference
  // but dropped by onnxruntime's kernels (and PyTorch), measured with onnxruntime-node 1.30: refuse
  // that case rather than build a model whose declared and actual shapes differ.
  if (ceil && (out - 1) * stride >= size + padBegin)
    raise(
      'E_USAGE',
      `Ceil-mode pooling over ${size} cells with these pads is ambiguous in ONNX; use smaller pads.`,
    );
  return out;
}

export class ModelBuilder {
  readonly graph = new GraphBuilder();
  readonly layers: LayerRecord[] = [];
  private readonly rng: Rng;
  private readonly scopes: string[] = [];
  private readonly layerNames = new Set<string>();
  private readonly constants = new Map<string, string>();
  private inputValue: Value | undefined;

  /**
   * @param name model (graph) name
   * @param seed initialisation seed: the same seed gives byte-identical models
   */
  constructor(
    readonly name: string,
    seed: number,
  ) {
    this.rng = new Rng(seed);
    this.graph.reserve([LOGITS]);
  }

  // ---- structure ---------------------------------------------------------------------------

  /** The data input `input`, shape [batch, ...shape]. */
  input(shape: readonly number[], name = 'input'): Value {
    if (this.inputValue) raise('E_USAGE', `Model "${this.name}" already has an input.`);
    if (shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d <= 0))
      raise('E_USAGE', `Input shape [${shape.join(', ')}] must be positive integers.`);
    this.graph.input(name, DataType.FLOAT, ['batch', ...shape]);
    this.inputValue = { name, shape: [...shape] };
    return this.inputValue;
  }

  /** Runs `body` with `name` prefixed to every layer name inside it (`block2.conv1`). */
  scope<T>(name: string, body: () => T): T {
    this.scopes.push(name);
    try {
      return body();
    } finally {
      this.scopes.pop();
    }
  }

  /**
   * Declares `x` (shape [classes]) as the output `logits` and returns the model. No softmax: losses
   * and argmax work on logits, and the planner's Fisher head adds its own log-softmax.
   */
  finish(x: Value): Model {
    if (x.shape.length !== 1)
      raise(
        'E_USAGE',
        `The logits must be [batch, classes]; got per-sample shape [${x.shape.join(', ')}]. Flatten first.`,
      );
    // Rename the last layer's output to `logits` rather than adding an Identity node, so the graph
    // holds only real layers (the MCU firmware and the autodiff see no no-op nodes).
    const nodes = this.graph.nodes;
    const producer = nodes.findIndex((n) => n.outputs.includes(x.name));
    if (producer < 0) raise('E_USAGE', `Model "${this.name}" has no layer that produces its logits.`);
    const rename = (names: readonly string[]) => names.map((n) => (n === x.name ? LOGITS : n));
    for (let i = producer; i < nodes.length; i++)
      nodes[i] = { ...nodes[i]!, inputs: rename(nodes[i]!.inputs), outputs: rename(nodes[i]!.outputs) };
    const outputs = this.graph.outputs;
    for (let i = 0; i < outputs.length; i++) if (outputs[i]!.name === x.name) outputs.splice(i--, 1);
    this.graph.output(LOGITS, DataType.FLOAT, ['batch', x.shape[0]!]);
    // Name each node after its first output (`conv1.out`, `logits`): unique, and it says where the node sits.
    for (let i = 0; i < nodes.length; i++) nodes[i] = { ...nodes[i]!, name: nodes[i]!.outputs[0]! };
    return this.graph.build(this.name);
  }

  // ---- learned layers ----------------------------------------------------------------------

  /** 2-D convolution (NCHW). Use kernel [1, k] on [C, 1, T] inputs for 1-D convolution over time. */
  conv(name: string, x: Value, outChannels: number, o: ConvOptions): Value {
    const [c, h, w] = this.chw(x, `Conv "${name}"`);
    const k = pair(o.kernel);
    const s = pair(o.stride ?? 1);
    const d = pair(o.dilation ?? 1);
    const groups = o.groups ?? 1;
    if (c % groups !== 0 || outChannels % groups !== 0)
      raise('E_USAGE', `Conv "${name}": ${c} → ${outChannels} channels do not divide into ${groups} groups.`);
    let p: readonly [number, number, number, number];
    if (o.pad === 'same') {
      if (s[0] !== 1 || s[1] !== 1) raise('E_USAGE', `Conv "${name}": pad 'same' needs stride 1.`);
      const th = d[0] * (k[0] - 1);
      const tw = d[1] * (k[1] - 1);
      p = [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
    } else p = pads4(o.pad ?? 0);
    const oh = windowOut(h, k[0], s[0], p[0], p[2], d[0]);
    const ow = windowOut(w, k[1], s[1], p[1], p[3], d[1]);
    if (oh <= 0 || ow <= 0)
      raise(
        'E_USAGE',
        `Conv "${name}": a ${times(k)} kernel does not fit its [${x.shape.join(', ')}] input (${h}×${w} map).`,
      );
    const full = this.layerName(name);
    const fanIn = (c / groups) * k[0] * k[1];
    const wName = this.graph.initializer(
      floatTensor(
        `${full}.weight`,
        [outChannels, c / groups, k[0], k[1]],
        this.kernel(outChannels * fanIn, fanIn, outChannels * k[0] * k[1], o.init ?? 'he'),
      ),
    );
    const inputs = [x.name, wName];
    const bias = o.bias ?? true;
    if (bias)
      inputs.push(
        this.graph.initializer(floatTensor(`${full}.bias`, [outChannels], new Float32Array(outChannels))),
      );
    const attributes: Record<string, Attribute> = {
      kernel_shape: attr.ints(k),
      strides: attr.ints(s),
      pads: attr.ints(p),
      dilations: attr.ints(d),
      group: attr.int(groups),
    };
    const out = this.graph.op('Conv', inputs, attributes, `${full}.out`);
    const depthwise = groups === c && groups > 1;
    const weights = outChannels * fanIn + (bias ? outChannels : 0);
    let label = `${depthwise ? 'dw' : 'c'}${times(k)}${s[0] > 1 || s[1] > 1 ? `/${s[0] === s[1] ? s[0] : times(s)}` : ''}·${outChannels}`;
    if (groups > 1 && !depthwise) label += `g${groups}`;
    return this.record(
      full,
      depthwise ? 'dwconv' : 'conv',
      label,
      { name: out, shape: [outChannels, oh, ow] },
      weights,
      oh * ow * outChannels * fanIn,
    );
  }

  /** Depthwise convolution: one k×k filter per channel (groups = channels). */
  depthwiseConv(name: string, x: Value, o: Omit<ConvOptions, 'groups'>): Value {
    const c = x.shape[0]!;
    return this.conv(name, x, c, { ...o, groups: c });
  }

  /** Fully connected layer: Gemm(x, W, b) with W stored [out, in] (transB = 1), as PyTorch stores it. */
  dense(name: string, x: Value, units: number, o: DenseOptions = {}): Value {
    if (x.shape.length !== 1)
      raise(
        'E_USAGE',
        `Dense "${name}" needs a flat input; got [${x.shape.join(', ')}]. Add flatten() first.`,
      );
    const inUnits = x.shape[0]!;
    const full = this.layerName(name);
    const wName = this.graph.initializer(
      floatTensor(
        `${full}.weight`,
        [units, inUnits],
        this.kernel(units * inUnits, inUnits, units, o.init ?? 'he'),
      ),
    );
    const inputs = [x.name, wName];
    const bias = o.bias ?? true;
    if (bias)
      inputs.push(this.graph.initializer(floatTensor(`${full}.bias`, [units], new Float32Array(units))));
    const out = this.graph.op('Gemm', inputs, { transB: attr.int(1) }, `${full}.out`);
    return this.record(
      full,
      'dense',
      `fc${units}`,
      { name: out, shape: [units] },
      units * inUnits + (bias ? units : 0),
      units * inUnits,
    );
  }

  /** Batch normalisation in inference form: γ = 1, β = 0, running mean 0, running variance 1. */
  batchNorm(name: string, x: Value, epsilon = 1e-5): Value {
    const c = x.shape[0]!;
    const full = this.layerName(name);
    const ones = new Float32Array(c).fill(1);
    const inputs = [
      this.graph.initializer(floatTensor(`${full}.weight`, [c], ones)),
      this.graph.initializer(floatTensor(`${full}.bias`, [c], new Float32Array(c))),
      this.graph.initializer(floatTensor(`${full}.running_mean`, [c], new Float32Array(c))),
      this.graph.initializer(floatTensor(`${full}.running_var`, [c], ones.slice())),
    ];
    const out = this.graph.op(
      'BatchNormalization',
      [x.name, ...inputs],
      { epsilon: attr.float(epsilon) },
      `${full}.out`,
    );
    return this.record(full, 'bn', 'bn', { name: out, shape: x.shape }, 2 * c, 0);
  }

  // ---- activations -------------------------------------------------------------------------

  relu(x: Value): Value {
    return this.unary('Relu', 'relu', x);
  }

  leakyRelu(x: Value, alpha = 0.1): Value {
    return this.unary('LeakyRelu', 'lrelu', x, { alpha: attr.float(alpha) });
  }

  /** ReLU6 = Clip(x, 0, 6); min and max are constant inputs since opset 11 (not weights). */
  relu6(x: Value): Value {
    const lo = this.constant('clip_min', [0], true);
    const hi = this.constant('clip_max', [6], true);
    const out = this.graph.op('Clip', [x.name, lo, hi], {}, this.valueHint(x, 'relu6'));
    return this.record('Clip', 'relu6', 'relu6', { name: out, shape: x.shape }, 0, 0);
  }

  sigmoid(x: Value): Value {
    return this.unary('Sigmoid', 'sigmoid', x);
  }

  tanh(x: Value): Value {
    return this.unary('Tanh', 'tanh', x);
  }

  hardSwish(x: Value): Value {
    return this.unary('HardSwish', 'hswish', x);
  }

  /** HardSigmoid as PyTorch defines it (relu6(x + 3) / 6): the gate of MobileNetV3's SE blocks. */
  hardSigmoid(x: Value): Value {
    return this.unary('HardSigmoid', 'hsigmoid', x, { alpha: attr.float(1 / 6), beta: attr.float(0.5) });
  }

  /** Swish / SiLU = x · sigmoid(x), written as Sigmoid + Mul (both plain operators). */
  swish(x: Value): Value {
    const gate = this.graph.op('Sigmoid', [x.name], {}, this.valueHint(x, 'sigmoid'));
    return this.multiply(x, { name: gate, shape: x.shape }, 'swish');
  }

  /**
   * Dropout is a training-time regulariser only: the exported graph is the inference graph, so no
   * node is written (ONNX Dropout is the identity at inference). Kept as a call so that
   * architectures read like their papers; the rate is recorded in the layer summary.
   */
  dropout(x: Value, rate: number): Value {
    this.layers.push({
      name: 'dropout',
      kind: 'dropout',
      label: `drop${rate}`,
      outShape: x.shape,
      weights: 0,
      macs: 0,
    });
    return x;
  }

  // ---- pooling and reshaping ---------------------------------------------------------------

  maxPool(x: Value, kernel: number | Pair, o: PoolOptions = {}): Value {
    return this.pool('MaxPool', 'maxpool', x, kernel, o);
  }

  /** Average pooling; padded cells are not counted (count_include_pad = 0). */
  avgPool(x: Value, kernel: number | Pair, o: PoolOptions = {}): Value {
    return this.pool('AveragePool', 'avgpool', x, kernel, o);
  }

  /** Mean over the spatial axes: [C, H, W] → [C, 1, 1]. */
  globalAvgPool(x: Value): Value {
    const [c] = this.chw(x, 'globalAvgPool');
    const out = this.graph.op('GlobalAveragePool', [x.name], {}, this.valueHint(x, 'gap'));
    return this.record('GlobalAveragePool', 'gap', 'gap', { name: out, shape: [c, 1, 1] }, 0, 0);
  }

  /** [C, H, W] → [C·H·W], keeping the batch axis. */
  flatten(x: Value): Value {
    if (x.shape.length === 1) return x;
    const out = this.graph.op('Flatten', [x.name], { axis: attr.int(1) }, this.valueHint(x, 'flat'));
    return this.record('Flatten', 'flatten', 'flatten', { name: out, shape: [elementCount(x.shape)] }, 0, 0);
  }

  // ---- merging and splitting branches -------------------------------------------------------

  /** Residual (element-wise) addition of two branches of the same shape. */
  add(a: Value, b: Value, hint = 'add'): Value {
    this.sameShape(a, b, 'add');
    const out = this.graph.op('Add', [a.name, b.name], {}, this.valueHint(a, hint));
    return this.record('Add', 'add', '+', { name: out, shape: a.shape }, 0, 0);
  }

  /** Element-wise product; `b` may broadcast per channel ([C, 1, 1]), as squeeze-excitation gates do. */
  multiply(a: Value, b: Value, hint = 'mul'): Value {
    const broadcast =
      b.shape.length === a.shape.length &&
      b.shape[0] === a.shape[0] &&
      b.shape.slice(1).every((d) => d === 1);
    if (!broadcast) this.sameShape(a, b, 'multiply');
    const out = this.graph.op('Mul', [a.name, b.name], {}, this.valueHint(a, hint));
    return this.record('Mul', 'mul', '×', { name: out, shape: a.shape }, 0, 0);
  }

  /** Concatenation along channels (axis 1 of the batched tensor). */
  concat(values: readonly Value[], hint = 'cat'): Value {
    if (values.length === 0) raise('E_USAGE', 'concat needs at least one input.');
    const rest = values[0]!.shape.slice(1).join('×');
    for (const v of values)
      if (v.shape.slice(1).join('×') !== rest)
        raise(
          'E_USAGE',
          `concat: spatial shapes differ ([${v.shape.join(', ')}] vs [${values[0]!.shape.join(', ')}]).`,
        );
    const channels = values.reduce((sum, v) => sum + v.shape[0]!, 0);
    const out = this.graph.op(
      'Concat',
      values.map((v) => v.name),
      { axis: attr.int(1) },
      this.valueHint(values[0]!, hint),
    );
    return this.record(
      'Concat',
      'concat',
      'cat',
      { name: out, shape: [channels, ...values[0]!.shape.slice(1)] },
      0,
      0,
    );
  }

  /**
   * Splits the channels into consecutive parts (Split, opset 13+ form with a `split` input).
   * `sizes` defaults to two equal halves, as ShuffleNetV2 uses.
   */
  channelSplit(x: Value, sizes?: readonly number[]): Value[] {
    const c = x.shape[0]!;
    const parts = sizes ?? [c / 2, c / 2];
    if (parts.some((p) => !Number.isInteger(p) || p <= 0) || parts.reduce((a, b) => a + b, 0) !== c)
      raise('E_USAGE', `channelSplit: sizes [${parts.join(', ')}] do not split ${c} channels.`);
    const split = this.constant('split_sizes', parts);
    const outs = this.graph.opN(
      'Split',
      [x.name, split],
      parts.length,
      { axis: attr.int(1) },
      this.valueHint(x, 'part'),
    );
    this.layers.push({
      name: 'Split',
      kind: 'split',
      label: 'split',
      outShape: [parts[0]!, ...x.shape.slice(1)],
      weights: 0,
      macs: 0,
    });
    return outs.map((name, i) => ({ name, shape: [parts[i]!, ...x.shape.slice(1)] }));
  }

  /**
   * ShuffleNet's channel shuffle: [N, g·k, H, W] → reshape [N, g, k, H, W] → swap g and k → back.
   * Reshape's 0 copies the (dynamic) batch size.
   */
  channelShuffle(x: Value, groups: number): Value {
    const [c, h, w] = this.chw(x, 'channelShuffle');
    if (c % groups !== 0)
      raise('E_USAGE', `channelShuffle: ${c} channels do not divide into ${groups} groups.`);
    const split = this.graph.op(
      'Reshape',
      [x.name, this.constant('shuffle_shape', [0, groups, c / groups, h, w])],
      {},
      this.valueHint(x, 'grouped'),
    );
    const swapped = this.graph.op(
      'Transpose',
      [split],
      { perm: attr.ints([0, 2, 1, 3, 4]) },
      this.valueHint(x, 'swapped'),
    );
    const out = this.graph.op(
      'Reshape',
      [swapped, this.constant('shuffle_back', [0, c, h, w])],
      {},
      this.valueHint(x, 'shuffled'),
    );
    return this.record('ChannelShuffle', 'shuffle', `shuffle${groups}`, { name: out, shape: x.shape }, 0, 0);
  }

  // ---- summary -----------------------------------------------------------------------------

  /** Multiply–accumulates per sample over all layers. */
  get macs(): number {
    return this.layers.reduce((sum, l) => sum + l.macs, 0);
  }

  /** Learned weights so far, by the layer records (equals the selectWeights count of the built model). */
  get weightCount(): number {
    return this.layers.reduce((sum, l) => sum + l.weights, 0);
  }

  // ---- internals ---------------------------------------------------------------------------

  private unary(opType: string, kind: string, x: Value, attributes: Record<string, Attribute> = {}): Value {
    const out = this.graph.op(opType, [x.name], attributes, this.valueHint(x, kind));
    return this.record(opType, kind, kind, { name: out, shape: x.shape }, 0, 0);
  }

  private pool(opType: string, kind: string, x: Value, kernel: number | Pair, o: PoolOptions): Value {
    const [c, h, w] = this.chw(x, `${opType} "${this.valueHint(x, kind)}"`);
    const k = pair(kernel);
    const s = pair(o.stride ?? kernel);
    const p = pads4(o.pad ?? 0);
    const ceil = o.ceilMode ?? false;
    const oh = windowOut(h, k[0], s[0], p[0], p[2], 1, ceil);
    const ow = windowOut(w, k[1], s[1], p[1], p[3], 1, ceil);
    if (oh <= 0 || ow <= 0)
      raise(
        'E_USAGE',
        `${opType} "${this.valueHint(x, kind)}": a ${times(k)} window does not fit its [${x.shape.join(', ')}] input (${h}×${w} map).`,
      );
    const attributes: Record<string, Attribute> = {
      kernel_shape: attr.ints(k),
      strides: attr.ints(s),
      pads: attr.ints(p),
    };
    if (ceil) attributes['ceil_mode'] = attr.int(1);
    const out = this.graph.op(opType, [x.name], attributes, this.valueHint(x, kind));
    const label = `${kind === 'maxpool' ? 'pool' : 'avg'}${k[0] === k[1] ? k[0] : times(k)}${s[0] !== k[0] || s[1] !== k[1] ? `/${s[0] === s[1] ? s[0] : times(s)}` : ''}`;
    return this.record(opType, kind, label, { name: out, shape: [c, oh, ow] }, 0, 0);
  }

  private record(
    name: string,
    kind: string,
    label: string,
    out: Value,
    weights: number,
    macs: number,
  ): Value {
    this.layers.push({ name, kind, label, outShape: out.shape, weights, macs });
    return out;
  }

  /** Scoped, unique layer name: a repeated name is a bug in the architecture, so it throws. */
  private layerName(name: string): string {
    const full = [...this.scopes, name].join('.');
    if (this.layerNames.has(full))
      raise('E_USAGE', `Layer name "${full}" is used twice in model "${this.name}".`);
    this.layerNames.add(full);
    return full;
  }

  /**
   * A readable name for a parameter-free op's output. Inside a scope it is `<scope>.<kind>`
   * (`layer2.0.relu`, `stage3.1.cat`); at the top level it follows the producing layer
   * (`conv1.relu`, `conv2.maxpool`). Repeats get a numeric suffix from the graph builder.
   */
  private valueHint(x: Value, kind: string): string {
    if (this.scopes.length > 0) return `${this.scopes.join('.')}.${kind}`;
    const base = x.name.endsWith('.out') ? x.name.slice(0, -4) : x.name.replace(/\.[a-z0-9_]+$/i, '');
    return `${base}.${kind}`;
  }

  /** Shape and size constants (int64, or float scalars for Clip), shared by every op that needs the same value. */
  private constant(hint: string, values: readonly number[], floatScalar = false): string {
    const key = `${floatScalar ? 'f' : 'i'}:${values.join(',')}`;
    let name = this.constants.get(key);
    if (name === undefined) {
      name = floatScalar ? this.graph.constFloat(hint, [], values) : this.graph.constInt64(hint, values);
      this.constants.set(key, name);
    }
    return name;
  }

  private chw(x: Value, what: string): [number, number, number] {
    if (x.shape.length !== 3)
      raise('E_USAGE', `${what} needs a [C, H, W] input; got [${x.shape.join(', ')}].`);
    return [x.shape[0]!, x.shape[1]!, x.shape[2]!];
  }

  private sameShape(a: Value, b: Value, what: string): void {
    if (a.shape.join('×') !== b.shape.join('×'))
      raise('E_USAGE', `${what}: shapes differ ([${a.shape.join(', ')}] vs [${b.shape.join(', ')}]).`);
  }

  /** Normal samples with the standard deviation the init scheme asks for. */
  private kernel(size: number, fanIn: number, fanOut: number, init: Init): Float32Array {
    const std =
      init === 'he'
        ? Math.sqrt(2 / fanIn)
        : init === 'lecun'
          ? Math.sqrt(1 / fanIn)
          : Math.sqrt(2 / (fanIn + fanOut));
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) data[i] = this.rng.normal() * std;
    return data;
  }
}

/** The number of learned weights of a model, as the planner counts them (selectWeights). */
export function countWeights(model: Model): number {
  return selectWeights(model).reduce((sum, t) => sum + elementCount(t.dims), 0);
}

/** A model together with its builder's layer records (for tables, FLOPs and docs). */
export interface BuiltModel {
  readonly model: Model;
  readonly layers: readonly LayerRecord[];
  /** Learned weights (selectWeights count). */
  readonly weights: number;
  /** Multiply–accumulates per sample; FLOPs ≈ 2 × MACs. */
  readonly macs: number;
}

/**
 * Builds a model from an architecture function: `define` receives a fresh builder and the input
 * value and returns the logits value ([classes]).
 */
export function buildModel(
  name: string,
  inputShape: readonly number[],
  seed: number,
  define: (b: ModelBuilder, x: Value) => Value,
): BuiltModel {
  const b = new ModelBuilder(name, seed);
  const model = b.finish(define(b, b.input(inputShape)));
  const weights = countWeights(model);
  if (weights !== b.weightCount)
    raise(
      'E_INTERNAL',
      `Model "${name}": builder counted ${b.weightCount} weights, selectWeights ${weights}.`,
    );
  return { model, layers: [...b.layers], weights, macs: b.macs };
}

/** A compact one-line description of the learned layers, e.g. `c5×5·16-pool2-c5×5·32-pool2-fc100-fc10`. */
export function describeLayers(layers: readonly LayerRecord[]): string {
  const shown = new Set(['conv', 'dwconv', 'dense', 'maxpool', 'avgpool', 'gap']);
  return layers
    .filter((l) => shown.has(l.kind))
    .map((l) => l.label)
    .join('-');
}
