/**
 * Pins the planner's output for a fixed seed: the shared pages, every model's page table and
 * exclusive pages, and the reported accuracies, by hash. A refactor of the planner must leave these
 * bytes exactly as they are; a change of method must update the pins on purpose, saying why.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../image/plan.ts';
import { STORED_DEVICE, withSizes } from '../image/device-profile.ts';
import { planSeparation, plannerOptions, withOverrides, type PlannerTask } from './planner.ts';
import { PUBLISHED_REFERENCE_SCHEDULE } from './optimize-reference.ts';
import { twoTinyZooTasks } from './zoo-slices.ts';

function tasks(): PlannerTask[] {
  return twoTinyZooTasks(128, true);
}

/** SHA-256 over everything a device receives, plus the accuracies the report states. */
function fingerprint(plan: Plan): string {
  const h = createHash('sha256');
  const bytes = (a: Float32Array | Uint32Array) =>
    h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  h.update(`${plan.pageSize}:${plan.sharedPageCount}:${plan.selfTied}\n`);
  bytes(plan.sharedPages);
  for (const m of plan.models) {
    h.update(`${m.name}:${m.weightCount}:${JSON.stringify(m.accuracy)}\n`);
    bytes(m.pageTable);
    bytes(m.exclusivePages);
  }
  return h.digest('hex');
}

const P = 64;
const REFERENCE_SHORT = {
  ...PUBLISHED_REFERENCE_SCHEDULE,
  formationSteps: 8,
  formationEvalEvery: 4,
  rounds: 2,
  chunkSteps: 4,
  evalEveryRounds: 1,
};
const BASE = plannerOptions(withSizes(STORED_DEVICE, { l1Bytes: 8 * P * 4 + 64 * 4, l2Bytes: 8 * P * 4 }), {
  method: { pageSize: P, fisherSamples: 16 },
  optimisation: { steps: 12, evalEvery: 4, patience: 12 },
  run: { workers: 0 },
});

describe('the planner’s output for a fixed seed (refactors must not change it)', () => {
  it.each([
    ['ours', BASE],
    ['ours, self-tying 2', withOverrides(BASE, { method: { selfTying: 2 } })],
    // The former snapshot selection (before issue 12), which the ablation switches restore exactly:
    // this is the pin "ours" had then. (Ours now keeps step 8's pages, not step 0's: validation is
    // flat over these 12 steps, and a snapshot before half the run must win by more than noise.)
    [
      'ours, former selection',
      withOverrides(BASE, {
        optimisation: {
          selection: 'floors-first',
          smoothing: 1,
          noiseZ: 0,
          minStepsFraction: 0,
          restarts: 0,
        },
      }),
    ],
    // The reference on its own schedule (published batch and rate; 8 formation steps per model and
    // 2 rounds of 4 here), at its own footprint and capped to BASE's budgets.
    [
      'reference',
      withOverrides(
        { ...BASE, device: withSizes(STORED_DEVICE, { l1Bytes: 64 * P * 4, l2Bytes: 64 * P * 4 }) },
        { method: { strategy: 'reference' }, optimisation: { referenceSchedule: REFERENCE_SHORT } },
      ),
    ],
    [
      'reference, capped',
      withOverrides(BASE, {
        method: { strategy: 'reference-capped' },
        optimisation: { referenceSchedule: REFERENCE_SHORT },
      }),
    ],
  ])('%s', async (name, options) => {
    const planned = await planSeparation(tasks(), options);
    if (!planned.ok) throw new Error(planned.error.message);
    expect(fingerprint(planned.value.plan)).toMatchSnapshot();
  });
});
