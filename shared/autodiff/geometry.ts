/**
 * Window geometry of Conv, ConvTranspose and the pools: strides, dilations and explicit pads
 * (auto_pad resolved), and output sizes. Shape inference and the backward rules both read it, so the
 * two can never disagree about where a window sits.
 */
import { raise } from '../core/errors.ts';
import { attrInt, attrInts, attrString, type Node } from '../onnx/types.ts';

export interface WindowGeometry {
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  readonly dilations: readonly number[];
  /** Explicit pads at the start of each spatial axis (auto_pad resolved). */
  readonly padsBegin: readonly number[];
  readonly padsEnd: readonly number[];
  /** Output spatial sizes. */
  readonly out: readonly number[];
}

function fill(values: readonly number[], n: number, fallback: number): number[] {
  return values.length === n ? [...values] : Array.from({ length: n }, () => fallback);
}

/**
 * Geometry of a sliding window (Conv or a pool) over `input` spatial sizes with `kernel` sizes.
 * `ceilMode` follows onnxruntime's pools: the last window must start inside the input or its
 * leading pad.
 */
export function windowGeometry(
  node: Node,
  input: readonly number[],
  kernel: readonly number[],
  ceilMode = false,
): WindowGeometry {
  const n = input.length;
  const strides = fill(attrInts(node, 'strides', []), n, 1);
  const dilations = fill(attrInts(node, 'dilations', []), n, 1);
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const pads = attrInts(node, 'pads', []);
  const padsBegin: number[] = [];
  const padsEnd: number[] = [];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const size = input[i]!;
    const span = (kernel[i]! - 1) * dilations[i]! + 1;
    let begin = 0;
    let end = 0;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      const target = Math.ceil(size / strides[i]!);
      const total = Math.max(0, (target - 1) * strides[i]! + span - size);
      const small = Math.floor(total / 2);
      begin = autoPad === 'SAME_UPPER' ? small : total - small;
      end = total - begin;
    } else if (autoPad === 'NOTSET') {
      begin = pads.length === 2 * n ? pads[i]! : 0;
      end = pads.length === 2 * n ? pads[i + n]! : 0;
    } else if (autoPad !== 'VALID') {
      raise('E_AUTODIFF', `Node "${node.name}" (${node.opType}) has an unknown auto_pad "${autoPad}".`);
    }
    const room = size + begin + end - span;
    if (room < 0) {
      raise(
        'E_AUTODIFF',
        `Node "${node.name}" (${node.opType}): the window (${span}) is larger than the padded input (${size + begin + end}) on spatial axis ${i}.`,
      );
    }
    let o = ceilMode ? Math.ceil(room / strides[i]!) + 1 : Math.floor(room / strides[i]!) + 1;
    if (ceilMode && (o - 1) * strides[i]! >= size + begin) o -= 1;
    padsBegin.push(begin);
    padsEnd.push(end);
    out.push(o);
  }
  return { kernel: [...kernel], strides, dilations, padsBegin, padsEnd, out };
}

export function poolCeilMode(node: Node): boolean {
  return attrInt(node, 'ceil_mode', 0) === 1;
}

/**
 * Pads and output_padding for a ConvTranspose that maps an output-sized gradient back onto an input
 * of `target` sizes: the transpose covers `s(o−1) + span − begin` positions; extra positions are
 * cropped with the end pad, missing ones (rows no window touched) are added with output_padding.
 */
export function transposeFit(
  geometry: WindowGeometry,
  target: readonly number[],
): { padsEnd: number[]; outputPadding: number[] } {
  const padsEnd: number[] = [];
  const outputPadding: number[] = [];
  for (let i = 0; i < target.length; i++) {
    const span = (geometry.kernel[i]! - 1) * geometry.dilations[i]! + 1;
    const covered = geometry.strides[i]! * (geometry.out[i]! - 1) + span - geometry.padsBegin[i]!;
    padsEnd.push(Math.max(0, covered - target[i]!));
    outputPadding.push(Math.max(0, target[i]! - covered));
  }
  return { padsEnd, outputPadding };
}
