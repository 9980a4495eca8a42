/**
 * The ablation (issue 12): ours at the headline budget with each training addition switched off in
 * turn, so that the method (separation, balanced overlap, joint optimisation) and the training tricks
 * can be told apart. Every row obeys the same device budget; only the optimisation's options differ.
 */
import type { DeviceProfile } from '../shared/image/device-profile.ts';
import { DEFAULT_PLANNER_OPTIONS, type PlannerOptimisation } from '../shared/separation/planner-options.ts';
import type { BenchContext, BenchReport, BenchSection } from './harness.ts';
import {
  QUICK_STEPS,
  commandLine,
  headlineDevice,
  perTaskTable,
  planBenchOptions,
  rowOf,
  runPlans,
  signed,
  summary,
  totalsTable,
  zooShape,
  type PlanJob,
} from './plan-common.ts';

/** Each addition and the override that switches it off (planner-options.ts); the first row has none. */
export const ABLATIONS: ReadonlyArray<{
  readonly label: string;
  readonly off: Partial<PlannerOptimisation>;
}> = [
  { label: 'all additions (defaults)', off: {} },
  {
    label: 'no distillation',
    off: { distill: { ...DEFAULT_PLANNER_OPTIONS.optimisation.distill, alpha: 0 } },
  },
  { label: 'no augmentation', off: { augment: false } },
  { label: 'no layer-scale equalisation', off: { equalizeLayerScales: false } },
  { label: 'no page average (EMA)', off: { ema: 0 } },
  { label: 'no task focus', off: { focus: 0 } },
];

export function ablationJobs(
  device: DeviceProfile,
  o: { quick: boolean; only?: readonly string[]; ratio: number },
): PlanJob[] {
  return ABLATIONS.map(({ label, off }) => ({
    label,
    obeys: `device: headline ${o.ratio}x`,
    plan: {
      device,
      optimisation: { ...off, ...(o.quick ? { steps: QUICK_STEPS } : {}) },
      ...(o.only ? { only: o.only } : {}),
    },
  }));
}

export const planAblationBench: BenchSection = {
  id: 'plan-ablation',
  title: 'Planner ablation: each training addition switched off in turn',
  async run(ctx: BenchContext): Promise<BenchReport> {
    const o = planBenchOptions(ctx);
    const shape = zooShape(o.only);
    const device = headlineDevice(shape, o.ratio);
    const jobs = ablationJobs(device, o);
    const rows = await runPlans(ctx, jobs);
    const table = ABLATIONS.map((a) => rowOf(rows, a.label));
    const all = summary(table[0]!.report);
    const lines = table.slice(1).map((row) => {
      const s = summary(row.report);
      return `| ${row.label} | ${signed(s.valMean - all.valMean)} | ${signed(s.valWorst - all.valWorst)} | ${signed(s.mean - all.mean)} | ${signed(s.worst - all.worst)} |`;
    });
    const markdown = [
      commandLine('plan-ablation', o, shape),
      `Estimated wall time of the full run: ${jobs.length} plans, two at a time, about 15 minutes each on the 2-core machine: about ${Math.ceil(jobs.length / 2) * 15} minutes.`,
      'One seed (1): a difference smaller than the seed-to-seed spread of plan-seeds is not evidence either way.',
      '',
      totalsTable(table),
      '',
      'What switching each addition off changed against the defaults, in points (negative: the addition helped):',
      '',
      '| switched off | val Δ mean | val Δ worst | test Δ mean | test Δ worst |',
      '|---|---|---|---|---|',
      ...lines,
      '',
      perTaskTable(table),
    ].join('\n');
    return {
      markdown,
      figures: Object.fromEntries(table.map((row) => [row.label, summary(row.report).mean])),
    };
  },
};
