/**
 * Static shape inference over the operators WeightSep supports. Every dimension is a fixed size
 * except the batch, which stays symbolic ('batch') so one training graph serves every batch size.
 * The backward rules need these shapes for what ONNX fixes in attributes (ConvTranspose
 * output_padding, broadcast axes, Slice bounds), so anything that cannot be known statically is an
 * E_AUTODIFF failure with the node named.
 */
import { WsepFailure, raise } from '../core/errors.ts';
import { attrInt, attrInts, elementCount, type Graph, type Node, type Tensor } from '../onnx/types.ts';
import { poolCeilMode, windowGeometry } from './geometry.ts';

export type SymDim = number | 'batch';
export type Shape = readonly SymDim[];

export interface ShapeInfo {
  /** The shape of every value whose shape could be inferred. */
  readonly shapes: ReadonlyMap<string, Shape>;
  /** Values known at build time (initializers, Constant nodes), as plain numbers. */
  readonly constants: ReadonlyMap<string, readonly number[]>;
  /** Why a value has no shape, when inference failed on the way to it (raised when it is needed). */
  readonly failures: ReadonlyMap<string, WsepFailure>;
}

export function shapeText(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

function where(node: Node): string {
  return `node "${node.name}" (${node.opType})`;
}

function tensorNumbers(t: Tensor): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

/** Product of dims as (fixed factor, has batch). */
function product(dims: Shape): { fixed: number; batch: boolean } {
  let fixed = 1;
  let batch = false;
  for (const d of dims) {
    if (d === 'batch') batch = true;
    else fixed *= d;
  }
  return { fixed, batch };
}

/** A flattened size that must stay representable: a fixed number, or exactly the batch. */
function flatDim(dims: Shape, node: Node): SymDim {
  const p = product(dims);
  if (!p.batch) return p.fixed;
  if (p.fixed === 1) return 'batch';
  return raise(
    'E_AUTODIFF',
    `${where(node)} merges the batch with other axes (batch × ${p.fixed}); WeightSep keeps the batch axis separate.`,
  );
}

export function broadcastShapes(a: Shape, b: Shape, node: Node): Shape {
  const rank = Math.max(a.length, b.length);
  const out: SymDim[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else raise('E_AUTODIFF', `${where(node)} cannot broadcast ${shapeText(a)} with ${shapeText(b)}.`);
  }
  return out;
}

export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Fixed spatial dims of an N×C×spatial value. */
function spatial(shape: Shape, node: Node): number[] {
  return shape
    .slice(2)
    .map((d) =>
      typeof d === 'number' ? d : raise('E_AUTODIFF', `${where(node)} has a symbolic spatial dimension.`),
    );
}

export interface SliceSpec {
  /** Normalised, clamped start and end per axis (step 1 only). */
  readonly starts: number[];
  readonly ends: number[];
  readonly steps: number[];
}

/** Resolves Slice's inputs against a shape; the batch axis may only be taken whole. */
export function sliceSpec(
  node: Node,
  shape: Shape,
  constants: ReadonlyMap<string, readonly number[]>,
): SliceSpec {
  const get = (i: number): readonly number[] | undefined => {
    const name = node.inputs[i];
    if (!name) return undefined;
    const v = constants.get(name);
    if (!v) raise('E_AUTODIFF', `${where(node)}: input ${i} ("${name}") must be a constant.`);
    return v;
  };
  const startsIn = get(1) ?? attrInts(node, 'starts', []);
  const endsIn = get(2) ?? attrInts(node, 'ends', []);
  const axesIn =
    get(3) ??
    attrInts(
      node,
      'axes',
      startsIn.map((_, i) => i),
    );
  const stepsIn = get(4) ?? startsIn.map(() => 1);
  const starts = shape.map(() => 0);
  const ends = shape.map((d) => (d === 'batch' ? Number.MAX_SAFE_INTEGER : d));
  const steps = shape.map(() => 1);
  axesIn.forEach((a, i) => {
    const axis = normAxis(a, shape.length);
    const size = shape[axis]!;
    const step = stepsIn[i]!;
    if (step !== 1)
      raise('E_AUTODIFF', `${where(node)}: only step 1 is supported (got ${step} on axis ${axis}).`);
    if (size === 'batch') {
      if (startsIn[i] !== 0 || endsIn[i]! < 2 ** 31 - 1)
        raise('E_AUTODIFF', `${where(node)} slices the batch axis; only the whole batch can be taken.`);
      return;
    }
    const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + size : v, 0), size);
    starts[axis] = clamp(startsIn[i]!);
    ends[axis] = Math.max(clamp(endsIn[i]!), starts[axis]);
    steps[axis] = step;
  });
  return { starts, ends, steps };
}

