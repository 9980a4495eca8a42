/**
 * The planner on the ten-task zoo (f32 pages of 512 weights): the frontier of packing ratio against
 * accuracy change at several budget pairs, with and without self-tying. Both packing ratios of
 * shared/image/memory.ts: stored packing = original weight bytes ÷ (shared pages + page tables +
 * exclusive pages), the reference's measure with tables; device packing adds what the `linux-ort`
 * runtime keeps in level 1.
 *
 * The comparison with the reference strategy is its own section (plan-fair.bench.ts, at equal
 * memory), as are the ablation (plan-ablation.bench.ts) and the headline over seeds
 * (plan-seeds.bench.ts); the shared machinery is in plan-common.ts.
 */
import type { BenchContext, BenchReport, BenchSection } from './harness.ts';
import {
  POOL_SHARE,
  budgetsFor,
  commandLine,
  perTaskTable,
  planBenchOptions,
  rowOf,
  runPlans,
  totalsTable,
  zooShape,
  QUICK_STEPS,
  type PlanJob,
} from './plan-common.ts';
import { STORED_DEVICE, withSizes } from '../shared/image/device-profile.ts';

export { budgetsFor, planZooJob } from './plan-common.ts';

/** Stored packing targets of the frontier, without and with self-tying 2. */
export const FRONTIER = { plain: [4, 6, 8], selfTied: [12] } as const;

export const planBench: BenchSection = {
  id: 'plan',
  title: 'Planner: packing ratios and accuracy on the ten-task zoo',
  async run(ctx: BenchContext): Promise<BenchReport> {
    const o = planBenchOptions(ctx);
    const shape = zooShape(o.only);
    const optimisation = o.quick ? { steps: QUICK_STEPS } : {};
    const jobs: PlanJob[] = [];
    for (const ratio of o.quick ? [4] : FRONTIER.plain) {
      const b = budgetsFor(shape.counts, shape.originalBytes, ratio, POOL_SHARE, 1);
      if (b)
        jobs.push({
          label: `ours ${ratio}x`,
          obeys: `device: ${ratio}x`,
          plan: { device: withSizes(STORED_DEVICE, b), optimisation, ...(o.only ? { only: o.only } : {}) },
        });
    }
    for (const ratio of o.quick ? [10] : FRONTIER.selfTied) {
      const b = budgetsFor(shape.counts, shape.originalBytes, ratio, POOL_SHARE, 2);
      if (b)
        jobs.push({
          label: `ours ${ratio}x, self-tying 2`,
          obeys: `device: ${ratio}x`,
          plan: {
            device: withSizes(STORED_DEVICE, b),
            method: { selfTying: 2 },
            optimisation,
            ...(o.only ? { only: o.only } : {}),
          },
        });
    }
    if (jobs.length === 0) throw new Error('No frontier budget fits these models.');
    const rows = await runPlans(ctx, jobs);
    const frontier = jobs.map((j) => rowOf(rows, j.label));
    frontier.sort((a, b) => a.report.totals.storedPacking - b.report.totals.storedPacking);
    const markdown = [
      commandLine('plan', o, shape),
      `Estimated wall time of the full run: ${jobs.length} plans, two at a time, about 15 minutes each on the 2-core machine: about ${Math.ceil(jobs.length / 2) * 15} minutes.`,
      '',
      '### Frontier: stored packing vs accuracy change, with and without self-tying',
      '',
      totalsTable(frontier),
      '',
      perTaskTable(frontier),
    ].join('\n');
    const top = frontier.at(-1)!;
    return {
      markdown,
      figures: Object.fromEntries(
        frontier
          .flatMap((r) => [
            [`${r.label} storedPacking`, r.report.totals.storedPacking],
            [
              `${r.label} meanDelta`,
              r.report.tasks.reduce((a, t) => a + (t.test.after - t.test.before) * 100, 0) /
                r.report.tasks.length,
            ],
          ])
          .concat([['highestStoredPacking', top.report.totals.storedPacking]]),
      ),
    };
  },
};
