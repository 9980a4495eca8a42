/**
 * First-order optimizers that update float32 parameters in place from gradients in preallocated
 * buffers. State (momentum, Adam moments) is allocated once, when the optimizer is created for a
 * list of parameter sizes, so a training step allocates nothing.
 *
 * The update rules follow PyTorch's `torch.optim.SGD` and `torch.optim.Adam`/`AdamW`, so hyper-parameters
 * from papers and from the prototype carry over unchanged. Arithmetic per element is done in float64
 * and stored as float32; the order of operations is fixed, so a run is deterministic.
 *
 * The planner runs its own page-level Adam by giving this module its page pool as one parameter
 * array: nothing here knows about models.
 */
import { fail, ok, type Result } from '../core/errors.ts';

export interface SgdSpec {
  readonly kind: 'sgd';
  readonly lr: number;
  /** Heavy-ball momentum; 0 turns it off. Default 0.9. */
  readonly momentum?: number;
  /** Nesterov's look-ahead form of momentum. Default false. */
  readonly nesterov?: boolean;
  /** L2 penalty added to the gradient (coupled, as in torch.optim.SGD). Default 0. */
  readonly weightDecay?: number;
}

export interface AdamSpec {
  readonly kind: 'adam';
  readonly lr: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  /** Weight decay; coupled (L2 in the gradient) unless `decoupled`. Default 0. */
  readonly weightDecay?: number;
  /** Decoupled weight decay (AdamW): p ← p − lr·wd·p before the Adam update. */
  readonly decoupled?: boolean;
}

export type OptimizerSpec = SgdSpec | AdamSpec;

export interface Optimizer {
  readonly spec: OptimizerSpec;
  /** The learning rate used by the next `step`; a schedule sets it before each step. */
  lr: number;
  /** Steps taken so far (Adam's bias correction uses it). */
  readonly steps: number;
  /** Updates `params[i]` in place from `grads[i]`; both lists match the sizes given at creation. */
  step(params: readonly Float32Array[], grads: readonly Float32Array[]): void;
  /** Clears the state (moments, step count), as if freshly created. */
  reset(): void;
}

/** Checks a spec's numbers, so a typo on the command line is an error rather than NaN weights. */
export function validateOptimizerSpec(spec: OptimizerSpec): Result<OptimizerSpec> {
  const bad = (what: string) => fail<OptimizerSpec>('E_USAGE', `Optimizer ${spec.kind}: ${what}.`);
  if (!(spec.lr > 0) || !Number.isFinite(spec.lr))
    return bad(`the learning rate must be a positive number, got ${spec.lr}`);
  if ((spec.weightDecay ?? 0) < 0) return bad('weight decay must be ≥ 0');
  if (spec.kind === 'sgd') {
    const m = spec.momentum ?? 0.9;
    if (!(m >= 0 && m < 1)) return bad(`momentum must be in [0, 1), got ${m}`);
    if (spec.nesterov && m === 0) return bad('Nesterov needs a momentum > 0');
  } else {
    const b1 = spec.beta1 ?? 0.9;
    const b2 = spec.beta2 ?? 0.999;
    if (!(b1 >= 0 && b1 < 1) || !(b2 >= 0 && b2 < 1)) return bad('β1 and β2 must be in [0, 1)');
    if (!((spec.eps ?? 1e-8) > 0)) return bad('ε must be > 0');
  }
  return ok(spec);
}

/** Creates an optimizer for parameters of the given sizes (state is allocated here, once). */
export function createOptimizer(spec: OptimizerSpec, sizes: readonly number[]): Optimizer {
  return spec.kind === 'sgd' ? new Sgd(spec, sizes) : new Adam(spec, sizes);
}