/** Split sizes along the axis, from the `split` input/attribute or an even split. */
export function splitSizes(
  node: Node,
  shape: Shape,
  constants: ReadonlyMap<string, readonly number[]>,
): { axis: number; sizes: number[] } {
  const axis = normAxis(attrInt(node, 'axis', 0), shape.length);
  const size = shape[axis];
  if (typeof size !== 'number') raise('E_AUTODIFF', `${where(node)} splits the batch axis.`);
  const fromInput = node.inputs[1] ? constants.get(node.inputs[1]) : undefined;
  if (node.inputs[1] && !fromInput)
    raise('E_AUTODIFF', `${where(node)}: the split sizes must be a constant.`);
  const given = fromInput ?? attrInts(node, 'split', []);
  if (given.length > 0) return { axis, sizes: [...given] };
  const parts = node.outputs.length;
  const each = Math.ceil(size / parts);
  return {
    axis,
    sizes: Array.from({ length: parts }, (_, i) => Math.max(0, Math.min(each, size - i * each))),
  };
}

/** Axes of Squeeze/Unsqueeze: an input from opset 13, an attribute before. */
function axesOf(
  node: Node,
  constants: ReadonlyMap<string, readonly number[]>,
): readonly number[] | undefined {
  const name = node.inputs[1];
  if (name) {
    const v = constants.get(name);
    if (!v) raise('E_AUTODIFF', `${where(node)}: the axes must be a constant.`);
    return v;
  }
  const a = node.attributes['axes'];
  return a && a.type === 'ints' ? a.value : undefined;
}

/** Pads of a Pad node as [begin..., end...] over all axes (from opset 11 an input, before an attribute). */
export function padAmounts(
  node: Node,
  rank: number,
  constants: ReadonlyMap<string, readonly number[]>,
): number[] {
  const name = node.inputs[1];
  const raw = name ? constants.get(name) : attrInts(node, 'pads', []);
  if (!raw) return raise('E_AUTODIFF', `${where(node)}: the pads must be a constant.`);
  const axesName = node.inputs[3];
  if (!axesName) return [...raw];
  const axes = constants.get(axesName);
  if (!axes) return raise('E_AUTODIFF', `${where(node)}: the axes must be a constant.`);
  const full = new Array<number>(2 * rank).fill(0);
  axes.forEach((a, i) => {
    const axis = normAxis(a, rank);
    full[axis] = raw[i]!;
    full[axis + rank] = raw[i + axes.length]!;
  });
  return full;
}

