/**
 * An ONNX graph as the firmware's layer list: the zoo models are chains of Conv, Gemm, MaxPool, Relu,
 * LeakyRelu and Flatten, which become one record each (Flatten and Identity become nothing: activations
 * are CHW in C order, so flattening moves no value). Weight and bias positions are offsets in the
 * model's weight vector (page space), taken from the bundle's tensor list.
 */
import { fail, ok, type Result } from '../core/errors.ts';
import { attrFloat, attrInt, attrInts, attrString, type Model, type Node } from '../onnx/types.ts';

export const OP = { conv2d: 1, gemm: 2, maxpool: 3, relu: 4, leakyRelu: 5 } as const;
export type LayerOp = keyof typeof OP;
export const NO_BIAS = 0xffffffff;
export const MAX_KERNEL = 16;

export interface Layer {
  readonly op: LayerOp;
  readonly in: readonly [number, number, number];
  readonly out: readonly [number, number, number];
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  /** Top and left padding (bottom and right follow from the output shape). */
  readonly pad: readonly [number, number];
  readonly weightOffset: number;
  readonly biasOffset: number;
  readonly alpha: number;
}

export interface ModelLayers {
  readonly input: readonly [number, number, number];
  readonly classes: number;
  readonly layers: readonly Layer[];
  /** Largest activation (values), input included: the size of each ping-pong buffer. */
  readonly activationValues: number;
  readonly macs: number;
}

export interface TensorPlace {
  readonly name: string;
  readonly offset: number;
  readonly length: number;
}

type Chw = readonly [number, number, number];
const size = (s: Chw): number => s[0] * s[1] * s[2];

/** The model's per-sample input shape as CHW (a feature vector is [n, 1, 1]). */
function chw(shape: readonly number[]): Chw | undefined {
  if (shape.length === 1) return [shape[0]!, 1, 1];
  if (shape.length === 2) return [shape[0]!, 1, shape[1]!];
  if (shape.length === 3) return [shape[0]!, shape[1]!, shape[2]!];
  return undefined;
}

