/**
 * The app's long work (provisioning, rollouts, rollbacks, telemetry pulls, planning) as the events tell
 * it: every job by id, its newest progress overall and per device, and how it ended. Other stores and
 * pages read their own kind of job from here (a device's provisioning, a rollout's live per-device
 * progress), so a job's state is kept once.
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import {
  useClient,
  type AnyJob,
  type ApiEvent,
  type CallResult,
  type JobKind,
  type WsepError,
} from '../api/client.ts';

export const useJobsStore = defineStore('jobs', () => {
  const client = useClient();
  const byId = ref<Record<string, AnyJob>>({});
  const error = ref<WsepError | null>(null);

  /** Newest first. */
  const all = computed(() =>
    Object.values(byId.value).sort((a, b) => b.startedAt.localeCompare(a.startedAt)),
  );
  const running = computed(() => all.value.filter((job) => job.state === 'running'));

  function put(job: AnyJob): void {
    byId.value = { ...byId.value, [job.id]: job };
  }

  /** The newest job of `kind` about `subject` (a device name, a plan id), running or not. */
  function latest(kind: JobKind, subject?: string): AnyJob | null {
    return (
      all.value.find((job) => job.kind === kind && (subject === undefined || job.subject === subject)) ?? null
    );
  }

  function isRunning(kind: JobKind, subject?: string): boolean {
    return running.value.some(
      (job) => job.kind === kind && (subject === undefined || job.subject === subject),
    );
  }

  function apply(event: ApiEvent): void {
    switch (event.type) {
      case 'job.started': {
        // Events can cross: an end that arrived first must not be overwritten by the start.
        const known = byId.value[event.job.id];
        if (known && known.state !== 'running') return;
        put(event.job);
        return;
      }
      case 'job.ended':
        put(event.job);
        return;
      case 'job.progress': {
        const job = byId.value[event.jobId];
        if (!job || job.state !== 'running') return;
        const task = event.event.task;
        put({
          ...job,
          progress: event.event,
          perTask: task === undefined ? job.perTask : { ...job.perTask, [task]: event.event },
        } as AnyJob);
        return;
      }
      default:
        return;
    }
  }

  async function load(): Promise<void> {
    const answer = await client.call('listJobs');
    if (!answer.ok) {
      error.value = answer.error;
      return;
    }
    error.value = null;
    const next: Record<string, AnyJob> = {};
    for (const job of answer.value) next[job.id] = job;
    byId.value = next;
  }

  /** Records a job a command just started (its 'job.started' event may come before or after). */
  function track<J extends AnyJob>(answer: CallResult<J>): CallResult<J> {
    if (answer.ok && !byId.value[answer.value.id]) put(answer.value);
    return answer;
  }

  async function cancel(id: string): Promise<CallResult<AnyJob>> {
    const answer = await client.call('cancelJob', id);
    if (answer.ok && byId.value[id]?.state === 'running') put(answer.value);
    return answer;
  }

  client.onEvent(apply);

  return { byId, all, running, error, latest, isRunning, apply, load, track, cancel };
});
