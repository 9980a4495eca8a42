/**
 * Page tables, and moving values between a model's flat weight vector and the pages.
 *
 * A page table has one uint32 entry per page of the model, in page order: an entry < M is the
 * shared slot holding the page; an entry ≥ M is M + e, e the index of the page among the model's
 * exclusive pages taken in ascending page order (as in the bundle, DESIGN.md format v1).
 *
 * - `gatherWeights` (pages → flat): what the runtime does on a switch; reads exactly n values.
 * - `scatterWeights` (flat → pages): the reference's write-back (`apply_weight_to_page`). For a
 *   model's last page, only its first n mod P values are written; a shared page's tail keeps what
 *   other models put there, and an exclusive page's tail stays as it is (zero when fresh).
 * - `scatterAddGradients` (flat gradient → page gradients): a shared slot receives the **sum** over
 *   its occupants, an exclusive page its model's gradient.
 */
import { fail, ok, type Result } from '../core/errors.ts';
import { pageLength } from './formation.ts';
import { pageCount } from '../image/plan.ts';

/** Builds a page table from each page's slot (−1 = exclusive). */
export function buildPageTable(pageSlots: Int32Array, sharedPageCount: number): Result<Uint32Array> {
  const M = sharedPageCount;
  const table = new Uint32Array(pageSlots.length);
  let e = 0;
  for (let j = 0; j < pageSlots.length; j++) {
    const s = pageSlots[j]!;
    if (s === -1) table[j] = M + e++;
    else if (Number.isInteger(s) && s >= 0 && s < M) table[j] = s;
    else return fail('E_PLAN', `Page ${j} is placed on slot ${s}, outside the ${M} shared pages.`);
  }
  return ok(table);
}

export interface TableShape {
  readonly sharedPageCount: number;
  readonly pageSize: number;
  readonly weightCount: number;
  /** Whether pages of the model may share a slot (self-tying on); when false (the default), none may. */
  readonly selfTied?: boolean;
}

/** Number of exclusive pages a table refers to. */
export function exclusiveCount(table: Uint32Array, sharedPageCount: number): number {
  let n = 0;
  for (const entry of table) if (entry >= sharedPageCount) n++;
  return n;
}

/**
 * Checks a page table: one entry per page, shared entries < M, exclusive entries M, M+1, … in page
 * order (so the exclusive file is in page order), and at most one page per slot unless self-tying.
 */
export function checkPageTable(table: Uint32Array, shape: TableShape): Result<void> {
  const { sharedPageCount: M, pageSize: P, weightCount: n } = shape;
  const N = pageCount(n, P);
  if (table.length !== N)
    return fail('E_PLAN', `The page table has ${table.length} entries but the model has ${N} pages.`);
  const used = new Set<number>();
  let nextExclusive = M;
  for (let j = 0; j < N; j++) {
    const entry = table[j]!;
    if (entry >= M) {
      if (entry !== nextExclusive)
        return fail(
          'E_PLAN',
          `Page ${j} has entry ${entry}; the next exclusive page must be ${nextExclusive}.`,
        );
      nextExclusive++;
    } else if (used.has(entry) && !shape.selfTied) {
      return fail('E_PLAN', `Pages of one model share slot ${entry} but self-tying is off.`);
    } else {
      used.add(entry);
    }
  }
  return ok(undefined);
}

function pageSource(
  entry: number,
  M: number,
  P: number,
  shared: Float32Array,
  exclusive: Float32Array,
): { buffer: Float32Array; base: number } {
  return entry < M ? { buffer: shared, base: entry * P } : { buffer: exclusive, base: (entry - M) * P };
}

function checkBuffers(
  table: Uint32Array,
  shape: TableShape,
  shared: ArrayLike<number>,
  exclusive: ArrayLike<number>,
  flatLength: number,
): Result<void> {
  const { sharedPageCount: M, pageSize: P, weightCount: n } = shape;
  if (table.length !== pageCount(n, P))
    return fail('E_PLAN', `The page table has ${table.length} entries for ${pageCount(n, P)} pages.`);
  if (flatLength !== n) return fail('E_PLAN', `The weight vector has ${flatLength} values, expected ${n}.`);
  if (shared.length !== M * P)
    return fail('E_PLAN', `The shared pages hold ${shared.length} values, expected ${M} × ${P}.`);
  const E = exclusiveCount(table, M);
  if (exclusive.length !== E * P)
    return fail('E_PLAN', `The exclusive pages hold ${exclusive.length} values, expected ${E} × ${P}.`);
  for (const entry of table)
    if (entry >= M + E)
      return fail('E_PLAN', `Page-table entry ${entry} is beyond the ${M} shared and ${E} exclusive pages.`);
  return ok(undefined);
}

