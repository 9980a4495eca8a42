/**
 * Step 4 — overlap: put each model's sharable units (pages, or self-tied groups of pages; see
 * separate.ts) onto the M shared slots, at most one unit of a model per slot.
 *
 * Strategies:
 * - 'balanced' (ours, the default): models largest first; each model's units go to slots by an
 *   optimal assignment (assignment.ts) on  merge cost + slot-balance term, where
 *     merge(u, s) = Σ_p Φ_s[p]·f_u[p] / (Φ_s[p] + f_u[p]) · (v_s[p] − w_u[p])²
 *   (Φ: Fisher of the slot's current occupants, v: their Fisher-weighted mean, f, w: the unit's) and
 *     balance(s) = λ · scale · (2·occ_s + 1),
 *   the rise of Σ occ² when the slot gains an occupant; `scale` is the median positive merge cost of
 *   the model's matrix, so that λ is unit-free. The merge cost alone piles many models on some slots
 *   and one on others (notes/prototype-separation.md, "What worked", 5).
 * - 'merge-only': the same with λ = 0 (the prototype's method A), for comparison.
 * - 'reference': the reference's greedy (notes/reference-algorithm.md §5), with its bugs fixed
 *   (correct page indexing, a deterministic first-minimum argmin): models in the given order, the
 *   first one onto slots 0, 1, …; later ones level by level, emptiest slots first, greedy
 *   priority matching by Fisher mass on the cost Σ_{Φ>0, f>0} (Φ + f)(v − w)², v = the last writer.
 *   One difference remains by construction: the last writer's values are its original weights (the
 *   overlap is made before any training), where the reference matched each model against the pages
 *   its predecessors had just trained.
 *
 * Fisher is normalised per model: raw Fisher differs by orders of magnitude across models and must
 * not be compared (DESIGN.md, the planner, step 2). Ours normalises each model's Fisher to sum 1;
 * the reference's greedy min–max normalises it to [0, 1], as the reference does.
 */
import { fail, ok, type Result } from '../core/errors.ts';
import { Rng } from '../core/rng.ts';
import { solveAssignment } from './assignment.ts';
import { pageLength } from './formation.ts';
import { pageCount } from '../image/plan.ts';

export type OverlapStrategy = 'balanced' | 'merge-only' | 'reference';

/** Default λ for the slot-balance term (see the measurement in overlap.test.ts and the report). */
export const DEFAULT_BALANCE = 1;

export interface OverlapModelInput {
  readonly name: string;
  /** The model's flat weights (formation order). */
  readonly values: Float32Array;
  /** Its diagonal Fisher, one value ≥ 0 per weight (raw; normalised here per model). */
  readonly fisher: Float32Array | Float64Array;
  /** Sharable units from separation: each unit's pages go to one slot. */
  readonly units: readonly Int32Array[];
}

export interface OverlapOptions {
  readonly sharedPageCount: number;
  readonly pageSize: number;
  readonly strategy?: OverlapStrategy;
  /** λ of the balance term ('balanced' only). */
  readonly balance?: number;
  /** Seeds the tie-break order of the slots; the same seed gives the same overlap. Default 0 (slot order). */
  readonly seed?: number;
}

export interface OverlappedModel {
  readonly name: string;
  /** The slot of each unit (same order as the input units). */
  readonly unitSlots: Int32Array;
  /** The slot of each page of the model, or −1 for a page that is not shared. */
  readonly pageSlots: Int32Array;
  /** The cost the strategy paid to insert this model (its own cost measure). */
  readonly insertionCost: number;
}

export interface Overlap {
  readonly strategy: OverlapStrategy;
  readonly balance: number;
  readonly models: readonly OverlappedModel[];
  /** Units (distinct model placements) per slot. */
  readonly occupancy: Int32Array;
  /** histogram[c] = number of slots with c occupants. */
  readonly histogram: number[];
  /** Strategy-independent: Σ over slots of the Fisher-weighted spread of the occupants around their
   * Fisher-weighted mean (per-model normalised Fisher) — the quadratic loss of the final grouping. */
  readonly groupCost: number;
}

