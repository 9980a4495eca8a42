/**
 * The reference's optimisation, kept as a baseline (`--strategy reference`; reference-algorithm.md §1
 * and §6), on its published schedule (`PUBLISHED_REFERENCE_SCHEDULE`):
 *
 * 1. Formation: the models one after another, in their given order (the reference's insertion
 *    order), each trained alone right after it is "added" — 2000 steps of batch 100 with a fresh
 *    Adam (1e-3) on cross-entropy + λ·(overlapping penalty) against the models added before it; its
 *    best validation snapshot (evaluated at step 0, every 100 steps and at the last step) is written
 *    back into the pages.
 * 2. Rounds: 1000 rounds (the reference's 100 × 10); in each, every model in order runs one chunk of
 *    32 steps with a fresh Adam, accepted only when its validation accuracy improves; an accepted
 *    chunk overwrites the pages (last writer wins). Every 10 rounds all models are evaluated.
 *
 * The penalty pulls each shared weight towards the other occupants' latest self-trained weights,
 * weighted by their min–max normalised Fisher and averaged over the occupants whose term is non-zero.
 *
 * Deliberate differences from the reference code: every decision reads the validation split (the
 * reference read the test split); every sampler is seeded; and the state kept is the evaluation with
 * the best mean validation accuracy (the reference kept the last), which can only help it. The
 * overlap is made before this stage from the models' original weights (overlap.ts), where the
 * reference placed each model against the pages its predecessors had just trained.
 */
import { fail, ok, raise, throwIfCancelled, type Result } from '../core/errors.ts';
import { noProgress, type ProgressSink } from '../core/progress.ts';
import { createOptimizer } from '../train/optimizers.ts';
import {
  PageSnapshot,
  evalPoint,
  evaluatePages,
  gatherTask,
  validationFigures,
  type EvalPoint,
  type JointResult,
  type PagedState,
  type TaskGradients,
} from './optimize.ts';
import { scatterWeights } from './tables.ts';

/** The reference's training schedule; every member is per model. */
export interface ReferenceSchedule {
  /** Training batch per step (the task sessions are opened with it). */
  readonly batchSize: number;
  /** Adam's learning rate; Adam starts afresh for every formation and every chunk. */
  readonly lr: number;
  /** λ, the overlapping penalty's weight. */
  readonly lambda: number;
  /** Steps each model trains alone right after it is added. */
  readonly formationSteps: number;
  /** Validation interval of the formation training (and its last step). */
  readonly formationEvalEvery: number;
  /** Rounds of the optimisation phase: in each, every model runs one chunk. */
  readonly rounds: number;
  readonly chunkSteps: number;
  /** All models are evaluated after every this many rounds. */
  readonly evalEveryRounds: number;
}

/**
 * As published (reference-algorithm.md §1, `formation.sh` and `optimization.sh`; §6 `v_train`): batch
 * 100, Adam 1e-3, λ = 0.1; 2000 formation steps per model; then 100 × 10 rounds of 32-step chunks,
 * evaluated every 10 rounds — 34,000 steps of batch 100 per model.
 */
export const PUBLISHED_REFERENCE_SCHEDULE: ReferenceSchedule = {
  batchSize: 100,
  lr: 1e-3,
  lambda: 0.1,
  formationSteps: 2000,
  formationEvalEvery: 100,
  rounds: 1000,
  chunkSteps: 32,
  evalEveryRounds: 10,
};

/** Steps per model the schedule runs: formation + rounds × chunk. */
export function scheduleSteps(s: ReferenceSchedule): number {
  return s.formationSteps + s.rounds * s.chunkSteps;
}

/** Refuses a schedule that cannot run, naming the member. */
export function checkReferenceSchedule(s: ReferenceSchedule): Result<void> {
  const whole: Array<[string, number, number]> = [
    ['batchSize', s.batchSize, 1],
    ['formationSteps', s.formationSteps, 0],
    ['formationEvalEvery', s.formationEvalEvery, 1],
    ['rounds', s.rounds, 0],
    ['chunkSteps', s.chunkSteps, 1],
    ['evalEveryRounds', s.evalEveryRounds, 1],
  ];
  for (const [name, v, least] of whole) {
    if (!Number.isInteger(v) || v < least)
      return fail(
        'E_USAGE',
        `The reference schedule's ${name} must be a whole number ≥ ${least} (got ${v}).`,
      );
  }
  if (!(s.lr > 0))
    return fail('E_USAGE', `The reference schedule's learning rate must be positive (got ${s.lr}).`);
  if (!(s.lambda >= 0 && Number.isFinite(s.lambda)))
    return fail('E_USAGE', `The reference schedule's λ must be a finite number ≥ 0 (got ${s.lambda}).`);
  if (s.formationSteps + s.rounds === 0)
    return fail('E_USAGE', 'The reference schedule runs no step: give it formation steps or rounds.');
  return ok(undefined);
}