/** Pages → the model's flat weight vector (exactly n values). */
export function gatherWeights(
  table: Uint32Array,
  shape: TableShape,
  shared: Float32Array,
  exclusive: Float32Array,
  out = new Float32Array(shape.weightCount),
): Result<Float32Array> {
  const checked = checkBuffers(table, shape, shared, exclusive, out.length);
  if (!checked.ok) return checked;
  const { sharedPageCount: M, pageSize: P, weightCount: n } = shape;
  for (let j = 0; j < table.length; j++) {
    const { buffer, base } = pageSource(table[j]!, M, P, shared, exclusive);
    const len = pageLength(j, n, P);
    out.set(buffer.subarray(base, base + len), j * P);
  }
  return ok(out);
}

/** The model's flat weights → its pages, in place (reference semantics for partial last pages). */
export function scatterWeights(
  table: Uint32Array,
  shape: TableShape,
  flat: Float32Array,
  shared: Float32Array,
  exclusive: Float32Array,
): Result<void> {
  const checked = checkBuffers(table, shape, shared, exclusive, flat.length);
  if (!checked.ok) return checked;
  const { sharedPageCount: M, pageSize: P, weightCount: n } = shape;
  for (let j = 0; j < table.length; j++) {
    const { buffer, base } = pageSource(table[j]!, M, P, shared, exclusive);
    buffer.set(flat.subarray(j * P, j * P + pageLength(j, n, P)), base);
  }
  return ok(undefined);
}

/** Adds the model's flat gradient into the page gradients: shared slots sum over their occupants. */
export function scatterAddGradients(
  table: Uint32Array,
  shape: TableShape,
  grad: Float32Array,
  sharedGrad: Float32Array,
  exclusiveGrad: Float32Array,
): Result<void> {
  const checked = checkBuffers(table, shape, sharedGrad, exclusiveGrad, grad.length);
  if (!checked.ok) return checked;
  const { sharedPageCount: M, pageSize: P, weightCount: n } = shape;
  for (let j = 0; j < table.length; j++) {
    const { buffer, base } = pageSource(table[j]!, M, P, sharedGrad, exclusiveGrad);
    const len = pageLength(j, n, P);
    const from = j * P;
    for (let p = 0; p < len; p++) buffer[base + p]! += grad[from + p]!;
  }
  return ok(undefined);
}

/** The model's exclusive pages copied from its flat weights, E × P, zero-padded, in page order. */
export function exclusivePagesOf(
  table: Uint32Array,
  shape: TableShape,
  flat: Float32Array,
): Result<Float32Array> {
  const { sharedPageCount: M, pageSize: P, weightCount: n } = shape;
  if (flat.length !== n || table.length !== pageCount(n, P))
    return fail(
      'E_PLAN',
      `The weight vector (${flat.length}) or page table (${table.length}) does not match ${n} weights.`,
    );
  const out = new Float32Array(exclusiveCount(table, M) * P);
  for (let j = 0; j < table.length; j++) {
    const entry = table[j]!;
    if (entry < M) continue;
    out.set(flat.subarray(j * P, j * P + pageLength(j, n, P)), (entry - M) * P);
  }
  return ok(out);
}

/** Who sits on each slot: [model index, page] pairs, models in input order. */
export function slotOccupants(
  tables: readonly Uint32Array[],
  sharedPageCount: number,
): Array<Array<{ model: number; page: number }>> {
  const occupants = Array.from(
    { length: sharedPageCount },
    () => [] as Array<{ model: number; page: number }>,
  );
  tables.forEach((table, model) =>
    table.forEach((entry, page) => entry < sharedPageCount && occupants[entry]!.push({ model, page })),
  );
  return occupants;
}
