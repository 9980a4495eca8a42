/**
 * The vocabulary the backward rules write in: a GraphBuilder plus the forward shapes, with the few
 * idioms every rule needs (undo a broadcast, reshape like a forward value, constants). Anything that
 * depends on the batch size is computed at run time from `Shape(value)`, so the graph keeps a
 * symbolic batch.
 */
import { raise } from '../core/errors.ts';
import { attr, type GraphBuilder } from '../onnx/builder.ts';
import type { Attribute } from '../onnx/types.ts';
import type { Shape, ShapeInfo } from './shapes.ts';

export class Emitter {
  private readonly runtimeShapes = new Map<string, string>();
  private readonly floatConstants = new Map<number, string>();
  private readonly intConstants = new Map<string, string>();

  constructor(
    readonly b: GraphBuilder,
    readonly info: ShapeInfo,
  ) {}

  op(
    opType: string,
    inputs: readonly string[],
    attributes: Record<string, Attribute> = {},
    hint?: string,
  ): string {
    return this.b.op(opType, inputs, attributes, hint);
  }

  /** The static shape of a forward value (gradients have the shape of their value). */
  shape(name: string): Shape {
    const s = this.info.shapes.get(name);
    const failure = this.info.failures.get(name);
    if (failure) throw failure;
    if (!s) raise('E_AUTODIFF', `The shape of "${name}" is unknown; its gradient cannot be built.`);
    return s;
  }

  /** Fixed dims of a value that has no batch axis (weights, per-channel parameters). */
  fixedShape(name: string): number[] {
    return this.shape(name).map((d) =>
      typeof d === 'number'
        ? d
        : raise('E_AUTODIFF', `"${name}" has a symbolic dimension where a fixed one is needed.`),
    );
  }

  constant(name: string): readonly number[] | undefined {
    return this.info.constants.get(name);
  }

  /** `Shape(value)` at run time, emitted once per value. */
  runtimeShape(name: string): string {
    let s = this.runtimeShapes.get(name);
    if (!s) {
      s = this.op('Shape', [name], {}, `shape_of/${name}`);
      this.runtimeShapes.set(name, s);
    }
    return s;
  }

  /** A float32 scalar constant, shared by every use. */
  scalar(value: number): string {
    let s = this.floatConstants.get(value);
    if (!s) {
      s = this.b.constFloat('const_f', [], [value]);
      this.floatConstants.set(value, s);
    }
    return s;
  }

  /** An int64 1-D constant (axes, shapes, slice bounds), shared by equal uses. */
  ints(values: readonly number[]): string {
    const key = values.join(',');
    let s = this.intConstants.get(key);
    if (!s) {
      s = this.b.constInt64('const_i', values);
      this.intConstants.set(key, s);
    }
    return s;
  }

  /** Reshapes `g` to the shape of forward value `like` (static when it has no batch axis). */
  reshapeLike(g: string, like: string): string {
    const s = this.shape(like);
    const target = s.every((d) => typeof d === 'number') ? this.ints(s) : this.runtimeShape(like);
    return this.op('Reshape', [g, target]);
  }

  reduceSum(x: string, axes: readonly number[], keepdims: boolean): string {
    return this.op('ReduceSum', [x, this.ints(axes)], { keepdims: attr.int(keepdims ? 1 : 0) });
  }

  transpose(x: string, perm: readonly number[]): string {
    return this.op('Transpose', [x], { perm: attr.ints(perm) });
  }

  zerosLike(name: string): string {
    return this.op('ConstantOfShape', [this.runtimeShape(name)], {}, 'zeros');
  }

  /** Zeros of fixed dims (the gradient of a weight nothing depends on). */
  zeros(dims: readonly number[]): string {
    return this.op('ConstantOfShape', [this.ints(dims)], {}, 'zeros');
  }

  /**
   * Undoes a broadcast: `g` has the shape `outShape` of a broadcast result; the gradient of operand
   * `target` is `g` summed over the axes the operand was broadcast along, reshaped to the operand.
   * `asShape` overrides the operand's shape for the broadcast (MatMul's promoted 1-D operands).
   */
  unbroadcast(g: string, outShape: Shape, target: string, asShape?: Shape): string {
    const t = asShape ?? this.shape(target);
    const lead = outShape.length - t.length;
    const axes: number[] = [];
    for (let i = 0; i < outShape.length; i++) {
      if (i < lead || (t[i - lead] === 1 && outShape[i] !== 1)) axes.push(i);
    }
    const summed = axes.length === 0 ? g : this.reduceSum(g, axes, true);
    return lead === 0 && !asShape ? summed : this.reshapeLike(summed, target);
  }

  /** Sums gradient contributions (fan-out). */
  sum(parts: readonly string[]): string {
    if (parts.length === 1) return parts[0]!;
    return this.op('Sum', parts, {}, 'grad_sum');
  }
}
