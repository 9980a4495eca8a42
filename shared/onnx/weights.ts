/**
 * Weights: which initializers are learned parameters, and the *weights-as-inputs* transform that
 * lets one onnxruntime session run a model with any weight set fed per run.
 */
import { WEIGHT_INPUTS } from './ops.ts';
import { DataType, elementCount, type Model, type Tensor } from './types.ts';

export interface WeightSpec {
  readonly name: string;
  readonly dims: readonly number[];
  readonly size: number;
}

/**
 * The model's learned weights in graph order (first use by a node), as DESIGN.md's formation step
 * defines them: float initializers in a weight position of a supported operator.
 * Every other initializer (shapes, BN statistics, constants) stays in the graph.
 */
export function selectWeights(model: Model): Tensor[] {
  const byName = new Map(model.graph.initializers.map((t) => [t.name, t]));
  const seen = new Set<string>();
  const out: Tensor[] = [];
  for (const node of model.graph.nodes) {
    const positions = WEIGHT_INPUTS[node.opType] ?? [];
    for (const pos of positions) {
      const name = node.inputs[pos];
      if (!name || seen.has(name)) continue;
      const t = byName.get(name);
      if (!t || t.dataType !== DataType.FLOAT || t.externalLocation !== undefined) continue;
      seen.add(name);
      out.push(t);
    }
  }
  return out;
}

export function weightSpecs(weights: readonly Tensor[]): WeightSpec[] {
  return weights.map((t) => ({ name: t.name, dims: [...t.dims], size: elementCount(t.dims) }));
}

export interface WeightsAsInputs {
  /** The model with its weights removed from the initializers and declared as graph inputs. */
  readonly model: Model;
  /** The weights that were removed, in graph order; feed them by name on every run. */
  readonly weights: Tensor[];
}

/** Turns the learned weights into graph inputs. The graph computes exactly what it did before. */
export function weightsAsInputs(
  model: Model,
  weights: readonly Tensor[] = selectWeights(model),
): WeightsAsInputs {
  const names = new Set(weights.map((w) => w.name));
  const graph = model.graph;
  return {
    model: {
      ...model,
      graph: {
        ...graph,
        inputs: [
          ...graph.inputs.filter((i) => !names.has(i.name)),
          ...weights.map((w) => ({ name: w.name, elemType: DataType.FLOAT, shape: [...w.dims] })),
        ],
        initializers: graph.initializers.filter((t) => !names.has(t.name)),
      },
    },
    weights: [...weights],
  };
}

/** The inverse: binds weight values back as initializers and removes them from the inputs. */
export function weightsAsInitializers(model: Model, weights: readonly Tensor[]): Model {
  const names = new Set(weights.map((w) => w.name));
  const graph = model.graph;
  return {
    ...model,
    graph: {
      ...graph,
      inputs: graph.inputs.filter((i) => !names.has(i.name)),
      initializers: [...graph.initializers, ...weights],
    },
  };
}
