import { beforeEach, describe, expect, it } from 'vitest';
import type { FakeTransport } from '../api/fake-transport.ts';
import type { TelemetryQueryInput, TelemetryRow } from '../api/client.ts';
import { telemetrySeries, useTelemetryStore } from './telemetry.ts';
import { freshApp, settle } from './testing.ts';

function task(device: string, seq: number, model: string, accuracy: number, second: number): TelemetryRow {
  return {
    device,
    seq,
    time: `2025-01-01T00:00:${String(second).padStart(2, '0')}.000Z`,
    kind: 'task',
    planId: 'p',
    model,
    fields: { accuracy, switchMs: 1.5, inferMs: 0.25, window: seq },
  };
}

function deviceRow(device: string, seq: number, second: number, l1: number, l2: number): TelemetryRow {
  return {
    device,
    seq,
    time: `2025-01-01T00:00:${String(second).padStart(2, '0')}.000Z`,
    kind: 'device',
    planId: 'p',
    model: null,
    fields: { level1ResidentBytes: l1, level2BytesRead: l2, rssBytes: 1, errors: 0 },
  };
}

let wire: FakeTransport;
beforeEach(() => {
  wire = freshApp();
});

describe('telemetry series', () => {
  it('makes one series per model and field, in time order, and the device rows apart', () => {
    const series = telemetrySeries([
      task('d', 3, 'mnist', 0.9, 20),
      task('d', 1, 'mnist', 0.95, 10),
      task('d', 2, 'cifar', 0.6, 10),
      deviceRow('d', 4, 12, 1000, 50),
      { ...task('d', 5, 'mnist', 0.9, 30), fields: { accuracy: 'n/a' } },
      { ...task('d', 6, 'mnist', 0.9, 40), time: 'not a time' },
    ]);
    const t10 = Date.parse('2025-01-01T00:00:10.000Z');
    expect(series.models).toEqual(['cifar', 'mnist']);
    expect(series.accuracy.get('mnist')).toEqual([
      [t10, 0.95],
      [t10 + 10_000, 0.9],
    ]);
    expect(series.switchMs.get('cifar')).toEqual([[t10, 1.5]]);
    // A row whose field is not a number adds no point to that series.
    expect(series.accuracy.get('mnist')).toHaveLength(2);
    expect(series.level1Bytes).toEqual([[t10 + 2000, 1000]]);
    expect(series.level2Bytes).toEqual([[t10 + 2000, 50]]);
  });
});

describe('telemetry store', () => {
  it("loads the chosen device's rows and filters the task series by model", async () => {
    wire.answer('queryTelemetry', (q: TelemetryQueryInput) => [
      task(q.device, 1, 'mnist', 0.9, 1),
      task(q.device, 2, 'kws', 0.8, 2),
    ]);
    wire.answer('accuracyAlerts', () => []);
    const store = useTelemetryStore();
    await store.select('dev-a');
    expect(store.series.models).toEqual(['kws', 'mnist']);
    store.model = 'kws';
    expect([...store.visibleSeries.accuracy.keys()]).toEqual(['kws']);
    // Choosing another device starts it over with every model.
    await store.select('dev-b');
    expect(store.model).toBeNull();
    expect(store.rows.every((row) => row.device === 'dev-b')).toBe(true);
  });

  it("does not let a slow answer for the previous device replace the new device's rows", async () => {
    wire.answer('accuracyAlerts', () => []);
    wire.answer('queryTelemetry', (q: TelemetryQueryInput) => [task(q.device, 1, 'mnist', 0.5, 1)]);
    // Hold dev-a's answer until dev-b's has arrived.
    const answerOf = wire.send.bind(wire);
    let releaseA: () => void = () => {};
    const heldA = new Promise<void>((resolve) => (releaseA = resolve));
    wire.send = async (request) => {
      const query = request.args[0] as TelemetryQueryInput | undefined;
      if (request.method === 'queryTelemetry' && query?.device === 'dev-a') await heldA;
      return answerOf(request);
    };
    const store = useTelemetryStore();
    const first = store.select('dev-a');
    await store.select('dev-b');
    releaseA();
    await first;
    expect(store.device).toBe('dev-b');
    expect(store.rows.map((r) => r.device)).toEqual(['dev-b']);
    expect(store.loading).toBe(false);
  });

  it('reloads on new telemetry for the open device only, and always reloads the alerts', async () => {
    let rows = 1;
    wire.answer('queryTelemetry', (q: TelemetryQueryInput) =>
      Array.from({ length: rows }, (_, i) => task(q.device, i + 1, 'mnist', 0.9, i)),
    );
    let alerts = 0;
    wire.answer('accuracyAlerts', () => {
      alerts += 1;
      return [];
    });
    const store = useTelemetryStore();
    await store.select('dev-a');
    rows = 3;
    wire.emit({ type: 'telemetry.arrived', device: 'dev-b', inserted: 2 });
    await settle();
    expect(store.rows).toHaveLength(1);
    wire.emit({ type: 'telemetry.arrived', device: 'dev-a', inserted: 2 });
    await settle();
    expect(store.rows).toHaveLength(3);
    expect(alerts).toBe(3);
  });

  it('keeps the alerts of the open device apart from the fleet', async () => {
    wire.answer('queryTelemetry', () => []);
    const alert = (device: string) => ({
      device,
      model: 'mnist',
      planId: 'p',
      measured: 0.8,
      expected: 0.95,
      dropPoints: 15,
      tolerancePoints: 3,
      time: '2025-01-01T00:00:00Z',
    });
    wire.answer('accuracyAlerts', () => [alert('dev-a'), alert('dev-b')]);
    const store = useTelemetryStore();
    await store.select('dev-b');
    expect(store.alerts).toHaveLength(2);
    expect(store.deviceAlerts.map((a) => a.device)).toEqual(['dev-b']);
  });
});
