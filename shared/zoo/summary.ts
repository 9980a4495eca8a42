/**
 * Size and cost summaries of the zoo, as rows and as Markdown tables, so that docs/ZOO.md, the
 * `npm run zoo` pipeline and the tests all print the same numbers from the code.
 */
import { elementCount } from '../onnx/types.ts';
import { GPU_ZOO } from './gpu.ts';
import { describeLayers, type BuiltModel } from './model-builder.ts';
import { ZOO_TASKS, type Augmentation } from './tasks.ts';

/** Page size the planner uses by default (DESIGN.md): 512 weights. */
export const DEFAULT_PAGE = 512;

export interface ZooRow {
  readonly name: string;
  readonly input: string;
  readonly classes: number;
  readonly layers: string;
  readonly weights: number;
  readonly pages: number;
  /** Per sample, counting a multiply–accumulate as two FLOPs. */
  readonly mflops: number;
  readonly operators: readonly string[];
  /**
   * The largest input + output of one layer, in float32 KiB per sample: what an MCU needs for two
   * ping-pong activation buffers (a conservative bound; element-wise layers can run in place).
   */
  readonly activationKiB: number;
}

export function taskRows(page = DEFAULT_PAGE): ZooRow[] {
  return ZOO_TASKS.map((t) => {
    const built = t.describe();
    return row(t.id, t.inputShape, t.classes, describeLayers(built.layers), built, page);
  });
}

export function gpuRows(page = DEFAULT_PAGE, classes = 10): ZooRow[] {
  return GPU_ZOO.map((g) => row(g.name, g.inputShape, classes, g.reference, g.describe(0, classes), page));
}

function row(
  name: string,
  shape: readonly number[],
  classes: number,
  layers: string,
  built: BuiltModel,
  page: number,
): ZooRow {
  // Layer records follow graph order; a branch's input is not always the previous record, so this
  // pairs each layer with its predecessor in the list (exact for the plain stacks of the ten tasks).
  let activations = elementCount([...shape]);
  let previous = activations;
  for (const l of built.layers) {
    const size = elementCount([...l.outShape]);
    activations = Math.max(activations, previous + size);
    previous = size;
  }
  return {
    name,
    input: shape.join('×'),
    classes,
    layers,
    weights: built.weights,
    pages: Math.ceil(built.weights / page),
    mflops: (2 * built.macs) / 1e6,
    operators: [...new Set(built.model.graph.nodes.map((n) => n.opType))].sort(),
    activationKiB: (activations * 4) / 1024,
  };
}

const thousands = (n: number) => n.toLocaleString('en-US');

/** Accuracy (0..1) and training time of a built zoo model (from zoo.json). */
export interface ZooResult {
  readonly valAccuracy: number;
  readonly testAccuracy: number;
  readonly trainSeconds: number;
}

/** The task table of docs/ZOO.md; accuracy and training time come from a built zoo when given. */
export function markdownTaskTable(
  rows: readonly ZooRow[] = taskRows(),
  results: ReadonlyMap<string, ZooResult> = new Map(),
): string {
  const lines = [
    '| task | input | classes | layers | weights | pages (512) | MFLOPs/sample | activations (KiB) | val acc. | test acc. | train time |',
    '|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows)
    lines.push(
      `| ${r.name} | ${r.input} | ${r.classes} | ${r.layers} | ${thousands(r.weights)} | ${r.pages} | ${r.mflops.toFixed(2)} | ${r.activationKiB.toFixed(1)} | ${resultCells(results.get(r.name))} |`,
    );
  const total = rows.reduce((s, r) => s + r.pages, 0);
  const weights = rows.reduce((s, r) => s + r.weights, 0);
  const largest = Math.max(...rows.map((r) => r.pages));
  lines.push(`| **total** | | | | **${thousands(weights)}** | **${total}** | | | | | |`);
  return `${lines.join('\n')}\n\nPacking ceiling (one page per model per slot): ${total} ÷ ${largest} = **${(total / largest).toFixed(2)}x**.`;
}

function resultCells(r: ZooResult | undefined): string {
  if (!r) return '– | – | –';
  return `${(r.valAccuracy * 100).toFixed(2)} | ${(r.testAccuracy * 100).toFixed(2)} | ${Math.round(r.trainSeconds)} s`;
}

export function markdownGpuTable(rows: readonly ZooRow[] = gpuRows()): string {
  const lines = [
    '| model | follows | weights | pages (512) | MFLOPs/sample (32×32) | operators |',
    '|---|---|---:|---:|---:|---|',
  ];
  for (const r of rows)
    lines.push(
      `| ${r.name} | ${r.layers} | ${thousands(r.weights)} | ${thousands(r.pages)} | ${r.mflops.toFixed(0)} | ${r.operators.join(', ')} |`,
    );
  return lines.join('\n');
}

/** One augmentation in words, e.g. `shift ±2 on axis 1`. */
export function describeAugmentation(a: Augmentation): string {
  switch (a.kind) {
    case 'shift':
      return `shift ±${a.max} on axis ${a.axis}`;
    case 'flip':
      return `flip axis ${a.axis}`;
    case 'mask':
      return `mask ≤${a.maxWidth} on axis ${a.axis}`;
    case 'noise':
      return `noise σ=${a.std}`;
    case 'scale':
      return `scale ×${a.min}–${a.max}`;
    case 'offset':
      return `offset σ=${a.std} per axis-${a.axis} position`;
  }
}

/** The suggested pre-training recipe of every task (batch, lr and evaluation interval are shared). */
export function markdownRecipeTable(): string {
  const lines = [
    '| task | max steps | lr | schedule | patience | weight decay (decoupled) | augmentation |',
    '|---|---:|---:|---|---:|---:|---|',
  ];
  for (const t of ZOO_TASKS) {
    const h = t.training;
    lines.push(
      `| ${t.id} | ${h.steps} | ${h.lr} | ${h.schedule ?? 'cosine'} | ${h.patience} | ${h.weightDecay} | ${h.augment.map(describeAugmentation).join('; ') || '–'} |`,
    );
  }
  return lines.join('\n');
}