/** The output shape(s) of one node, or undefined for operators this module does not know. */
function inferNode(
  node: Node,
  shapeOf: (name: string) => Shape,
  constants: ReadonlyMap<string, readonly number[]>,
): Shape[] | undefined {
  const x = (): Shape => shapeOf(node.inputs[0]!);
  switch (node.opType) {
    case 'Relu':
    case 'LeakyRelu':
    case 'Clip':
    case 'Sigmoid':
    case 'Tanh':
    case 'HardSigmoid':
    case 'HardSwish':
    case 'Softmax':
    case 'LogSoftmax':
    case 'Identity':
    case 'BatchNormalization':
      return [x()];
    case 'Dropout':
      return node.outputs.map(() => x());
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div':
      return [broadcastShapes(x(), shapeOf(node.inputs[1]!), node)];
    case 'Conv': {
      const xs = x();
      const ws = shapeOf(node.inputs[1]!) as number[];
      const g = windowGeometry(node, spatial(xs, node), ws.slice(2));
      return [[xs[0]!, ws[0]!, ...g.out]];
    }
    case 'ConvTranspose': {
      const xs = x();
      const ws = shapeOf(node.inputs[1]!) as number[];
      const sp = spatial(xs, node);
      const group = attrInt(node, 'group', 1);
      const given = attrInts(node, 'output_shape', []);
      if (given.length > 0) return [[xs[0]!, ws[1]! * group, ...given]];
      const strides = attrInts(
        node,
        'strides',
        sp.map(() => 1),
      );
      const dil = attrInts(
        node,
        'dilations',
        sp.map(() => 1),
      );
      const pads = attrInts(node, 'pads', [...sp.map(() => 0), ...sp.map(() => 0)]);
      const op = attrInts(
        node,
        'output_padding',
        sp.map(() => 0),
      );
      const autoPad = node.attributes['auto_pad'];
      const same = autoPad?.type === 'string' && autoPad.value.startsWith('SAME');
      const out = sp.map((h, i) =>
        same
          ? h * strides[i]!
          : strides[i]! * (h - 1) + op[i]! + (ws[i + 2]! - 1) * dil[i]! + 1 - pads[i]! - pads[i + sp.length]!,
      );
      return [[xs[0]!, ws[1]! * group, ...out]];
    }
    case 'MaxPool':
    case 'AveragePool': {
      const xs = x();
      const g = windowGeometry(
        node,
        spatial(xs, node),
        attrInts(node, 'kernel_shape', []),
        poolCeilMode(node),
      );
      const shape = [xs[0]!, xs[1]!, ...g.out];
      return node.outputs.map(() => shape);
    }
    case 'GlobalAveragePool': {
      const xs = x();
      return [[xs[0]!, xs[1]!, ...xs.slice(2).map(() => 1)]];
    }
    case 'Gemm': {
      const a = x();
      const b = shapeOf(node.inputs[1]!);
      const m = attrInt(node, 'transA', 0) ? a[1]! : a[0]!;
      const n = attrInt(node, 'transB', 0) ? b[0]! : b[1]!;
      return [[m, n]];
    }
    case 'MatMul': {
      const a = x();
      const b = shapeOf(node.inputs[1]!);
      const a2 = a.length === 1 ? [1, a[0]!] : a;
      const b2 = b.length === 1 ? [b[0]!, 1] : b;
      const batch = broadcastShapes(a2.slice(0, -2), b2.slice(0, -2), node);
      const out: SymDim[] = [...batch];
      if (a.length > 1) out.push(a2[a2.length - 2]!);
      if (b.length > 1) out.push(b2[b2.length - 1]!);
      return [out];
    }
    case 'Flatten': {
      const xs = x();
      const axis = normAxis(attrInt(node, 'axis', 1), xs.length);
      return [[flatDim(xs.slice(0, axis), node), flatDim(xs.slice(axis), node)]];
    }
    case 'Reshape': {
      const xs = x();
      const target = constants.get(node.inputs[1]!);
      if (!target) return raise('E_AUTODIFF', `${where(node)}: the target shape must be a constant.`);
      const allowZero = attrInt(node, 'allowzero', 0) === 1;
      const dims: SymDim[] = target.map((d, i) => (d === 0 && !allowZero ? xs[i]! : d));
      const total = product(xs);
      const known = product(dims.filter((d) => d !== -1));
      const unknown = dims.indexOf(-1);
      if (unknown >= 0) {
        const fixed = total.fixed / known.fixed;
        if (!Number.isInteger(fixed))
          raise('E_AUTODIFF', `${where(node)} cannot reshape ${shapeText(xs)} to [${target.join(', ')}].`);
        if (total.batch === known.batch) dims[unknown] = fixed;
        else if (fixed === 1) dims[unknown] = 'batch';
        else
          raise(
            'E_AUTODIFF',
            `${where(node)} merges the batch with other axes when reshaping ${shapeText(xs)} to [${target.join(', ')}].`,
          );
      } else if (total.batch !== known.batch || total.fixed !== known.fixed) {
        raise(
          'E_AUTODIFF',
          `${where(node)} cannot reshape ${shapeText(xs)} to [${target.join(', ')}] with a symbolic batch.`,
        );
      }
      return [dims];
    }
    case 'Transpose': {
      const xs = x();
      const perm = attrInts(
        node,
        'perm',
        xs.map((_, i) => xs.length - 1 - i),
      );
      return [perm.map((p) => xs[p]!)];
    }
    case 'Concat': {
      const shapes = node.inputs.map(shapeOf);
      const axis = normAxis(attrInt(node, 'axis', 0), shapes[0]!.length);
      const out = [...shapes[0]!];
      const sizes = shapes.map((s) => s[axis]!);
      if (sizes.some((s) => s === 'batch'))
        raise('E_AUTODIFF', `${where(node)} concatenates along the batch axis.`);
      out[axis] = (sizes as number[]).reduce((a, b) => a + b, 0);
      return [out];
    }
    case 'Split': {
      const xs = x();
      const { axis, sizes } = splitSizes(node, xs, constants);
      return sizes.map((s) => xs.map((d, i) => (i === axis ? s : d)));
    }
    case 'Slice': {
      const xs = x();
      const spec = sliceSpec(node, xs, constants);
      return [xs.map((d, i) => (d === 'batch' ? d : spec.ends[i]! - spec.starts[i]!))];
    }
    case 'Squeeze': {
      const xs = x();
      const axes = axesOf(node, constants)?.map((a) => normAxis(a, xs.length));
      return [xs.filter((d, i) => (axes ? !axes.includes(i) : d !== 1))];
    }
    case 'Unsqueeze': {
      const xs = x();
      const raw = axesOf(node, constants) ?? [];
      const rank = xs.length + raw.length;
      const axes = raw.map((a) => normAxis(a, rank));
      const out: SymDim[] = [];
      let j = 0;
      for (let i = 0; i < rank; i++) out.push(axes.includes(i) ? 1 : xs[j++]!);
      return [out];
    }
    case 'Pad': {
      const xs = x();
      const pads = padAmounts(node, xs.length, constants);
      return [
        xs.map((d, i) =>
          d === 'batch'
            ? pads[i] || pads[i + xs.length]
              ? raise('E_AUTODIFF', `${where(node)} pads the batch axis.`)
              : d
            : d + pads[i]! + pads[i + xs.length]!,
        ),
      ];
    }
    case 'Constant': {
      const a = node.attributes['value'];
      if (a?.type === 'tensor') return [a.value.dims];
      const list = node.attributes['value_floats'] ?? node.attributes['value_ints'];
      if (list && (list.type === 'floats' || list.type === 'ints')) return [[list.value.length]];
      return [[]];
    }
    default:
      return undefined;
  }
}

