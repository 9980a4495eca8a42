/**
 * Where a device's rollout time goes, per phase: a remote command over SSH costs a session setup on
 * the device (hundreds of milliseconds on a small board), so how many commands a phase runs matters
 * as much as the bytes it moves. The bench reports these; a rollout's report carries them per device.
 */

/**
 * connect: TCP, key exchange, login. status: the agent's `status` (with the upload's files). upload:
 * SFTP. activate: a delta's rebuild, verify, install, switch and the health check. reconcile: asking
 * the device again, on a fresh connection, after the rollout ended without success there.
 */
export type RolloutPhase = 'connect' | 'status' | 'upload' | 'activate' | 'reconcile';

export const ROLLOUT_PHASES: readonly RolloutPhase[] = [
  'connect',
  'status',
  'upload',
  'activate',
  'reconcile',
];

/** Milliseconds per phase, summed over a device's attempts; phases that did not run are absent. */
export type PhaseTimes = Partial<Record<RolloutPhase, number>>;

/** Runs `work`, adding its wall time to `times[phase]`. */
export async function timed<T>(
  times: PhaseTimes | undefined,
  phase: RolloutPhase,
  work: () => Promise<T>,
): Promise<T> {
  const t0 = performance.now();
  try {
    return await work();
  } finally {
    if (times) times[phase] = (times[phase] ?? 0) + (performance.now() - t0);
  }
}