export function compileLayers(
  model: Model,
  io: { inputName: string; inputShape: readonly number[]; outputName: string; classes: number },
  tensors: readonly TensorPlace[],
): Result<ModelLayers> {
  const unsupported = (node: Node, why: string): Result<never> =>
    fail(
      'E_MCU_UNSUPPORTED',
      `Node "${node.name || node.opType}" (${node.opType}) cannot run on the firmware: ${why}.`,
      'The firmware runs chains of Conv, Gemm (transB=1), MaxPool, Relu, LeakyRelu and Flatten, as the zoo models use.',
    );
  const start = chw(io.inputShape);
  if (!start)
    return fail('E_MCU_UNSUPPORTED', `Input shape [${io.inputShape.join(', ')}] has more than 3 axes.`);
  const places = new Map(tensors.map((t) => [t.name, t]));
  let shape: Chw = start;
  let value = io.inputName;
  let activationValues = size(shape);
  let macs = 0;
  const layers: Layer[] = [];
  const base = {
    kernel: [1, 1],
    stride: [1, 1],
    pad: [0, 0],
    weightOffset: 0,
    biasOffset: NO_BIAS,
    alpha: 0,
  } as const;
  for (const node of model.graph.nodes) {
    if (node.inputs[0] !== value)
      return unsupported(node, `it does not take the previous node's output "${value}" (not a chain)`);
    const weight = (i: number, length: number): Result<number> => {
      const name = node.inputs[i];
      if (name === undefined || name === '') return ok(NO_BIAS);
      const place = places.get(name);
      if (!place) return unsupported(node, `input "${name}" is not a weight of the bundle`);
      if (place.length !== length)
        return unsupported(node, `weight "${name}" has ${place.length} values, expected ${length}`);
      return ok(place.offset);
    };
    let layer: Layer | undefined;
    switch (node.opType) {
      case 'Conv': {
        const [kh, kw] = attrInts(node, 'kernel_shape', []);
        const [sh, sw] = attrInts(node, 'strides', [1, 1]);
        const [pt, pl, pb, pr] = attrInts(node, 'pads', [0, 0, 0, 0]);
        const dil = attrInts(node, 'dilations', [1, 1]);
        if (kh === undefined || kw === undefined || sh === undefined || sw === undefined)
          return unsupported(node, 'it is not a 2-D convolution with a kernel_shape');
        if (attrInt(node, 'group', 1) !== 1 || dil.some((d) => d !== 1))
          return unsupported(node, 'groups and dilations other than 1 are not supported');
        if (attrString(node, 'auto_pad', 'NOTSET') !== 'NOTSET')
          return unsupported(node, 'auto_pad is not supported (export with explicit pads)');
        const [t, l, b, r] = [pt ?? 0, pl ?? 0, pb ?? 0, pr ?? 0];
        if (kh > MAX_KERNEL || kw > MAX_KERNEL || t >= kh || l >= kw || b >= kh || r >= kw)
          return unsupported(node, `kernels up to ${MAX_KERNEL} with padding smaller than the kernel`);
        const w = places.get(node.inputs[1] ?? '');
        if (!w) return unsupported(node, 'its weight is not a weight of the bundle');
        const outC = w.length / (shape[0] * kh * kw);
        if (!Number.isInteger(outC)) return unsupported(node, 'its weight does not match its input channels');
        const out: Chw = [
          outC,
          Math.floor((shape[1] + t + b - kh) / sh) + 1,
          Math.floor((shape[2] + l + r - kw) / sw) + 1,
        ];
        const bias = weight(2, outC);
        if (!bias.ok) return bias;
        layer = {
          ...base,
          op: 'conv2d',
          in: shape,
          out,
          kernel: [kh, kw],
          stride: [sh, sw],
          pad: [t, l],
          weightOffset: w.offset,
          biasOffset: bias.value,
        };
        macs += size(out) * shape[0] * kh * kw;
        break;
      }
      case 'Gemm': {
        if (attrInt(node, 'transA', 0) !== 0 || attrInt(node, 'transB', 0) !== 1)
          return unsupported(node, 'only transA=0, transB=1 (weights [out, in]) is supported');
        if (attrFloat(node, 'alpha', 1) !== 1 || attrFloat(node, 'beta', 1) !== 1)
          return unsupported(node, 'alpha and beta must be 1');
        const w = places.get(node.inputs[1] ?? '');
        if (!w) return unsupported(node, 'its weight is not a weight of the bundle');
        const outN = w.length / size(shape);
        if (!Number.isInteger(outN)) return unsupported(node, 'its weight does not match its input size');
        const bias = weight(2, outN);
        if (!bias.ok) return bias;
        layer = {
          ...base,
          op: 'gemm',
          in: shape,
          out: [outN, 1, 1],
          weightOffset: w.offset,
          biasOffset: bias.value,
        };
        macs += outN * size(shape);
        break;
      }
      case 'MaxPool': {
        const [kh, kw] = attrInts(node, 'kernel_shape', []);
        const [sh, sw] = attrInts(node, 'strides', [1, 1]);
        if (kh === undefined || kw === undefined || sh === undefined || sw === undefined)
          return unsupported(node, 'it is not a 2-D pool with a kernel_shape');
        if (attrInts(node, 'pads', [0, 0, 0, 0]).some((p) => p !== 0) || attrInt(node, 'ceil_mode', 0) !== 0)
          return unsupported(node, 'padding and ceil_mode are not supported');
        if (
          attrInts(node, 'dilations', [1, 1]).some((d) => d !== 1) ||
          attrString(node, 'auto_pad', 'NOTSET') !== 'NOTSET'
        )
          return unsupported(node, 'dilations and auto_pad are not supported');
        const out: Chw = [
          shape[0],
          Math.floor((shape[1] - kh) / sh) + 1,
          Math.floor((shape[2] - kw) / sw) + 1,
        ];
        layer = { ...base, op: 'maxpool', in: shape, out, kernel: [kh, kw], stride: [sh, sw] };
        break;
      }
      case 'Relu':
        layer = { ...base, op: 'relu', in: shape, out: shape };
        break;
      case 'LeakyRelu':
        layer = { ...base, op: 'leakyRelu', in: shape, out: shape, alpha: attrFloat(node, 'alpha', 0.01) };
        break;
      case 'Flatten':
        if (attrInt(node, 'axis', 1) !== 1) return unsupported(node, 'only axis=1 is supported');
        shape = [size(shape), 1, 1];
        break;
      case 'Identity':
      case 'Dropout':
        break;
      default:
        return unsupported(node, 'the operator has no firmware kernel');
    }
    if (layer) {
      if (layer.out.some((d) => !Number.isInteger(d) || d < 1))
        return unsupported(node, 'its output would be empty');
      layers.push(layer);
      shape = layer.out;
      activationValues = Math.max(activationValues, size(shape));
    }
    value = node.outputs[0] ?? '';
  }
  if (value !== io.outputName)
    return fail(
      'E_MCU_UNSUPPORTED',
      `The chain ends in "${value}", not the model's output "${io.outputName}".`,
    );
  if (size(shape) !== io.classes)
    return fail(
      'E_MCU_UNSUPPORTED',
      `The chain ends with ${size(shape)} values, not the ${io.classes} classes.`,
    );
  return ok({ input: start, classes: io.classes, layers, activationValues, macs });
}
