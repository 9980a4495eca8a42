/**
 * Step 5 — initial values of the shared pages. Right after overlap every task falls towards chance
 * whatever the init (notes/prototype-separation.md), and joint optimisation recovers; the planner
 * evaluates each candidate's validation loss and keeps the best. This file only produces candidates:
 *
 * - 'fisher-mean': per position, Σ F·w / Σ F over the slot's occupants (raw Fisher, the
 *   prototype's method A); the plain mean where Σ F = 0. It minimises Σ_i F_i (v − w_i)² per
 *   position, whose minimum for two occupants is the merge cost F₁F₂/(F₁+F₂)·(w₁ − w₂)².
 * - 'fisher-mean-normalised': the same with each model's Fisher normalised to sum 1.
 * - 'random': i.i.d. N(0, 0.01²), seeded (the reference's init).
 * - 'top-occupant': the values of the occupant whose page holds the largest share of its own
 *   model's Fisher mass; positions it does not cover (a partial last page) take the next occupant's.
 *
 * Slots nobody occupies stay 0 (no gradient reaches them; Adam leaves them alone).
 */
import { fail, ok, type Result } from '../core/errors.ts';
import { Rng } from '../core/rng.ts';
import { pageLength } from './formation.ts';
import { pageCount } from '../image/plan.ts';
import { slotOccupants } from './tables.ts';

export type InitKind = 'fisher-mean' | 'fisher-mean-normalised' | 'random' | 'top-occupant';

export const INIT_KINDS: readonly InitKind[] = [
  'fisher-mean',
  'fisher-mean-normalised',
  'random',
  'top-occupant',
];

export interface InitModelInput {
  /** The model's original flat weights. */
  readonly values: Float32Array;
  /** Its raw diagonal Fisher, one value per weight. */
  readonly fisher: Float32Array | Float64Array;
  readonly pageTable: Uint32Array;
}

export interface InitOptions {
  readonly sharedPageCount: number;
  readonly pageSize: number;
  /** For 'random'. Default 0. */
  readonly seed?: number;
  /** Standard deviation of 'random'. Default 0.01. */
  readonly sd?: number;
}

export function initSharedPages(
  kind: InitKind,
  models: readonly InitModelInput[],
  options: InitOptions,
): Result<Float32Array> {
  const { sharedPageCount: M, pageSize: P } = options;
  for (const [k, m] of models.entries()) {
    if (m.fisher.length !== m.values.length || m.pageTable.length !== pageCount(m.values.length, P)) {
      return fail(
        'E_PLAN',
        `Model ${k}: ${m.values.length} weights, ${m.fisher.length} Fisher values and ${m.pageTable.length} page-table entries do not agree (page size ${P}).`,
      );
    }
  }
  switch (kind) {
    case 'random':
      return ok(randomInit(M, P, options.seed ?? 0, options.sd ?? 0.01));
    case 'fisher-mean':
      return ok(fisherMeanInit(models, M, P, false));
    case 'fisher-mean-normalised':
      return ok(fisherMeanInit(models, M, P, true));
    case 'top-occupant':
      return ok(topOccupantInit(models, M, P));
    default:
      return fail(
        'E_USAGE',
        `Unknown shared-page init "${String(kind)}".`,
        `Use one of ${INIT_KINDS.join(', ')}.`,
      );
  }
}

/**
 * The candidates of `kinds` (default every kind, in INIT_KINDS order), for the planner's init stage
 * to score by validation loss.
 */
export function initCandidates(
  models: readonly InitModelInput[],
  options: InitOptions,
  kinds: readonly InitKind[] = INIT_KINDS,
): Result<Array<{ kind: InitKind; sharedPages: Float32Array }>> {
  const out: Array<{ kind: InitKind; sharedPages: Float32Array }> = [];
  for (const kind of kinds) {
    const pages = initSharedPages(kind, models, options);
    if (!pages.ok) return pages;
    out.push({ kind, sharedPages: pages.value });
  }
  return ok(out);
}

export function randomInit(M: number, P: number, seed: number, sd: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(M * P);
  for (let i = 0; i < out.length; i++) out[i] = rng.normal() * sd;
  return out;
}

function fisherScale(fisher: Float32Array | Float64Array, normalise: boolean): number {
  if (!normalise) return 1;
  let total = 0;
  for (const f of fisher) total += f;
  return total > 0 ? 1 / total : 0;
}

export function fisherMeanInit(
  models: readonly InitModelInput[],
  M: number,
  P: number,
  normalise: boolean,
): Float32Array {
  const phi = new Float64Array(M * P);
  const phiW = new Float64Array(M * P);
  const count = new Float64Array(M * P);
  const sumW = new Float64Array(M * P);
  for (const m of models) {
    const scale = fisherScale(m.fisher, normalise);
    const n = m.values.length;
    m.pageTable.forEach((entry, j) => {
      if (entry >= M) return;
      for (let p = 0, len = pageLength(j, n, P); p < len; p++) {
        // entry < M and p < P: i is inside the M × P accumulators.
        const i = entry * P + p;
        const f = m.fisher[j * P + p]! * scale;
        const w = m.values[j * P + p]!;
        phi[i]! += f;
        phiW[i]! += f * w;
        count[i]! += 1;
        sumW[i]! += w;
      }
    });
  }
  const out = new Float32Array(M * P);
  for (let i = 0; i < out.length; i++)
    out[i] = phi[i]! > 0 ? phiW[i]! / phi[i]! : count[i]! > 0 ? sumW[i]! / count[i]! : 0;
  return out;
}

export function topOccupantInit(models: readonly InitModelInput[], M: number, P: number): Float32Array {
  // Page shares of each model's own Fisher mass.
  const shares = models.map((m) => {
    const scale = fisherScale(m.fisher, true);
    const s = new Float64Array(m.pageTable.length);
    // initSharedPages checked that the Fisher vector has ⌈n / P⌉ = pageTable.length pages.
    for (let i = 0; i < m.fisher.length; i++) s[Math.floor(i / P)]! += m.fisher[i]! * scale;
    return s;
  });
  const out = new Float32Array(M * P);
  slotOccupants(
    models.map((m) => m.pageTable),
    M,
  ).forEach((occupants, slot) => {
    // Lowest priority writes first, the top occupant last (ties: the earlier model wins).
    const order = [...occupants].sort(
      (a, b) => shares[a.model]![a.page]! - shares[b.model]![b.page]! || b.model - a.model || b.page - a.page,
    );
    for (const { model, page } of order) {
      const m = models[model]!;
      out.set(m.values.subarray(page * P, page * P + pageLength(page, m.values.length, P)), slot * P);
    }
  });
  return out;
}

/** Σ_i Σ_p F_i[p]·(v[p] − w_i[p])² for one slot's occupants: what the Fisher mean minimises. */
export function slotQuadraticLoss(
  v: ArrayLike<number>,
  occupants: ReadonlyArray<{ values: ArrayLike<number>; fisher: ArrayLike<number> }>,
): number {
  let loss = 0;
  for (const o of occupants) {
    for (let p = 0; p < o.values.length; p++) {
      const d = v[p]! - o.values[p]!;
      loss += o.fisher[p]! * d * d;
    }
  }
  return loss;
}
