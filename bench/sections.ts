import type { BenchSection } from './harness.ts';
import { planBench } from './plan.bench.ts';
import { switchSection } from './switch.bench.ts';
import { trainStepSection } from './train-step.bench.ts';

/** Every benchmark section, in the order they run and appear in docs/BENCHMARKS.md. */
export const SECTIONS: readonly BenchSection[] = [trainStepSection, planBench, switchSection];
