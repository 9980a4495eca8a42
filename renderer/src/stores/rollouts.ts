/**
 * Rollouts: the history (newest first) with one rollout opened to its steps, starting a rollout of a
 * plan to devices and tags in waves with an accuracy gate, the live per-device progress of the running
 * ones (from their jobs), stopping, rolling a device back, and the audit log.
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import {
  useClient,
  type ApiEvent,
  type AuditEntry,
  type CallResult,
  type Job,
  type ProgressEvent,
  type Rollout,
  type RolloutInput,
  type RolloutWithSteps,
  type WsepError,
} from '../api/client.ts';
import { useJobsStore } from './jobs.ts';
import { settleAnswer, useLoadState } from './load-state.ts';

/** What the rollout form holds, as typed: the service gets it parsed (parseRolloutForm). */
export interface RolloutForm {
  readonly planId: string;
  /** Device names and tags chosen. */
  readonly to: readonly string[];
  /** Cumulative wave shares as the CLI takes them, e.g. '10%,100%' (empty: the fleet's default). */
  readonly waves: string;
  /** The accuracy gate, in points, as typed (empty: the fleet's default). */
  readonly maxDrop: string;
  readonly full: boolean;
}

/** Checks the form before anything is sent; the same words a user would get from the CLI's usage. */
export function parseRolloutForm(form: RolloutForm): CallResult<RolloutInput> {
  const usage = (message: string): CallResult<RolloutInput> => ({
    ok: false,
    error: { code: 'E_USAGE', message },
  });
  if (!form.planId) return usage('Choose a plan to roll out.');
  if (form.to.length === 0) return usage('Choose at least one device or tag.');
  const waves = form.waves.trim();
  if (waves && !/^\s*\d+(\.\d+)?%?(\s*,\s*\d+(\.\d+)?%?)*\s*$/.test(waves))
    return usage(`Waves must be cumulative shares separated by commas, e.g. 10%,100% (got "${waves}").`);
  let maxDropPoints: number | undefined;
  if (form.maxDrop.trim()) {
    maxDropPoints = Number(form.maxDrop);
    if (!Number.isFinite(maxDropPoints) || maxDropPoints < 0 || maxDropPoints > 100)
      return usage(`The largest accuracy drop must be between 0 and 100 points (got "${form.maxDrop}").`);
  }
  return {
    ok: true,
    value: {
      planId: form.planId,
      to: [...form.to],
      ...(waves ? { waves } : {}),
      ...(maxDropPoints !== undefined ? { maxDropPoints } : {}),
      ...(form.full ? { full: true } : {}),
    },
  };
}

/** One device's live line in a running rollout. */
export interface LiveDevice {
  readonly device: string;
  readonly stage: string;
  readonly fraction: number;
  readonly bytes: number | null;
  readonly totalBytes: number | null;
  readonly message: string | null;
}

/** A running rollout's devices, from its job's newest event per device. */
export function liveDevices(job: Job<'rollout'>): LiveDevice[] {
  return Object.entries(job.perTask)
    .map(([device, event]: [string, ProgressEvent]) => {
      const bytes = event.stage === 'upload' || event.stage === 'stage';
      return {
        device,
        stage: event.stage,
        fraction: event.total ? Math.min(1, event.step / event.total) : event.fraction,
        bytes: bytes ? event.step : null,
        totalBytes: bytes ? (event.total ?? null) : null,
        message: event.message ?? null,
      };
    })
    .sort((a, b) => a.device.localeCompare(b.device));
}

export const useRolloutsStore = defineStore('rollouts', () => {
  const client = useClient();
  const jobs = useJobsStore();

  const rollouts = ref<Rollout[]>([]);
  const { loading, loaded, error, during, settle } = useLoadState();
  const selected = ref<RolloutWithSteps | null>(null);
  const selectedError = ref<WsepError | null>(null);
  const audit = ref<AuditEntry[]>([]);
  const auditError = ref<WsepError | null>(null);

  /** Rollout jobs now running, newest first. */
  const runningJobs = computed(
    () => jobs.running.filter((job) => job.kind === 'rollout') as Job<'rollout'>[],
  );
  /** The newest rollout job, running or ended, to show its outcome after it ends. */
  const lastJob = computed(() => jobs.latest('rollout') as Job<'rollout'> | null);

  async function load(): Promise<void> {
    const [list, log] = await during(() =>
      Promise.all([client.call('listRollouts', { limit: 50 }), client.call('listAudit', { limit: 50 })]),
    );
    settle(list, (value) => (rollouts.value = value));
    settleAnswer(log, auditError, (value) => (audit.value = value));
  }

  async function open(id: number): Promise<void> {
    const answer = await client.call('getRollout', id);
    settleAnswer(answer, selectedError, (value) => (selected.value = value));
  }

  function close(): void {
    selected.value = null;
    selectedError.value = null;
  }

  async function start(form: RolloutForm): Promise<CallResult<Job<'rollout'>>> {
    const input = parseRolloutForm(form);
    if (!input.ok) return input;
    return jobs.track(await client.call('startRollout', input.value));
  }

  async function stop(jobId: string): Promise<CallResult<unknown>> {
    return jobs.cancel(jobId);
  }

  async function rollback(device: string): Promise<CallResult<Job<'rollback'>>> {
    return jobs.track(await client.call('rollbackDevice', device));
  }

  function apply(event: ApiEvent): void {
    const rolloutEnded =
      event.type === 'job.ended' && (event.job.kind === 'rollout' || event.job.kind === 'rollback');
    if (event.type === 'rollout.changed' || rolloutEnded) {
      void load();
      const id = event.type === 'rollout.changed' ? event.rolloutId : null;
      if (selected.value && (id === null || id === selected.value.id)) void open(selected.value.id);
    }
  }

  client.onEvent(apply);

  return {
    rollouts,
    loading,
    loaded,
    error,
    selected,
    selectedError,
    audit,
    auditError,
    runningJobs,
    lastJob,
    load,
    open,
    close,
    start,
    stop,
    rollback,
  };
});