/** A unit reduced to one page-sized vector: summed normalised Fisher, Fisher-weighted mean values. */
interface UnitVector {
  readonly fisher: Float64Array;
  readonly value: Float64Array;
  /** Pages of the unit covering each position (0 = padding). */
  readonly cover: Uint8Array;
  readonly mass: number;
}

/** The running state of one slot: sums from which its Fisher-weighted mean is read. */
class Pool {
  readonly phi: Float64Array; // Σ f
  readonly phiV: Float64Array; // Σ f·w
  readonly count: Float64Array; // occupants covering the position
  readonly sumV: Float64Array; // Σ w (for positions where Σ f = 0)
  readonly last: Float64Array; // the last writer's values (reference strategy)
  readonly occupancy: Int32Array;
  readonly mass: Float64Array;

  constructor(
    readonly slots: number,
    readonly P: number,
  ) {
    const n = slots * P;
    this.phi = new Float64Array(n);
    this.phiV = new Float64Array(n);
    this.count = new Float64Array(n);
    this.sumV = new Float64Array(n);
    this.last = new Float64Array(n);
    this.occupancy = new Int32Array(slots);
    this.mass = new Float64Array(slots);
  }

  /** The slot's Fisher-weighted mean (plain mean where its Fisher is 0; 0 where nothing lies). */
  mean(slot: number, out: Float64Array): Float64Array {
    const base = slot * this.P;
    for (let p = 0; p < this.P; p++) {
      const i = base + p;
      out[p] =
        this.phi[i]! > 0
          ? this.phiV[i]! / this.phi[i]!
          : this.count[i]! > 0
            ? this.sumV[i]! / this.count[i]!
            : 0;
    }
    return out;
  }

  add(slot: number, unit: UnitVector): void {
    const base = slot * this.P;
    for (let p = 0; p < this.P; p++) {
      if (!unit.cover[p]) continue;
      const i = base + p;
      this.phi[i]! += unit.fisher[p]!;
      this.phiV[i]! += unit.fisher[p]! * unit.value[p]!;
      this.count[i]! += 1;
      this.sumV[i]! += unit.value[p]!;
      this.last[i] = unit.value[p]!;
    }
    this.occupancy[slot]!++;
    this.mass[slot]! += unit.mass;
  }
}

/** merge(u, s) = Σ_p ΦF/(Φ+F)·(v − w)² over positions both cover (zero where either Fisher is 0). */
function mergeCost(pool: Pool, slot: number, mean: Float64Array, unit: UnitVector): number {
  const P = pool.P;
  const base = slot * P;
  const phiAll = pool.phi;
  const f = unit.fisher;
  const w = unit.value;
  let cost = 0;
  for (let p = 0; p < P; p++) {
    // Padding and uncovered positions have zero Fisher on one side, so they add nothing.
    const phi = phiAll[base + p]!;
    const fp = f[p]!;
    if (phi > 0 && fp > 0) {
      const d = mean[p]! - w[p]!;
      cost += ((phi * fp) / (phi + fp)) * d * d;
    }
  }
  return cost;
}

/** The reference's cost Σ_{Φ>0, f>0} (Φ + f)(v − w)², v = the slot's last writer. */
function referenceCost(pool: Pool, slot: number, unit: UnitVector): number {
  const base = slot * pool.P;
  let cost = 0;
  for (let p = 0; p < pool.P; p++) {
    const phi = pool.phi[base + p]!;
    const f = unit.fisher[p]!;
    if (!unit.cover[p] || phi <= 0 || f <= 0) continue;
    const d = pool.last[base + p]! - unit.value[p]!;
    cost += (phi + f) * d * d;
  }
  return cost;
}

/**
 * Builds the unit vectors of a model, with its Fisher normalised: to sum 1 (ours), or min–max to
 * [0, 1] over the model's whole Fisher vector, as the reference's masses and costs read it
 * (reference-algorithm.md §3, §5: its smallest value becomes 0 and is then masked like padding).
 */
