/**
 * Reverse-mode differentiation of a forward graph into ONNX nodes. Two steps, so that a missing rule
 * is reported before anything is emitted:
 *  1. `differentiablePath` finds the nodes that lie between the differentiated values (weights) and
 *     the seeds (the loss's inputs): only they get backward nodes.
 *  2. `emitBackward` walks them in reverse order, calls each operator's rule, and sums gradients
 *     where a value fans out.
 */
import { raise } from '../core/errors.ts';
import type { GraphBuilder } from '../onnx/builder.ts';
import type { Node } from '../onnx/types.ts';
import type { Emitter } from './emit.ts';
import { RULES, type GradRule } from './rules/index.ts';

export interface DifferentiablePath {
  /** Forward nodes that need a backward step, in forward (topological) order. */
  readonly nodes: readonly Node[];
  /** Values that depend on a differentiated value. */
  readonly requires: ReadonlySet<string>;
}

function ruleFor(node: Node): GradRule | undefined {
  if (node.domain !== '' && node.domain !== 'ai.onnx') return undefined;
  return Object.prototype.hasOwnProperty.call(RULES, node.opType) ? RULES[node.opType] : undefined;
}

/** Output positions through which gradients flow (all of them for an operator without a rule). */
function carriesGradient(node: Node, position: number): boolean {
  const rule = ruleFor(node);
  if (!rule) return true;
  const outputs = rule.outputs ?? [0];
  return outputs === 'all' || outputs.includes(position);
}

export function differentiablePath(
  nodes: readonly Node[],
  sources: Iterable<string>,
  seeds: Iterable<string>,
): DifferentiablePath {
  const requires = new Set(sources);
  for (const node of nodes) {
    if (!node.inputs.some((i) => i !== '' && requires.has(i))) continue;
    node.outputs.forEach((o, i) => {
      if (o && carriesGradient(node, i)) requires.add(o);
    });
  }
  const contributes = new Set(seeds);
  const onPath: Node[] = [];
  for (let n = nodes.length - 1; n >= 0; n--) {
    const node = nodes[n]!;
    const feedsSeed = node.outputs.some(
      (o, i) => o && carriesGradient(node, i) && contributes.has(o) && requires.has(o),
    );
    if (!feedsSeed) continue;
    onPath.push(node);
    for (const i of node.inputs) if (i && requires.has(i)) contributes.add(i);
  }
  return { nodes: onPath.reverse(), requires };
}

/** Nodes on the path whose operator has no backward rule. */
export function missingRules(path: DifferentiablePath): Node[] {
  return path.nodes.filter((n) => !ruleFor(n));
}

/**
 * Emits the backward graph. `seeds` maps forward values to their incoming gradients; the result maps
 * each `wrt` value to its gradient, or undefined when no seed depends on it.
 */
export function emitBackward(
  e: Emitter,
  path: DifferentiablePath,
  seeds: ReadonlyMap<string, string>,
  wrt: readonly string[],
): Map<string, string | undefined> {
  const parts = new Map<string, string[]>();
  const add = (value: string, grad: string): void => {
    const list = parts.get(value);
    if (list) list.push(grad);
    else parts.set(value, [grad]);
  };
  for (const [value, grad] of seeds) add(value, grad);
  const total = (value: string): string | undefined => {
    const list = parts.get(value);
    if (!list || list.length === 0) return undefined;
    const g = e.sum(list);
    parts.set(value, [g]);
    return g;
  };

  for (let n = path.nodes.length - 1; n >= 0; n--) {
    const node = path.nodes[n]!;
    const rule = ruleFor(node);
    if (!rule)
      raise('E_AUTODIFF_NO_RULE', `Operator ${node.opType} (node "${node.name}") has no backward rule.`);
    const outputGrads = node.outputs.map((o) => (o ? total(o) : undefined));
    if (outputGrads.every((g) => g === undefined)) continue;
    const needs = (i: number): boolean => {
      const name = node.inputs[i];
      return name !== undefined && name !== '' && path.requires.has(name);
    };
    const grads = rule.backward({
      e,
      node,
      needs,
      dY: (i = 0) => outputGrads[i],
      dYOrZeros: (i) => outputGrads[i] ?? e.zerosLike(node.outputs[i]!),
    });
    node.inputs.forEach((name, i) => {
      if (!needs(i)) return;
      const allowed = rule.inputs === 'all' || rule.inputs.includes(i);
      const g = grads[i];
      if (!allowed || g === undefined) {
        raise(
          'E_AUTODIFF',
          `Input ${i} ("${name}") of ${node.opType} node "${node.name}" cannot be differentiated, but a differentiated weight flows into it.`,
        );
      }
      add(name, g);
    });
  }
  return new Map(wrt.map((w) => [w, total(w)]));
}

/**
 * The forward nodes as the backward pass needs them: MaxPool's rule reads the Indices output, so a
 * MaxPool without one gets a fresh one (the pooled values are unchanged).
 */
export function withPoolIndices(nodes: readonly Node[], b: GraphBuilder): Node[] {
  return nodes.map((n) =>
    n.opType === 'MaxPool' && !n.outputs[1]
      ? { ...n, outputs: [n.outputs[0]!, b.fresh(`${n.outputs[0]}.indices`)] }
      : n,
  );
}
