/**
 * The reference's optimisation, kept as a baseline (`--strategy reference`; reference-algorithm.md §6):
 * the tasks are fine-tuned one after another in chunks of 32 steps, each chunk with a fresh Adam on
 * cross-entropy + λ·(overlapping penalty). The penalty pulls each shared weight towards the other
 * occupants' latest self-trained weights, weighted by their min–max normalised Fisher and averaged
 * over the occupants whose term is non-zero. A chunk is accepted only when validation accuracy
 * improves, and an accepted chunk overwrites the pages (last writer wins).
 *
 * Two deliberate differences from the reference code: selection uses the validation split (the
 * reference used the test split), and every sampler is seeded.
 */
import { raise, throwIfCancelled } from '../core/errors.ts';
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

export interface ReferenceOptions {
  /** Task-gradient steps per task (matched to the joint optimiser's step count). */
  readonly steps: number;
  readonly chunkSteps: number;
  readonly lr: number;
  readonly lambda: number;
  /** Per task, per weight: Fisher min–max normalised to [0, 1] over the task's weights. */
  readonly normalizedFisher: readonly Float32Array[];
  readonly baselineVal: readonly number[];
  readonly floorPoints: number;
  readonly signal?: AbortSignal;
  readonly progress?: ProgressSink;
  readonly onStep?: (step: number, total: number) => void;
}

/** For each page of task k on a shared slot: the other tasks' pages on that slot. */
function partnersOf(state: PagedState, k: number): Array<Array<{ task: number; page: number }>> {
  const M = state.sharedPageCount;
  const bySlot = new Map<number, Array<{ task: number; page: number }>>();
  state.tables.forEach((table, l) =>
    table.forEach((entry, page) => {
      if (entry < M) {
        const list = bySlot.get(entry) ?? [];
        list.push({ task: l, page });
        bySlot.set(entry, list);
      }
    }),
  );
  return Array.from(state.tables[k]!, (entry) =>
    entry < M ? (bySlot.get(entry) ?? []).filter((o) => o.task !== k) : [],
  );
}

/** Adds λ·∂penalty/∂w to `grad` and returns λ·penalty. */
function addPenalty(
  w: Float32Array,
  grad: Float32Array,
  partners: Array<Array<{ task: number; page: number }>>,
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
  const K = tasks.length;
  const P = state.pageSize;
  const latest: Float32Array[] = tasks.map((t, k) =>
    gatherTask(state, k, t, new Float32Array(t.weightCount)).slice(),
  );
  const partners = tasks.map((_, k) => partnersOf(state, k));
  const rounds = Math.max(1, Math.ceil(options.steps / options.chunkSteps));
  const floors = options.baselineVal.map((v) => v - options.floorPoints / 100);
  const history: EvalPoint[] = [];
  let best: EvalPoint | undefined;
  const snapshot = new PageSnapshot(state);
  let accepted = 0;
  let chunks = 0;

  const evaluate = async (step: number) => {
    const point = evalPoint(
      step,
      (await evaluatePages(state, tasks)).map((s) => s.accuracy),
      floors,
    );
    history.push(point);
    // The reference keeps the best mean; per-task floors are ours, so the baseline does not get them.
    const improved = !best || point.meanValAccuracy > best.meanValAccuracy;
    if (improved) {
      best = point;
      snapshot.capture(state);
    }
    (options.progress ?? noProgress)({
      stage: 'optimize',
      step,
      total: rounds * options.chunkSteps,
      fraction: step / (rounds * options.chunkSteps),
      message: `reference: ${accepted}/${chunks} chunks accepted`,
      validation: validationFigures(
        tasks,
        point,
        undefined,
        { name: 'mean', value: point.meanValAccuracy },
        improved,
      ),
    });
  };

  await evaluate(0);
  const started = performance.now();
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < K; k++) {
      throwIfCancelled(options.signal);
      const task = tasks[k]!;
      const w = gatherTask(state, k, task, new Float32Array(task.weightCount));
      const before = (await task.validate(w)).accuracy;
      const grad = new Float32Array(task.weightCount);
      const adam = createOptimizer({ kind: 'adam', lr: options.lr }, [w.length]);
      for (let s = 0; s < options.chunkSteps; s++) {
        const loss = await task.trainBatch(w, grad);
        if (!Number.isFinite(loss)) raise('E_PLAN', `Reference optimisation diverged on task ${task.name}.`);
        addPenalty(w, grad, partners[k]!, latest, options.normalizedFisher, P, options.lambda);
        adam.step([w], [grad]);
      }
      chunks++;
      const after = (await task.validate(w)).accuracy;
      if (after > before) {
        accepted++;
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
        latest[k] = w;
      }
    }
    const step = (round + 1) * options.chunkSteps;
    options.onStep?.(step, rounds * options.chunkSteps);
    await evaluate(step);
  }
  const stepsRun = rounds * options.chunkSteps;
  const msPerStep = (performance.now() - started) / stepsRun;
  snapshot.restore(state);
  return { bestStep: best!.step, history, stepsRun, msPerStep, valAccuracy: best!.valAccuracy };
}