function unitVectors(model: OverlapModelInput, P: number, normalise: 'sum' | 'min-max'): UnitVector[] {
  let total = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const f of model.fisher) {
    total += f;
    if (f < min) min = f;
    if (f > max) max = f;
  }
  const [shift, scale] =
    normalise === 'sum' ? [0, total > 0 ? 1 / total : 0] : [min, max > min ? 1 / (max - min) : 0];
  const n = model.values.length;
  return model.units.map((pages) => {
    const fisher = new Float64Array(P);
    const weighted = new Float64Array(P);
    const plain = new Float64Array(P);
    const cover = new Uint8Array(P);
    let mass = 0;
    for (const j of pages) {
      const len = pageLength(j, n, P);
      for (let p = 0; p < len; p++) {
        const f = (model.fisher[j * P + p]! - shift) * scale;
        const w = model.values[j * P + p]!;
        fisher[p]! += f;
        weighted[p]! += f * w;
        plain[p]! += w;
        cover[p]!++;
        mass += f;
      }
    }
    const value = new Float64Array(P);
    for (let p = 0; p < P; p++)
      value[p] = fisher[p]! > 0 ? weighted[p]! / fisher[p]! : cover[p]! > 0 ? plain[p]! / cover[p]! : 0;
    return { fisher, value, cover, mass };
  });
}

function validate(models: readonly OverlapModelInput[], options: OverlapOptions): Result<void> {
  const { sharedPageCount: M, pageSize: P } = options;
  if (!Number.isInteger(M) || M < 0 || !Number.isInteger(P) || P < 1) {
    return fail(
      'E_USAGE',
      `Overlap needs a whole number of shared pages (got ${M}) and a positive page size (got ${P}).`,
    );
  }
  const balance = options.balance ?? DEFAULT_BALANCE;
  if (!Number.isFinite(balance) || balance < 0)
    return fail('E_USAGE', `The balance weight ${balance} must be a finite number ≥ 0.`);
  for (const m of models) {
    if (m.fisher.length !== m.values.length) {
      return fail(
        'E_PLAN',
        `Model "${m.name}" has ${m.values.length} weights but ${m.fisher.length} Fisher values.`,
      );
    }
    for (const f of m.fisher) {
      if (!(f >= 0) || !Number.isFinite(f))
        return fail('E_PLAN', `Model "${m.name}" has a Fisher value ${f}; Fisher must be finite and ≥ 0.`);
    }
    if (m.units.length > M) {
      return fail(
        'E_PLAN',
        `Model "${m.name}" has ${m.units.length} sharable units but there are only ${M} shared slots.`,
        'Run separation with the same budgets first.',
      );
    }
    const N = pageCount(m.values.length, P);
    const seen = new Set<number>();
    for (const unit of m.units) {
      if (unit.length === 0) return fail('E_PLAN', `Model "${m.name}" has an empty sharable unit.`);
      for (const j of unit) {
        if (!Number.isInteger(j) || j < 0 || j >= N || seen.has(j)) {
          return fail('E_PLAN', `Model "${m.name}" lists page ${j} twice or outside its ${N} pages.`);
        }
        seen.add(j);
      }
    }
  }
  return ok(undefined);
}

