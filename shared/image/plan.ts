/**
 * The plan: what the planner produces and the bundle stores. This is the contract between
 * shared/separation (writer), shared/image (files) and shared/runtime + devices (readers).
 */
import type { Preprocessing } from '../datasets/types.ts';
import type { Model } from '../onnx/types.ts';
import type { PlanReport } from './report.ts';

/**
 * How page values are stored (docs/FORMAT.md §2): `f32` as float32; `i8` as int8 codes with one
 * float32 scale per page (./quantize.ts). A plan holds i8 pages as their dequantised values (every
 * value exactly q × s), so gathers, evaluations and tools read both types alike; the scales say how
 * they are stored.
 */
export type ValueType = 'f32' | 'i8';

export const VALUE_TYPES: readonly ValueType[] = ['f32', 'i8'];

/** Bytes of one stored value. */
export function valueBytesOf(valueType: ValueType): number {
  return valueType === 'i8' ? 1 : 4;
}

/** Bytes of one page's scale: 4 (a float32) for i8, none for f32. */
export function scaleBytesOf(valueType: ValueType): number {
  return valueType === 'i8' ? 4 : 0;
}

/** One weight tensor's place in its model's flat weight vector (formation order). */
export interface TensorSlot {
  readonly name: string;
  readonly dims: readonly number[];
  /** Offset in weights (not bytes) into the model's flat vector. */
  readonly offset: number;
  readonly length: number;
}

export interface TaskAccuracy {
  /** Accuracy of the original model, 0..1. */
  readonly before: number;
  /** Accuracy with the plan's weights, 0..1. */
  readonly after: number;
}

export interface PlannedModel {
  readonly name: string;
  /** The model's graph with its weights as inputs (no weight initializers). */
  readonly graph: Model;
  readonly inputName: string;
  /** Per-sample input shape (without the batch axis). */
  readonly inputShape: readonly number[];
  readonly outputName: string;
  readonly classes: readonly string[];
  readonly preprocessing: Preprocessing;
  /** Weight tensors in formation order; their lengths add up to `weightCount`. */
  readonly tensors: readonly TensorSlot[];
  readonly weightCount: number;
  /** One entry per page of the model: < M is a shared slot, ≥ M is M + index of an exclusive page. */
  readonly pageTable: Uint32Array;
  /** The model's exclusive pages, E × pageSize values, in the order of their indices. */
  readonly exclusivePages: Float32Array;
  /** i8 plans: one scale per exclusive page (E of them), in the order of their indices. */
  readonly exclusiveScales?: Float32Array;
  readonly accuracy: { readonly test: TaskAccuracy; readonly val: TaskAccuracy };
}

export interface Budgets {
  readonly l1Bytes: number;
  readonly l2Bytes: number;
}

export interface Plan {
  readonly pageSize: number;
  readonly valueType: ValueType;
  readonly budgets: Budgets;
  /** M: the number of shared pages (level 1). */
  readonly sharedPageCount: number;
  /** M × pageSize values. */
  readonly sharedPages: Float32Array;
  /** i8 plans: one scale per shared page (M of them). Absent for f32. */
  readonly sharedScales?: Float32Array;
  /**
   * Whether a model may have several of its own pages on one shared slot (self-tying was on). How
   * many pages per slot it allowed is the report's `selfTying` count; the bundle stores this flag as
   * its manifest member `selfTying` (docs/FORMAT.md §3.1).
   */
  readonly selfTied: boolean;
  readonly models: readonly PlannedModel[];
  /**
   * The planner's report (./report.ts), stored as is in the manifest; null when there is none. A
   * reader gives null too for a stored report it cannot parse (the manifest keeps it as it was).
   */
  readonly report: PlanReport | null;
}

export function pageCount(weightCount: number, pageSize: number): number {
  return Math.ceil(weightCount / pageSize);
}
