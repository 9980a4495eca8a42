/**
 * `wsep fleet status`: every device at a glance — its state, plans, last contact and the latest
 * accuracy its telemetry reports — with the recent rollouts and what the store's invariants say.
 */
import { fail, ok } from '../../core/errors.ts';
import { formatBytes } from '../../core/units.ts';
import { describeMcuFigures, mcuFigures } from '../../fleet/mcu-telemetry.ts';
import type { Command } from '../command.ts';
import { JSON_OPTION, STORE_OPTION, json, percent, shortId, table, withStore } from './fleet-cli.ts';

export const fleetCommand: Command = {
  name: 'fleet',
  summary: 'Show the fleet: devices, plans, latest accuracy, recent rollouts.',
  usage: 'wsep fleet status [--json]',
  positionals: { min: 1, max: 1, names: 'status' },
  options: [STORE_OPTION, JSON_OPTION],
  async run(args, ctx) {
    if (args.positionals[0] !== 'status')
      return fail(
        'E_USAGE',
        `wsep fleet: unknown sub-command "${args.positionals[0]}".`,
        `Usage: ${this.usage}`,
      );
    return withStore(args, ctx, async (store) => {
      const recovered = store.recoverInterrupted();
      if (!recovered.ok) return recovered;
      const devices = store.listDevices();
      if (!devices.ok) return devices;
      const rollouts = store.listRollouts({ limit: 5 });
      if (!rollouts.ok) return rollouts;
      const problems = store.checkConsistency();
      if (!problems.ok) return problems;
      const rows = devices.value.map((d) => {
        const summary = store.telemetrySummary(d.name);
        const tasks = summary.ok ? summary.value.latestTasks : [];
        const accuracies = tasks
          .map((t) => t.fields['accuracy'])
          .filter((a): a is number => typeof a === 'number');
        const mean = accuracies.length > 0 ? accuracies.reduce((a, b) => a + b, 0) / accuracies.length : null;
        return {
          device: d,
          meanAccuracy: mean,
          models: accuracies.length,
          telemetryRows: summary.ok ? summary.value.rows : 0,
          mcu: summary.ok ? mcuFigures(summary.value) : null,
        };
      });
      if (json(args)) {
        ctx.out(
          JSON.stringify({ devices: rows, rollouts: rollouts.value, problems: problems.value }, null, 2),
        );
        return ok(0);
      }
      if (rows.length === 0)
        ctx.out('No devices registered. Add one with wsep devices add <name> --host <h> --key <path>.');
      else
        ctx.out(
          table([
            ['device', 'status', 'active plan', 'previous', 'last seen', 'mean accuracy (models)'],
            ...rows.map((r) => [
              r.device.name,
              r.device.status,
              shortId(r.device.activePlan),
              shortId(r.device.previousPlan),
              r.device.lastSeen ?? 'never',
              r.meanAccuracy === null ? '—' : `${percent(r.meanAccuracy)} (${r.models})`,
            ]),
          ]),
        );
      for (const r of rows)
        if (r.device.kind === 'mcu-gateway' && r.device.capacities)
          ctx.out(
            `${r.device.name} (MCU gateway): ${r.mcu ? describeMcuFigures(r.mcu) : `FRAM ${formatBytes(r.device.capacities.level1Bytes)}, flash ${formatBytes(r.device.capacities.level2Bytes)}, no MCU telemetry yet`}`,
          );
      if (rollouts.value.length > 0) {
        ctx.out('\nrecent rollouts:');
        for (const r of rollouts.value)
          ctx.out(
            `  #${r.id} plan ${shortId(r.planId)} to ${JSON.stringify(r.targets)}: ${r.state}${r.reason ? ` — ${r.reason}` : ''}`,
          );
      }
      for (const p of problems.value) ctx.out(`store problem (${p.subject}): ${p.message}`);
      return ok(0);
    });
  },
};
