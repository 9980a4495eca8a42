/**
 * Step 1 — formation. A model's learned weights (in `selectWeights` order) are flattened row-major
 * into one vector and cut into pages of P weights. The last page is padded *logically* only: page j
 * is [jP, min((j+1)P, n)), so a model of n weights has ⌈n/P⌉ pages and no phantom page when
 * n mod P = 0 (the reference's `get_*_vector_pad` adds one; see notes/reference-algorithm.md §10.12).
 * The tensor offsets are recorded, so that any tool can rebuild the tensors (`unformWeights`).
 */
import { fail, ok, type Result } from '../core/errors.ts';
import { DataType, elementCount, type Model, type Tensor } from '../onnx/types.ts';
import { selectWeights } from '../onnx/weights.ts';
import { pageCount, type TensorSlot } from '../image/plan.ts';

export interface Formation {
  readonly pageSize: number;
  /** n: the number of weights. */
  readonly weightCount: number;
  /** N = ⌈n / P⌉. */
  readonly pageCount: number;
  /** The tensors' places in `flat`, in formation order. */
  readonly tensors: readonly TensorSlot[];
  /** The n weights, row-major per tensor, tensors concatenated in order. */
  readonly flat: Float32Array;
}

export function checkPageSize(pageSize: number): Result<number> {
  // Powers of two keep pages aligned to flash sectors and cache lines, and let devices use shifts.
  if (!Number.isInteger(pageSize) || pageSize < 1 || (pageSize & (pageSize - 1)) !== 0) {
    return fail(
      'E_USAGE',
      `Page size ${pageSize} is not a positive power of two.`,
      'Use a page size such as 256, 512 or 1024 weights.',
    );
  }
  return ok(pageSize);
}

/** Flattens weight tensors (already in formation order) into one vector and records the slots. */
export function formWeights(weights: readonly Tensor[], pageSize: number): Result<Formation> {
  const size = checkPageSize(pageSize);
  if (!size.ok) return size;
  if (weights.length === 0) {
    return fail(
      'E_PLAN',
      'The model has no learned weights to page.',
      'Weights are float initializers feeding Conv, Gemm, MatMul, BatchNormalization and similar operators.',
    );
  }
  const tensors: TensorSlot[] = [];
  let offset = 0;
  for (const t of weights) {
    if (t.dataType !== DataType.FLOAT || !(t.data instanceof Float32Array)) {
      return fail(
        'E_ONNX_DTYPE',
        `Weight "${t.name}" is not float32.`,
        'Export the model with float32 weights.',
      );
    }
    const length = elementCount(t.dims);
    if (t.data.length !== length) {
      return fail(
        'E_ONNX_INVALID',
        `Weight "${t.name}" has ${t.data.length} values but its shape [${t.dims.join(', ')}] needs ${length}.`,
      );
    }
    tensors.push({ name: t.name, dims: [...t.dims], offset, length });
    offset += length;
  }
  const flat = new Float32Array(offset);
  weights.forEach((t, i) => flat.set(t.data as Float32Array, tensors[i]!.offset));
  for (let i = 0; i < flat.length; i++) {
    if (!Number.isFinite(flat[i]!)) {
      const slot = tensors.find((s) => i >= s.offset && i < s.offset + s.length)!;
      return fail(
        'E_ONNX_INVALID',
        `Weight "${slot.name}" holds a non-finite value at index ${i - slot.offset}.`,
        'Retrain or re-export the model; NaN or Inf weights cannot be planned.',
      );
    }
  }
  return ok({ pageSize, weightCount: offset, pageCount: pageCount(offset, pageSize), tensors, flat });
}

/** Formation of a model: its `selectWeights` tensors, flattened and paged. */
export function formModel(model: Model, pageSize: number): Result<Formation> {
  return formWeights(selectWeights(model), pageSize);
}

/** The inverse of formation: cuts a flat vector back into float32 tensors (copies). */
export function unformWeights(flat: Float32Array, tensors: readonly TensorSlot[]): Result<Tensor[]> {
  const out: Tensor[] = [];
  let expected = 0;
  for (const slot of tensors) {
    if (slot.offset !== expected || slot.length !== elementCount(slot.dims)) {
      return fail(
        'E_PLAN',
        `Tensor slot "${slot.name}" (offset ${slot.offset}, length ${slot.length}) does not follow its predecessor or its shape.`,
      );
    }
    expected += slot.length;
  }
  if (expected !== flat.length) {
    return fail('E_PLAN', `The weight vector has ${flat.length} values but the tensors need ${expected}.`);
  }
  for (const slot of tensors) {
    out.push({
      name: slot.name,
      dims: [...slot.dims],
      dataType: DataType.FLOAT,
      data: flat.slice(slot.offset, slot.offset + slot.length),
    });
  }
  return ok(out);
}

/** Page j of a model of n weights: the half-open range [start, end) of its flat vector. */
export function pageRange(
  page: number,
  weightCount: number,
  pageSize: number,
): { start: number; end: number } {
  const start = page * pageSize;
  return { start, end: Math.min(start + pageSize, weightCount) };
}

/** How many real (non-padding) weights page j holds: P, or n − jP for the last page. */
export function pageLength(page: number, weightCount: number, pageSize: number): number {
  return Math.max(0, Math.min(pageSize, weightCount - page * pageSize));
}

/** A view (no copy) of page j's real weights. */
export function pageView<T extends Float32Array | Float64Array>(flat: T, page: number, pageSize: number): T {
  const { start, end } = pageRange(page, flat.length, pageSize);
  return flat.subarray(start, end) as T;
}

/** Per-page sums of a per-weight quantity (e.g. the diagonal Fisher → page scores). */
export function pageSums(perWeight: Float32Array | Float64Array, pageSize: number): Float64Array {
  const pages = pageCount(perWeight.length, pageSize);
  const sums = new Float64Array(pages);
  for (let i = 0; i < perWeight.length; i++) sums[Math.floor(i / pageSize)]! += perWeight[i]!;
  return sums;
}
