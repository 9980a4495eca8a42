import { fleetSection } from './fleet.bench.ts';
import type { BenchSection } from './harness.ts';
import { mcuSection } from './mcu.bench.ts';
import { planAblationBench } from './plan-ablation.bench.ts';
import { planFairBench } from './plan-fair.bench.ts';
import { planSeedsBench } from './plan-seeds.bench.ts';
import { planBench } from './plan.bench.ts';
import { switchSection } from './switch.bench.ts';
import { trainStepSection } from './train-step.bench.ts';

/**
 * Every benchmark section, in the order they run and appear in docs/BENCHMARKS.md. The planner's
 * tables are four sections so that each re-runs alone (`npm run bench -- --only plan-fair`).
 */
export const SECTIONS: readonly BenchSection[] = [
  trainStepSection,
  planBench,
  planFairBench,
  planAblationBench,
  planSeedsBench,
  switchSection,
  fleetSection,
  mcuSection,
];