export interface ReferenceOptions {
  readonly schedule: ReferenceSchedule;
  /** Per task, per weight: Fisher min–max normalised to [0, 1] over the task's weights. */
  readonly normalizedFisher: readonly Float32Array[];
  /** Per task, its original validation accuracy: the floors are reported, not used to select. */
  readonly baselineVal: readonly number[];
  readonly floorPoints: number;
  readonly signal?: AbortSignal;
  readonly progress?: ProgressSink;
  /** Per-model steps done of the schedule's total (formation + rounds × chunk). */
  readonly onStep?: (step: number, total: number) => void;
}

type Partners = Array<Array<{ task: number; page: number }>>;

/** For each page of task k on a shared slot: the other tasks' pages on that slot (of `among` only). */
export function partnersOf(
  state: PagedState,
  k: number,
  among: (task: number) => boolean = () => true,
): Partners {
  const M = state.sharedPageCount;
  const bySlot = new Map<number, Array<{ task: number; page: number }>>();
  state.tables.forEach((table, l) => {
    if (l === k || !among(l)) return;
    table.forEach((entry, page) => {
      if (entry < M) {
        const list = bySlot.get(entry) ?? [];
        list.push({ task: l, page });
        bySlot.set(entry, list);
      }
    });
  });
  return Array.from(state.tables[k]!, (entry) => (entry < M ? (bySlot.get(entry) ?? []) : []));
}

/**
 * Adds λ·∂penalty/∂w to `grad` and returns λ·penalty, where penalty = Σ_i [Σ_l F_l(w_i − w̃_l)²] ÷
 * #{l : F_l(w_i − w̃_l)² ≠ 0} over the partners l of each weight i (reference-algorithm.md §6).
 */
export function addPenalty(
  w: Float32Array,
  grad: Float32Array,
  partners: Partners,
  latest: readonly Float32Array[],
  fisher: readonly Float32Array[],
  P: number,
  lambda: number,
): number {
  let penalty = 0;
  for (let j = 0; j < partners.length; j++) {
    const list = partners[j]!;
    if (list.length === 0) continue;
    const start = j * P;
    const len = Math.min(P, w.length - start);
    for (let p = 0; p < len; p++) {
      const wi = w[start + p]!;
      let sum = 0;
      let dsum = 0;
      let count = 0;
      for (const { task, page } of list) {
        const q = page * P + p;
        const other = latest[task]!;
        if (q >= other.length) continue;
        const f = fisher[task]![q]!;
        const d = wi - other[q]!;
        const term = f * d * d;
        if (term !== 0) {
          count++;
          sum += term;
          dsum += 2 * f * d;
        }
      }
      if (count > 0) {
        penalty += sum / count;
        grad[start + p]! += (lambda * dsum) / count;
      }
    }
  }
  return lambda * penalty;
}