export function overlap(models: readonly OverlapModelInput[], options: OverlapOptions): Result<Overlap> {
  const valid = validate(models, options);
  if (!valid.ok) return valid;
  const strategy = options.strategy ?? 'balanced';
  const balance = strategy === 'balanced' ? (options.balance ?? DEFAULT_BALANCE) : 0;
  const { sharedPageCount: M, pageSize: P } = options;
  const pool = new Pool(M, P);
  const vectors = models.map((m) => unitVectors(m, P, strategy === 'reference' ? 'min-max' : 'sum'));
  const unitSlots = models.map((m) => new Int32Array(m.units.length).fill(-1));
  const insertionCost = models.map(() => 0);

  // Insertion order: largest first (ties: input order) for ours; the given order for the reference.
  const order = models.map((_, k) => k);
  if (strategy !== 'reference')
    order.sort((a, b) => models[b]!.units.length - models[a]!.units.length || a - b);
  // Seeded tie-break: the assignment sees the slots in this order.
  const slotOrder = options.seed
    ? new Rng(options.seed).permutation(M)
    : Int32Array.from({ length: M }, (_, i) => i);

  for (const k of order) {
    const units = vectors[k]!;
    if (units.length === 0) continue;
    const placed =
      strategy === 'reference' ? referenceGreedy(pool, units) : assignByCost(pool, units, slotOrder, balance);
    if (!placed.ok) return placed;
    placed.value.slots.forEach((s, u) => {
      unitSlots[k]![u] = s;
      pool.add(s, units[u]!);
    });
    insertionCost[k] = placed.value.cost;
  }

  const result: OverlappedModel[] = models.map((m, k) => {
    const pageSlots = new Int32Array(pageCount(m.values.length, P)).fill(-1);
    m.units.forEach((pages, u) => pages.forEach((j) => (pageSlots[j] = unitSlots[k]![u]!)));
    return { name: m.name, unitSlots: unitSlots[k]!, pageSlots, insertionCost: insertionCost[k]! };
  });
  const occupancy = Int32Array.from(pool.occupancy);
  return ok({
    strategy,
    balance,
    models: result,
    occupancy,
    histogram: occupancyHistogram(occupancy),
    groupCost: groupCost(models, result, P),
  });
}

/** histogram[c] = how many slots hold c occupants. */
export function occupancyHistogram(occupancy: Int32Array): number[] {
  const max = occupancy.reduce((a, b) => Math.max(a, b), 0);
  const hist = new Array<number>(max + 1).fill(0);
  for (const c of occupancy) hist[c]!++;
  return hist;
}

/** One model's units onto slots by optimal assignment on merge cost + balance term. */
function assignByCost(
  pool: Pool,
  units: UnitVector[],
  slotOrder: Int32Array,
  balance: number,
): Result<{ slots: number[]; cost: number }> {
  const M = pool.slots;
  const U = units.length;
  const merge = new Float64Array(U * M);
  const mean = new Float64Array(pool.P);
  for (let c = 0; c < M; c++) {
    const s = slotOrder[c]!;
    pool.mean(s, mean);
    for (let u = 0; u < U; u++) merge[u * M + c] = mergeCost(pool, s, mean, units[u]!);
  }
  const costs = new Float64Array(merge);
  if (balance > 0) {
    const scale = medianPositive(merge);
    for (let c = 0; c < M; c++) {
      const term = balance * scale * (2 * pool.occupancy[slotOrder[c]!]! + 1);
      for (let u = 0; u < U; u++) costs[u * M + c]! += term;
    }
  }
  const solved = solveAssignment(costs, U, M);
  if (!solved.ok) return solved;
  const slots: number[] = [];
  let cost = 0;
  for (let u = 0; u < U; u++) {
    const c = solved.value.rowToColumn[u]!;
    slots.push(slotOrder[c]!);
    cost += merge[u * M + c]!;
  }
  return ok({ slots, cost });
}

/** The median of the positive entries (1 when there are none, e.g. against an empty pool). */
export function medianPositive(values: Float64Array): number {
  const positive = Array.from(values).filter((v) => v > 0);
  if (positive.length === 0) return 1;
  positive.sort((a, b) => a - b);
  const mid = positive.length >> 1;
  return positive.length % 2 ? positive[mid]! : (positive[mid - 1]! + positive[mid]!) / 2;
}

