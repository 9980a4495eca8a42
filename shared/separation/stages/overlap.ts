/**
 * Stage 5 — overlap (DESIGN.md, the planner, step 4): each model's sharable units placed on the
 * shared slots by the strategy's rule (overlap.ts), and what the placement fixes for the rest of the
 * plan: every model's page table (tables.ts) and its exclusive pages, which start as the original
 * weights and are optimised in place from here on.
 */
import { fail, ok, type Result } from '../../core/errors.ts';
import type { FisherResult } from '../fisher.ts';
import type { Formation } from '../formation.ts';
import { overlap, type OverlapModelInput } from '../overlap.ts';
import type { PlannerOptions, PlannerTask } from '../planner-options.ts';
import type { PlannerStrategy, Separated } from '../strategies/strategy.ts';
import { buildPageTable, exclusivePagesOf } from '../tables.ts';
import type { StageContext } from './context.ts';

/** The plan's layout: where every page of every model lives. */
export interface Paging {
  /** M. */
  readonly sharedPageCount: number;
  /** Pages of one model per slot the separation used (1: self-tying off). */
  readonly selfTying: number;
  /** Per model: one entry per page, < M a shared slot, ≥ M the exclusive page M + i. */
  readonly tables: readonly Uint32Array[];
  /** Per model: its exclusive pages (E × P values), starting as its original weights. */
  readonly exclusive: readonly Float32Array[];
  /** histogram[c] = shared slots with c occupants. */
  readonly occupancyHistogram: readonly number[];
}

export function overlapStage(
  strategy: PlannerStrategy,
  tasks: readonly PlannerTask[],
  formations: readonly Formation[],
  fisher: readonly FisherResult[],
  separated: Separated,
  options: PlannerOptions,
  ctx: StageContext,
): Result<Paging> {
  const M = separated.sharedPageCount;
  const P = options.method.pageSize;
  const models: OverlapModelInput[] = [];
  for (const [k, t] of tasks.entries()) {
    const f = formations[k];
    const F = fisher[k];
    const units = separated.units[k];
    if (!f || !F || !units) return fail('E_INTERNAL', `The overlap has no separation of task ${t.name}.`);
    models.push({ name: t.name, values: f.flat, fisher: F.perWeight, units });
  }
  const placed = overlap(models, {
    sharedPageCount: M,
    pageSize: P,
    ...strategy.overlap(options),
    seed: options.run.seed,
  });
  if (!placed.ok) return placed;
  const tables: Uint32Array[] = [];
  const exclusive: Float32Array[] = [];
  for (const [k, m] of models.entries()) {
    const slots = placed.value.models[k]?.pageSlots;
    if (!slots) return fail('E_INTERNAL', `The overlap placed no pages of task ${m.name}.`);
    const table = buildPageTable(slots, M);
    if (!table.ok) return table;
    const shape = {
      sharedPageCount: M,
      pageSize: P,
      weightCount: m.values.length,
      selfTied: separated.selfTying > 1,
    };
    const pages = exclusivePagesOf(table.value, shape, m.values);
    if (!pages.ok) return pages;
    tables.push(table.value);
    exclusive.push(pages.value);
  }
  ctx.progress(1, 1);
  return ok({
    sharedPageCount: M,
    selfTying: separated.selfTying,
    tables,
    exclusive,
    occupancyHistogram: placed.value.histogram,
  });
}