/** Build-time values of Constant nodes (for shapes, axes and Clip bounds). */
function constantValue(node: Node): number[] | undefined {
  const a = node.attributes['value'];
  if (a?.type === 'tensor') return tensorNumbers(a.value);
  for (const key of ['value_float', 'value_int']) {
    const v = node.attributes[key];
    if (v && (v.type === 'float' || v.type === 'int')) return [v.value];
  }
  for (const key of ['value_floats', 'value_ints']) {
    const v = node.attributes[key];
    if (v && (v.type === 'floats' || v.type === 'ints')) return [...v.value];
  }
  return undefined;
}

/**
 * Infers shapes for every value reachable from the graph's inputs and initializers. Graph inputs
 * keep axis 0 symbolic when it is not a number; any other symbolic axis is an error.
 */
export function inferShapes(graph: Graph): ShapeInfo {
  const shapes = new Map<string, Shape>();
  const constants = new Map<string, readonly number[]>();
  for (const t of graph.initializers) {
    shapes.set(t.name, [...t.dims]);
    if (elementCount(t.dims) <= 64) constants.set(t.name, tensorNumbers(t));
  }
  for (const input of graph.inputs) {
    if (shapes.has(input.name)) continue;
    if (!input.shape) raise('E_AUTODIFF', `Input "${input.name}" has no recorded shape.`);
    shapes.set(
      input.name,
      input.shape.map((d, axis) => {
        if (typeof d === 'number' && d > 0) return d;
        if (axis === 0) return 'batch';
        return raise(
          'E_AUTODIFF',
          `Input "${input.name}" axis ${axis} is not a fixed size; only the batch (axis 0) may be symbolic.`,
        );
      }),
    );
  }
  const failures = new Map<string, WsepFailure>();
  const shapeOf = (name: string): Shape => {
    const s = shapes.get(name);
    const failure = failures.get(name);
    if (failure) throw failure;
    if (!s)
      raise(
        'E_AUTODIFF',
        `The shape of "${name}" is unknown (it is produced by an operator WeightSep cannot infer).`,
      );
    return s;
  };
  for (const node of graph.nodes) {
    if (node.opType === 'Constant') {
      const v = constantValue(node);
      if (v) constants.set(node.outputs[0]!, v);
    }
    const known = node.inputs.filter((n) => n !== '').every((n) => shapes.has(n));
    if (!known) {
      const failed = node.inputs.find((n) => failures.has(n));
      if (failed) for (const name of node.outputs) if (name) failures.set(name, failures.get(failed)!);
      continue;
    }
    let out: Shape[] | undefined;
    try {
      out = inferNode(node, shapeOf, constants);
    } catch (thrown) {
      // A node that cannot be inferred only matters if something needs its outputs' shapes:
      // remember why, and raise it then (a model may carry odd nodes off the gradient path).
      if (!(thrown instanceof WsepFailure)) throw thrown;
      for (const name of node.outputs) if (name) failures.set(name, thrown);
      continue;
    }
    if (!out) continue;
    node.outputs.forEach((name, i) => {
      if (name && out[i]) shapes.set(name, out[i]);
    });
  }
  return { shapes, constants, failures };
}
