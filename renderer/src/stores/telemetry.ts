/**
 * Telemetry: one device's rows at a time (its tasks' accuracy, switch and inference time; its level-1
 * and level-2 bytes), turned into chart series, the fleet's accuracy alerts, and pulls (a job) that
 * bring new rows, after which the open device reloads.
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import {
  useClient,
  type AccuracyAlert,
  type ApiEvent,
  type CallResult,
  type Job,
  type TelemetryRow,
  type WsepError,
} from '../api/client.ts';
import { useJobsStore } from './jobs.ts';
import { settleAnswer } from './load-state.ts';

/** [time in ms since the epoch, value]: ECharts' time-axis points. */
export type Point = readonly [number, number];

export interface TelemetrySeries {
  /** Per model, sorted by name. */
  readonly accuracy: ReadonlyMap<string, Point[]>;
  readonly switchMs: ReadonlyMap<string, Point[]>;
  readonly inferMs: ReadonlyMap<string, Point[]>;
  /** The device's rows. */
  readonly level1Bytes: Point[];
  readonly level2Bytes: Point[];
  readonly models: readonly string[];
}

function numberField(row: TelemetryRow, name: string): number | null {
  const value = row.fields[name];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** Rows (oldest first, as the service answers) → one series per model and field, in time order. */
export function telemetrySeries(rows: readonly TelemetryRow[]): TelemetrySeries {
  const accuracy = new Map<string, Point[]>();
  const switchMs = new Map<string, Point[]>();
  const inferMs = new Map<string, Point[]>();
  const level1Bytes: Point[] = [];
  const level2Bytes: Point[] = [];
  const push = (series: Map<string, Point[]>, model: string, time: number, value: number | null): void => {
    if (value === null) return;
    const points = series.get(model) ?? [];
    points.push([time, value]);
    series.set(model, points);
  };
  for (const row of rows) {
    const time = Date.parse(row.time);
    if (Number.isNaN(time)) continue;
    if (row.kind === 'task' && row.model) {
      push(accuracy, row.model, time, numberField(row, 'accuracy'));
      push(switchMs, row.model, time, numberField(row, 'switchMs'));
      push(inferMs, row.model, time, numberField(row, 'inferMs'));
    } else if (row.kind === 'device') {
      const l1 = numberField(row, 'level1ResidentBytes');
      const l2 = numberField(row, 'level2BytesRead');
      if (l1 !== null) level1Bytes.push([time, l1]);
      if (l2 !== null) level2Bytes.push([time, l2]);
    }
  }
  const byTime = (a: Point, b: Point): number => a[0] - b[0];
  const sorted = (series: Map<string, Point[]>): Map<string, Point[]> =>
    new Map(
      [...series.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, v.sort(byTime)]),
    );
  return {
    accuracy: sorted(accuracy),
    switchMs: sorted(switchMs),
    inferMs: sorted(inferMs),
    level1Bytes: level1Bytes.sort(byTime),
    level2Bytes: level2Bytes.sort(byTime),
    models: [...accuracy.keys()].sort(),
  };
}

export const useTelemetryStore = defineStore('telemetry', () => {
  const client = useClient();
  const jobs = useJobsStore();

  const device = ref<string | null>(null);
  /** Only this model's task rows (null: every model). */
  const model = ref<string | null>(null);
  const rows = ref<TelemetryRow[]>([]);
  const loading = ref(false);
  const error = ref<WsepError | null>(null);
  const alerts = ref<AccuracyAlert[]>([]);
  const alertsError = ref<WsepError | null>(null);

  const series = computed(() => telemetrySeries(rows.value));
  const visibleSeries = computed<TelemetrySeries>(() => {
    const all = series.value;
    const only = model.value;
    if (only === null) return all;
    const pick = (m: ReadonlyMap<string, Point[]>) => new Map([...m].filter(([name]) => name === only));
    return { ...all, accuracy: pick(all.accuracy), switchMs: pick(all.switchMs), inferMs: pick(all.inferMs) };
  });
  const deviceAlerts = computed(() => alerts.value.filter((alert) => alert.device === device.value));
  const pulling = computed(() => jobs.isRunning('telemetryPull'));

  let loadCount = 0;
  async function loadRows(): Promise<void> {
    const name = device.value;
    if (name === null) {
      rows.value = [];
      return;
    }
    // A slower answer for a device no longer selected must not replace the newer one.
    const mine = ++loadCount;
    loading.value = true;
    const answer = await client.call('queryTelemetry', { device: name, limit: 2000 });
    if (mine !== loadCount) return;
    loading.value = false;
    settleAnswer(answer, error, (value) => (rows.value = value));
  }

  async function loadAlerts(): Promise<void> {
    const answer = await client.call('accuracyAlerts');
    settleAnswer(answer, alertsError, (value) => (alerts.value = value));
  }

  async function select(name: string | null): Promise<void> {
    if (name !== device.value) {
      rows.value = [];
      model.value = null;
    }
    device.value = name;
    await Promise.all([loadRows(), loadAlerts()]);
  }

  /** Pulls every named device, or every provisioned one. */
  async function pull(devices?: readonly string[]): Promise<CallResult<Job<'telemetryPull'>>> {
    return jobs.track(
      devices === undefined
        ? await client.call('pullTelemetry')
        : await client.call('pullTelemetry', devices),
    );
  }

  function apply(event: ApiEvent): void {
    if (event.type === 'telemetry.arrived') {
      if (event.device === device.value) void loadRows();
      void loadAlerts();
    }
  }

  client.onEvent(apply);

  return {
    device,
    model,
    rows,
    loading,
    error,
    alerts,
    alertsError,
    series,
    visibleSeries,
    deviceAlerts,
    pulling,
    select,
    loadRows,
    loadAlerts,
    pull,
  };
});