/** The reference's greedy, level by level (notes/reference-algorithm.md §5), made deterministic. */
function referenceGreedy(pool: Pool, units: UnitVector[]): Result<{ slots: number[]; cost: number }> {
  const M = pool.slots;
  const slots = new Array<number>(units.length).fill(-1);
  let cost = 0;
  if (pool.occupancy.every((c) => c === 0)) {
    // The first model goes onto slots 0, 1, … in order.
    units.forEach((_, u) => (slots[u] = u));
    return ok({ slots, cost });
  }
  const levelOf = Int32Array.from(pool.occupancy); // levels before this model
  const maxLevel = levelOf.reduce((a, b) => Math.max(a, b), 0);
  let remaining = units.map((_, u) => u);
  for (let level = 0; level <= maxLevel && remaining.length > 0; level++) {
    let S = Array.from({ length: M }, (_, s) => s).filter((s) => levelOf[s] === level);
    if (S.length === 0) continue;
    S.sort((a, b) => pool.mass[b]! - pool.mass[a]! || a - b);
    let J = [...remaining].sort((a, b) => units[b]!.mass - units[a]!.mass || a - b);
    if (S.length > J.length) S = S.slice(S.length - J.length); // drop the busiest slots
    if (J.length > S.length) J = J.slice(0, S.length); // defer the lightest pages
    // S and J stay sorted by mass, descending; the free sets shrink as pairs are made.
    const freeS = new Set(S);
    const freeJ = new Set(J);
    for (let step = 0, n = S.length; step < n; step++) {
      const sTop = S.find((s) => freeS.has(s))!;
      const jTop = J.find((j) => freeJ.has(j))!;
      let s = sTop;
      let j = jTop;
      if (pool.mass[sTop]! > units[jTop]!.mass) {
        let best = Infinity;
        for (const cand of J) {
          if (!freeJ.has(cand)) continue;
          const c = referenceCost(pool, sTop, units[cand]!);
          if (c < best) [best, j] = [c, cand];
        }
        cost += best;
      } else {
        let best = Infinity;
        for (const cand of S) {
          if (!freeS.has(cand)) continue;
          const c = referenceCost(pool, cand, units[jTop]!);
          if (c < best) [best, s] = [c, cand];
        }
        cost += best;
      }
      freeS.delete(s);
      freeJ.delete(j);
      slots[j] = s;
    }
    remaining = remaining.filter((u) => slots[u] === -1);
  }
  if (remaining.length > 0)
    return fail('E_INTERNAL', `The greedy overlap left ${remaining.length} units without a slot.`);
  return ok({ slots, cost });
}

/**
 * The quadratic loss of a final grouping: for every slot, Σ_occupants Σ_p F̃ (v* − w)², v* the
 * Fisher-weighted mean of the occupants (per-model normalised Fisher). Comparable across strategies.
 */
export function groupCost(
  models: readonly OverlapModelInput[],
  placed: readonly OverlappedModel[],
  P: number,
): number {
  const slotCount = placed.reduce((a, m) => Math.max(a, ...Array.from(m.pageSlots, (s) => s + 1)), 0);
  const phi = new Float64Array(slotCount * P);
  const phiW = new Float64Array(slotCount * P);
  const phiWW = new Float64Array(slotCount * P);
  models.forEach((m, k) => {
    let total = 0;
    for (const f of m.fisher) total += f;
    const scale = total > 0 ? 1 / total : 0;
    placed[k]!.pageSlots.forEach((s, j) => {
      if (s < 0) return;
      const len = pageLength(j, m.values.length, P);
      for (let p = 0; p < len; p++) {
        const f = m.fisher[j * P + p]! * scale;
        const w = m.values[j * P + p]!;
        phi[s * P + p]! += f;
        phiW[s * P + p]! += f * w;
        phiWW[s * P + p]! += f * w * w;
      }
    });
  });
  // Σ f (w − v*)² = Σ f w² − (Σ f w)² / Σ f
  let cost = 0;
  for (let i = 0; i < phi.length; i++)
    if (phi[i]! > 0) cost += Math.max(0, phiWW[i]! - (phiW[i]! * phiW[i]!) / phi[i]!);
  return cost;
}
