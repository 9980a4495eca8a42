/**
 * The shape of a backward rule. A rule sees one forward node and the gradients flowing into its
 * outputs, emits gradient nodes through the Emitter, and returns the gradient of each input it was
 * asked for. Rules never see the rest of the graph.
 */
import type { Node } from '../../onnx/types.ts';
import type { Emitter } from '../emit.ts';

export interface RuleContext {
  readonly e: Emitter;
  readonly node: Node;
  /** The gradient flowing into output `i` (default 0), or undefined when nothing downstream needs it. */
  dY(i?: number): string | undefined;
  /** The gradient flowing into output `i`, or zeros of that output's shape. */
  dYOrZeros(i: number): string;
  /** Whether the gradient of input `i` is wanted (it leads to a differentiated weight). */
  needs(i: number): boolean;
}

export interface GradRule {
  /** Input positions a gradient can flow to ('all' for variadic ops); a wanted gradient anywhere else is an E_AUTODIFF error. */
  readonly inputs: 'all' | readonly number[];
  /** Output positions that carry gradients; default: output 0 only (e.g. MaxPool's Indices do not). */
  readonly outputs?: 'all' | readonly number[];
  /** Gradients indexed by input position; undefined where not needed. */
  backward(ctx: RuleContext): ReadonlyArray<string | undefined>;
}

/** The gradient of output 0, which the backward pass guarantees exists when a rule is called for a single-output op. */
export function dY0(ctx: RuleContext): string {
  return ctx.dYOrZeros(0);
}