export async function optimizeReference(
  state: PagedState,
  tasks: readonly TaskGradients[],
  options: ReferenceOptions,
): Promise<JointResult> {
  const s = options.schedule;
  const checked = checkReferenceSchedule(s);
  if (!checked.ok) raise(checked.error.code, checked.error.message);
  const K = tasks.length;
  const P = state.pageSize;
  const total = scheduleSteps(s);
  // Each model's latest self-trained weights: what the others' penalty pulls towards. With a formation
  // phase an entry is read only once its model has been added and trained; without one (a shortened
  // schedule) a model not yet accepted is pulled towards by its initial weights.
  const latest: Float32Array[] = tasks.map((t, k) =>
    gatherTask(state, k, t, new Float32Array(t.weightCount)).slice(),
  );
  const everyone = tasks.map((_, k) => partnersOf(state, k));
  const floors = options.baselineVal.map((v) => v - options.floorPoints / 100);
  const history: EvalPoint[] = [];
  let best: EvalPoint | undefined;
  const snapshot = new PageSnapshot(state);
  let accepted = 0;
  let chunks = 0;
  let taskSteps = 0; // over all models; progress is per model: taskSteps ÷ K
  const tick = () => {
    taskSteps++;
    options.onStep?.(Math.floor(taskSteps / K), total);
  };

  const evaluate = async (step: number, phase: string) => {
    const point = evalPoint(
      step,
      (await evaluatePages(state, tasks)).map((r) => r.accuracy),
      floors,
    );
    history.push(point);
    // The reference has no floors; the best mean is the one addition (see the top), in its favour.
    const improved = !best || point.meanValAccuracy > best.meanValAccuracy;
    if (improved) {
      best = point;
      snapshot.capture(state);
    }
    (options.progress ?? noProgress)({
      stage: 'optimize',
      step,
      total,
      fraction: total > 0 ? step / total : 1,
      message: `reference: ${phase}`,
      validation: validationFigures(
        tasks,
        point,
        undefined,
        { name: 'mean', value: point.meanValAccuracy },
        improved,
      ),
    });
  };

  /** Writes task k's weights back into the pages (last writer wins) and records them as its latest. */
  const writeBack = (k: number, w: Float32Array) => {
    const task = tasks[k]!;
    const r = scatterWeights(
      state.tables[k]!,
      {
        sharedPageCount: state.sharedPageCount,
        pageSize: P,
        weightCount: task.weightCount,
        selfTied: state.selfTied,
      },
      w,
      state.shared,
      state.exclusive[k]!,
    );
    if (!r.ok) raise(r.error.code, r.error.message);
    latest[k] = w.slice();
  };

  /** `steps` steps of task k from weights `w` with a fresh Adam; `after` runs after each step. */
  const train = async (
    k: number,
    w: Float32Array,
    partners: Partners,
    steps: number,
    after: (i: number) => Promise<void>,
  ) => {
    const task = tasks[k]!;
    const grad = new Float32Array(task.weightCount);
    const adam = createOptimizer({ kind: 'adam', lr: s.lr }, [w.length]);
    for (let i = 1; i <= steps; i++) {
      throwIfCancelled(options.signal);
      const loss = await task.trainBatch(w, grad);
      if (!Number.isFinite(loss)) raise('E_PLAN', `Reference optimisation diverged on task ${task.name}.`);
      addPenalty(w, grad, partners, latest, options.normalizedFisher, P, s.lambda);
      adam.step([w], [grad]);
      tick();
      await after(i);
    }
  };

  await evaluate(0, 'start');
  const started = performance.now();

  // 1. Formation, in insertion order: a model's penalty sees only the models added before it.
  if (s.formationSteps > 0) {
    for (let k = 0; k < K; k++) {
      const task = tasks[k]!;
      const w = gatherTask(state, k, task, new Float32Array(task.weightCount));
      const kept = w.slice();
      let bestAccuracy = (await task.validate(w)).accuracy;
      const partners = partnersOf(state, k, (l) => l < k);
      await train(k, w, partners, s.formationSteps, async (i) => {
        if (i % s.formationEvalEvery !== 0 && i !== s.formationSteps) return;
        const accuracy = (await task.validate(w)).accuracy;
        if (accuracy > bestAccuracy) {
          bestAccuracy = accuracy;
          kept.set(w);
        }
      });
      writeBack(k, kept);
    }
    await evaluate(s.formationSteps, `formation of ${K} models done`);
  }

  // 2. Rounds: one chunk per model, in order, accepted when its validation accuracy improves.
  for (let round = 1; round <= s.rounds; round++) {
    for (let k = 0; k < K; k++) {
      const task = tasks[k]!;
      const w = gatherTask(state, k, task, new Float32Array(task.weightCount));
      const before = (await task.validate(w)).accuracy;
      await train(k, w, everyone[k]!, s.chunkSteps, async () => {});
      chunks++;
      const after = (await task.validate(w)).accuracy;
      if (after > before) {
        accepted++;
        writeBack(k, w);
      }
    }
    if (round % s.evalEveryRounds === 0 || round === s.rounds)
      await evaluate(s.formationSteps + round * s.chunkSteps, `${accepted}/${chunks} chunks accepted`);
  }

  const msPerStep = total > 0 ? (performance.now() - started) / total : 0;
  snapshot.restore(state);
  return { bestStep: best!.step, history, stepsRun: total, msPerStep, valAccuracy: best!.valAccuracy };
}
