/**
 * Learning-rate schedules: a pure function of the step, so a resumed or repeated run gets the same
 * rates. Warm-up is linear from lr/warmup-steps; it softens the jolt a fresh Adam gives converged
 * weights (notes/prototype-separation.md: about −1 validation point in the first 100 steps).
 */
export type Schedule =
  | { readonly kind: 'constant'; readonly warmup?: number }
  /** Cosine decay from lr to lr·minFactor over the run's steps. */
  | { readonly kind: 'cosine'; readonly warmup?: number; readonly minFactor?: number }
  /** lr·factor^⌊step/every⌋. */
  | { readonly kind: 'step'; readonly warmup?: number; readonly every: number; readonly factor: number };

/** The learning rate for 0-based `step` of `total`, given the base rate. */
export function learningRate(schedule: Schedule, base: number, step: number, total: number): number {
  const warmup = schedule.warmup ?? 0;
  if (step < warmup) return (base * (step + 1)) / warmup;
  switch (schedule.kind) {
    case 'constant':
      return base;
    case 'cosine': {
      const span = Math.max(1, total - warmup);
      const t = Math.min(1, (step - warmup) / span);
      const min = schedule.minFactor ?? 0;
      return base * (min + (1 - min) * 0.5 * (1 + Math.cos(Math.PI * t)));
    }
    case 'step':
      return base * schedule.factor ** Math.floor(step / schedule.every);
  }
}
