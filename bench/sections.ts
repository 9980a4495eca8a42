import type { BenchSection } from './harness.ts';

/** Every benchmark section, in the order they run and appear in docs/BENCHMARKS.md. */
export const SECTIONS: readonly BenchSection[] = [];
