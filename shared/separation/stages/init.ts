/**
 * Stage 6 — the shared pages' initial values (DESIGN.md, the planner, step 5). The strategy offers
 * candidates (ours: every kind of init.ts, or the one asked for; the reference: its random init);
 * with more than one, each is evaluated on every task's validation split and the lowest mean loss is
 * kept (the first on a tie). A single candidate is taken without an evaluation, and no loss is
 * recorded for it. Right after overlap every task falls towards chance whatever the init; the
 * optimisation is what recovers.
 */
import { attemptAsync, fail, throwIfCancelled, type Result } from '../../core/errors.ts';
import type { FisherResult } from '../fisher.ts';
import type { Formation } from '../formation.ts';
import type { InitModelInput } from '../init.ts';
import { evaluatePages, type PagedState, type TaskGradients } from '../optimize.ts';
import type { PlannerOptions } from '../planner-options.ts';
import type { PlannerStrategy } from '../strategies/strategy.ts';
import type { StageContext } from './context.ts';
import type { Paging } from './overlap.ts';

export interface Initialised {
  /** The pages the optimisation starts from: the chosen shared pages, the paging's exclusive pages. */
  readonly state: PagedState;
  /** The candidate kept. */
  readonly chosen: string;
  /** Mean validation loss of each candidate evaluated (none when there was one candidate). */
  readonly losses: Readonly<Record<string, number>>;
}

export async function initStage(
  strategy: PlannerStrategy,
  formations: readonly Formation[],
  fisher: readonly FisherResult[],
  paging: Paging,
  tasks: readonly TaskGradients[],
  options: PlannerOptions,
  ctx: StageContext,
): Promise<Result<Initialised>> {
  const M = paging.sharedPageCount;
  const P = options.method.pageSize;
  const models: InitModelInput[] = [];
  for (const [k, f] of formations.entries()) {
    const F = fisher[k];
    const pageTable = paging.tables[k];
    if (!F || !pageTable) return fail('E_INTERNAL', `The init has no Fisher or page table for model ${k}.`);
    models.push({ values: f.flat, fisher: F.perWeight, pageTable });
  }
  const made = strategy.initCandidates(models, { sharedPageCount: M, pageSize: P }, options);
  if (!made.ok) return made;
  const candidates = made.value;
  const first = candidates[0];
  if (!first) return fail('E_INTERNAL', `The ${strategy.name} strategy offered no shared-page init.`);
  const state: PagedState = {
    pageSize: P,
    sharedPageCount: M,
    shared: new Float32Array(M * P),
    exclusive: paging.exclusive,
    tables: paging.tables,
    selfTied: paging.selfTying > 1,
  };
  return attemptAsync(async () => {
    const losses: Record<string, number> = {};
    let best = first;
    let bestLoss = Infinity;
    for (const [i, c] of candidates.entries()) {
      throwIfCancelled(ctx.signal);
      if (candidates.length > 1) {
        state.shared.set(c.sharedPages);
        const scores = await evaluatePages(state, tasks);
        const loss = scores.reduce((a, s) => a + s.loss, 0) / tasks.length;
        losses[c.kind] = loss;
        // `i === 0` keeps the first when every loss is NaN, as a strict `<` never would.
        if (loss < bestLoss || i === 0) {
          bestLoss = loss;
          best = c;
        }
      }
      ctx.progress(i + 1, candidates.length, { message: c.kind });
    }
    state.shared.set(best.sharedPages);
    return { state, chosen: best.kind, losses };
  }, 'E_PLAN');
}
