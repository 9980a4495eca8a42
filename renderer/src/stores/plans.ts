/**
 * Plans: the bundles the app knows (its plans folders and the store's copies) with their report
 * figures, one opened with its page map, and computing a new one from a budget (a job).
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import {
  useClient,
  type ApiEvent,
  type CallResult,
  type Job,
  type PageMap,
  type PlanListing,
  type PlanRequest,
  type WsepError,
} from '../api/client.ts';
import { useJobsStore } from './jobs.ts';
import { useLoadState } from './load-state.ts';

/** The budget form as typed; sizes take the CLI's units (256KiB, 1.5MiB, 4096). */
export interface BudgetForm {
  readonly l1: string;
  readonly l2: string;
  readonly pageSize: string;
  readonly valueType: 'f32' | 'i8';
  /** Joint optimisation steps (empty: the planner's quick default). */
  readonly steps: string;
  readonly models: readonly string[];
  readonly name: string;
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kib: 1024,
  kb: 1000,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  gib: 1024 ** 3,
};

/** "256KiB" → 262144; null when it is not a size. */
export function parseSize(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!match) return null;
  const unit = SIZE_UNITS[(match[2] ?? '').toLowerCase()];
  if (unit === undefined) return null;
  const bytes = Math.round(Number(match[1]) * unit);
  return bytes > 0 ? bytes : null;
}

export function parseBudgetForm(form: BudgetForm): CallResult<PlanRequest> {
  const usage = (message: string): CallResult<PlanRequest> => ({
    ok: false,
    error: { code: 'E_USAGE', message },
  });
  const l1Bytes = parseSize(form.l1);
  if (l1Bytes === null) return usage(`Level 1 must be a size such as 256KiB (got "${form.l1}").`);
  const l2Bytes = parseSize(form.l2);
  if (l2Bytes === null) return usage(`Level 2 must be a size such as 192KiB (got "${form.l2}").`);
  let pageSize: number | undefined;
  if (form.pageSize.trim()) {
    pageSize = Number(form.pageSize);
    if (!Number.isInteger(pageSize) || pageSize <= 0)
      return usage(`The page size must be a whole number of values (got "${form.pageSize}").`);
  }
  let steps: number | undefined;
  if (form.steps.trim()) {
    steps = Number(form.steps);
    if (!Number.isInteger(steps) || steps <= 0)
      return usage(`The optimisation steps must be a whole number above 0 (got "${form.steps}").`);
  }
  const name = form.name.trim();
  if (name && !/^[A-Za-z0-9._-]+$/.test(name))
    return usage(`A plan's name may use letters, digits, dot, dash and underscore (got "${name}").`);
  return {
    ok: true,
    value: {
      l1Bytes,
      l2Bytes,
      valueType: form.valueType,
      ...(steps !== undefined ? { steps } : {}),
      ...(pageSize !== undefined ? { pageSize } : {}),
      ...(form.models.length ? { models: [...form.models] } : {}),
      ...(name ? { name } : {}),
    },
  };
}

export const usePlansStore = defineStore('plans', () => {
  const client = useClient();
  const jobs = useJobsStore();

  const plans = ref<PlanListing[]>([]);
  const { loading, loaded, error, load: loadList } = useLoadState();
  const selectedId = ref<string | null>(null);
  const pageMap = ref<PageMap | null>(null);
  const pageMapError = ref<WsepError | null>(null);

  const selected = computed(() => plans.value.find((plan) => plan.id === selectedId.value) ?? null);
  const planning = computed(() => jobs.latest('plan') as Job<'plan'> | null);

  async function load(): Promise<void> {
    await loadList(
      () => client.call('listPlans'),
      // Newest first; a plan without a date (a folder the report does not date) last.
      (list) =>
        (plans.value = [...list].sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''))),
    );
  }

  async function select(id: string | null): Promise<void> {
    selectedId.value = id;
    pageMap.value = null;
    pageMapError.value = null;
    if (id === null) return;
    const answer = await client.call('pageMap', id);
    if (selectedId.value !== id) return;
    if (answer.ok) pageMap.value = answer.value;
    else pageMapError.value = answer.error;
  }

  async function compute(form: BudgetForm): Promise<CallResult<Job<'plan'>>> {
    const request = parseBudgetForm(form);
    if (!request.ok) return request;
    return jobs.track(await client.call('computePlan', request.value));
  }

  function apply(event: ApiEvent): void {
    if (event.type === 'plans.changed' || (event.type === 'job.ended' && event.job.kind === 'plan'))
      void load();
  }

  client.onEvent(apply);

  return {
    plans,
    loading,
    loaded,
    error,
    selectedId,
    selected,
    pageMap,
    pageMapError,
    planning,
    load,
    select,
    compute,
  };
});
