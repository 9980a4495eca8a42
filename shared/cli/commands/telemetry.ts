/**
 * `wsep telemetry pull [device…]` brings each device's new telemetry into the store by cursor;
 * `wsep telemetry show <device>` prints the latest accuracy per model and the device's memory figures.
 */
import { fail, ok, type Result } from '../../core/errors.ts';
import { formatBytes } from '../../core/units.ts';
import type { FleetStore } from '../../fleet/store/store.ts';
import type { TelemetryKind } from '../../fleet/store/types.ts';
import { pullTelemetry } from '../../fleet/telemetry-pull.ts';
import type { ParsedArgs } from '../args.ts';
import { progressSink, type Command, type CommandContext } from '../command.ts';
import { JSON_OPTION, STORE_OPTION, json, percent, table, wholeOption, withStore } from './fleet-cli.ts';

const USAGE =
  'wsep telemetry pull [device…] | show <device> [--model m] [--kind task|device] [--limit n] [--json]';

async function pull(store: FleetStore, args: ParsedArgs, ctx: CommandContext): Promise<Result<number>> {
  const report = await pullTelemetry(store, args.positionals.slice(1), {
    signal: ctx.signal,
    progress: progressSink(ctx),
  });
  if (!report.ok) return report;
  const r = report.value;
  if (json(args)) ctx.out(JSON.stringify(r, null, 2));
  else {
    for (const d of r.devices)
      ctx.out(
        d.ok
          ? `${d.device}: ${d.inserted} new rows (cursor ${d.cursor}${d.lost > 0 ? `, ${d.lost} lost to rotation` : ''})`
          : `${d.device}: not pulled — ${d.error?.message ?? 'unknown error'}`,
      );
    ctx.out(
      `${r.inserted} rows in ${(r.wallMs / 1000).toFixed(2)} s (${Math.round(r.rowsPerSecond)} rows/s).`,
    );
  }
  return ok(r.devices.every((d) => d.ok) ? 0 : 1);
}

async function show(store: FleetStore, args: ParsedArgs, ctx: CommandContext): Promise<Result<number>> {
  const name = args.positionals[1];
  if (name === undefined || args.positionals.length > 2)
    return fail('E_USAGE', 'wsep telemetry show needs one device name.', `Usage: ${USAGE}`);
  const kind = args.options['kind'];
  if (kind !== undefined && kind !== 'task' && kind !== 'device')
    return fail('E_USAGE', `--kind must be task or device, got "${String(kind)}".`);
  const limit = wholeOption(args, 'limit', 1);
  if (!limit.ok) return limit;
  const device = store.getDevice(name);
  if (!device.ok) return device;
  const summary = store.telemetrySummary(name);
  if (!summary.ok) return summary;
  const model = args.options['model'];
  const rows = store.queryTelemetry(name, {
    ...(typeof model === 'string' ? { model } : {}),
    ...(kind !== undefined ? { kind: kind as TelemetryKind } : {}),
    limit: limit.value ?? 20,
  });
  if (!rows.ok) return rows;
  if (json(args)) {
    ctx.out(JSON.stringify({ summary: summary.value, rows: rows.value }, null, 2));
    return ok(0);
  }
  const s = summary.value;
  ctx.out(
    `${name}: ${s.rows} rows, cursor ${s.cursor}${s.lost > 0 ? `, ${s.lost} lost to rotation` : ''}, last ${s.lastTime ?? 'never'}`,
  );
  if (s.latestTasks.length > 0) {
    const num = (v: unknown) => (typeof v === 'number' ? v : NaN);
    ctx.out(
      table([
        ['model', 'accuracy', 'samples', 'switch ms', 'infer ms', 'time'],
        ...s.latestTasks.map((t) => [
          t.model ?? '—',
          percent(num(t.fields['accuracy'])),
          String(t.fields['samples'] ?? ''),
          num(t.fields['switchMs']).toFixed(2),
          num(t.fields['inferMs']).toFixed(2),
          t.time,
        ]),
      ]),
    );
  }
  const dev = s.latestDevice;
  if (dev) {
    const bytes = (k: string) =>
      typeof dev.fields[k] === 'number' ? formatBytes(dev.fields[k] as number) : '—';
    ctx.out(
      `device: level 1 resident ${bytes('level1ResidentBytes')}, level 2 read ${bytes('level2BytesRead')}, RSS ${bytes('rssBytes')}, errors ${String(dev.fields['errors'] ?? 0)} (${dev.time})`,
    );
  }
  if (s.rows === 0)
    ctx.out(
      `No telemetry yet: start the workload on the device, then run wsep telemetry pull ${JSON.stringify(name)}.`,
    );
  return ok(0);
}

export const telemetryCommand: Command = {
  name: 'telemetry',
  summary: 'Pull device telemetry into the store, or show a device’s.',
  usage: USAGE,
  description:
    'pull asks each device (all provisioned devices when none is named) for the records after the store’s cursor, in batches, each stored with its cursor in one transaction; a device that does not answer is marked offline and pulled again next time.',
  positionals: { min: 1, max: Infinity, names: '<pull|show> [device…]' },
  options: [
    { name: 'model', kind: 'string', value: 'name', description: 'show: only this model’s rows.' },
    { name: 'kind', kind: 'string', value: 'task|device', description: 'show: only rows of this kind.' },
    { name: 'limit', kind: 'number', value: 'n', description: 'show: the newest n rows (default 20).' },
    STORE_OPTION,
    JSON_OPTION,
  ],
  async run(args, ctx) {
    const sub = args.positionals[0];
    if (sub !== 'pull' && sub !== 'show')
      return fail('E_USAGE', `wsep telemetry: unknown sub-command "${sub}".`, `Usage: ${USAGE}`);
    return withStore(args, ctx, (store) =>
      sub === 'pull' ? pull(store, args, ctx) : show(store, args, ctx),
    );
  },
};
