/**
 * A vector–Jacobian product graph: the model's outputs plus, for incoming gradients fed as inputs
 * (`<output>.seed`), the gradients of chosen inputs or initializers. The training graph is the
 * special case "seed = d loss / d logits"; this general form is what the per-rule tests check
 * against finite differences.
 */
import { attempt, raise, type Result } from '../core/errors.ts';
import { DEFAULT_OPSET, GraphBuilder } from '../onnx/builder.ts';
import { DataType, defaultOpset, type Model } from '../onnx/types.ts';
import { differentiablePath, emitBackward, missingRules, withPoolIndices } from './backward.ts';
import { Emitter } from './emit.ts';
import { inferShapes } from './shapes.ts';
import { upgradeToOpset13 } from './upgrade.ts';

export interface VjpGraph {
  readonly model: Model;
  /** One seed input per differentiated output, same order, each with that output's shape. */
  readonly seedNames: readonly string[];
  /** One gradient output per `wrt` value, same order. */
  readonly gradNames: readonly string[];
}

export function buildVjpGraph(
  original: Model,
  outputs: readonly string[],
  wrt: readonly string[],
): Result<VjpGraph> {
  return attempt(() => {
    const model = upgradeToOpset13(original);
    const graph = model.graph;
    const path = differentiablePath(graph.nodes, wrt, outputs);
    const missing = missingRules(path);
    if (missing.length > 0) {
      raise(
        'E_AUTODIFF_NO_RULE',
        `No backward rule for: ${missing.map((n) => `${n.opType} (node "${n.name}")`).join(', ')}.`,
      );
    }
    const b = new GraphBuilder();
    b.reserve(graph.nodes.flatMap((n) => [...n.outputs, n.name]));
    b.reserve([...graph.inputs.map((i) => i.name), ...graph.initializers.map((t) => t.name)]);
    const forward = withPoolIndices(graph.nodes, b);
    for (const n of forward) b.nodes.push(n);
    for (const t of graph.initializers) b.initializer(t);
    b.inputs.push(...graph.inputs);
    const info = inferShapes({ ...graph, nodes: forward });
    const e = new Emitter(b, info);
    const seeds = new Map<string, string>();
    const seedNames = outputs.map((o) => {
      const seed = b.input(b.fresh(`${o}.seed`), DataType.FLOAT, e.shape(o));
      seeds.set(o, seed);
      return seed;
    });
    const grads = emitBackward(e, differentiablePath(forward, wrt, outputs), seeds, wrt);
    const gradNames = wrt.map((w) => b.op('Identity', [grads.get(w) ?? e.zerosLike(w)], {}, `${w}.grad`));
    for (const o of graph.outputs) b.output(o.name, o.elemType, o.shape);
    for (const g of gradNames) b.output(g, DataType.FLOAT);
    return {
      model: b.build(`${graph.name}-vjp`, Math.max(defaultOpset(model), DEFAULT_OPSET)),
      seedNames,
      gradNames,
    };
  });
}
