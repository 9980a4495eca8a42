/**
 * The benchmark harness: each section measures one thing against its baseline in the same run and
 * returns a markdown block for docs/BENCHMARKS.md plus machine-readable figures.
 */
export interface BenchContext {
  /** Shorter runs (fewer repetitions), for smoke-testing the benchmark itself. */
  readonly quick: boolean;
  readonly log: (line: string) => void;
  /** The value of `--name value` on the command line (e.g. plan-seeds' `--seeds 1,2,3`), if given. */
  readonly option: (name: string) => string | undefined;
}

export interface BenchReport {
  /** A markdown block: what was measured, the table, the ratio against the baseline. */
  readonly markdown: string;
  readonly figures: Readonly<Record<string, number>>;
}

export interface BenchSection {
  readonly id: string;
  readonly title: string;
  run(ctx: BenchContext): Promise<BenchReport>;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Times `fn` `repeats` times after `warmup` untimed calls; milliseconds per call. */
export async function timeIt(
  fn: () => Promise<unknown> | unknown,
  repeats: number,
  warmup = 3,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times;
}