function checkShapes(
  sizes: readonly number[],
  params: readonly Float32Array[],
  grads: readonly Float32Array[],
): void {
  if (params.length !== sizes.length || grads.length !== sizes.length) {
    throw new Error(
      `optimizer: expected ${sizes.length} parameter arrays, got ${params.length} parameters and ${grads.length} gradients`,
    );
  }
  for (let i = 0; i < sizes.length; i++) {
    if (params[i]!.length !== sizes[i] || grads[i]!.length !== sizes[i]) {
      throw new Error(
        `optimizer: parameter ${i} has ${params[i]!.length} values and ${grads[i]!.length} gradients, expected ${sizes[i]}`,
      );
    }
  }
}

class Sgd implements Optimizer {
  lr: number;
  steps = 0;
  private readonly momentum: number;
  private readonly buffers: Float32Array[];

  constructor(
    readonly spec: SgdSpec,
    private readonly sizes: readonly number[],
  ) {
    this.lr = spec.lr;
    this.momentum = spec.momentum ?? 0.9;
    // No buffers without momentum: plain SGD needs no state.
    this.buffers = this.momentum > 0 ? sizes.map((n) => new Float32Array(n)) : [];
  }

  step(params: readonly Float32Array[], grads: readonly Float32Array[]): void {
    checkShapes(this.sizes, params, grads);
    const lr = this.lr;
    const mu = this.momentum;
    const wd = this.spec.weightDecay ?? 0;
    const nesterov = this.spec.nesterov ?? false;
    for (let t = 0; t < params.length; t++) {
      const p = params[t]!;
      const g = grads[t]!;
      if (mu === 0) {
        for (let i = 0; i < p.length; i++) p[i] = p[i]! - lr * (g[i]! + wd * p[i]!);
        continue;
      }
      const buf = this.buffers[t]!;
      for (let i = 0; i < p.length; i++) {
        const d = g[i]! + wd * p[i]!;
        // torch starts the buffer at the first gradient; with a zero buffer μ·0 + d is the same thing.
        const b = mu * buf[i]! + d;
        buf[i] = b;
        p[i] = p[i]! - lr * (nesterov ? d + mu * b : b);
      }
    }
    this.steps++;
  }

  reset(): void {
    for (const b of this.buffers) b.fill(0);
    this.steps = 0;
  }
}

class Adam implements Optimizer {
  lr: number;
  steps = 0;
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];

  constructor(
    readonly spec: AdamSpec,
    private readonly sizes: readonly number[],
  ) {
    this.lr = spec.lr;
    this.m = sizes.map((n) => new Float32Array(n));
    this.v = sizes.map((n) => new Float32Array(n));
  }

  step(params: readonly Float32Array[], grads: readonly Float32Array[]): void {
    checkShapes(this.sizes, params, grads);
    const b1 = this.spec.beta1 ?? 0.9;
    const b2 = this.spec.beta2 ?? 0.999;
    const eps = this.spec.eps ?? 1e-8;
    const wd = this.spec.weightDecay ?? 0;
    const decoupled = this.spec.decoupled ?? false;
    const lr = this.lr;
    const t = ++this.steps;
    const c1 = 1 - b1 ** t;
    const c2 = 1 - b2 ** t;
    // torch: p -= lr/c1 · m / (√v/√c2 + ε); the same expression order keeps results comparable.
    const stepSize = lr / c1;
    const sqrtC2 = Math.sqrt(c2);
    const shrink = decoupled ? 1 - lr * wd : 1;
    const l2 = decoupled ? 0 : wd;
    for (let k = 0; k < params.length; k++) {
      const p = params[k]!;
      const g = grads[k]!;
      const m = this.m[k]!;
      const v = this.v[k]!;
      for (let i = 0; i < p.length; i++) {
        const pi = p[i]! * shrink;
        const gi = g[i]! + l2 * pi;
        const mi = b1 * m[i]! + (1 - b1) * gi;
        const vi = b2 * v[i]! + (1 - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = pi - (stepSize * mi) / (Math.sqrt(vi) / sqrtC2 + eps);
      }
    }
  }

  reset(): void {
    for (const a of this.m) a.fill(0);
    for (const a of this.v) a.fill(0);
    this.steps = 0;
  }
}
