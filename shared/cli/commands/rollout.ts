/**
 * `wsep rollout <bundle> --to <device|tag>,…`: rolls a plan out in waves with the accuracy gate
 * (shared/fleet/rollout.ts), and prints what happened per device: mode (full or page delta), bytes
 * sent, the accuracy measured on the device against the app's, and the plans each device now holds.
 */
import { resolve } from 'node:path';
import { fail, ok } from '../../core/errors.ts';
import { formatBytes } from '../../core/units.ts';
import { dataRoots } from '../../datasets/roots.ts';
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_MAX_DROP_POINTS,
  runRollout,
  type RolloutReport,
} from '../../fleet/rollout.ts';
import { DEFAULT_WAVES } from '../../fleet/waves.ts';
import { progressSink, type Command } from '../command.ts';
import { JSON_OPTION, STORE_OPTION, json, percent, shortId, wholeOption, withStore } from './fleet-cli.ts';

export function renderRollout(r: RolloutReport): string {
  const lines = [
    `Rollout #${r.rolloutId} of plan ${shortId(r.planId)}: ${r.state}${r.reason ? ` — ${r.reason}` : ''}`,
    `  waves: ${r.waves.map((w, i) => `${i + 1}: ${w.join(', ')}`).join(' | ')}`,
    `  sent ${formatBytes(r.bytesSent)} in ${(r.wallMs / 1000).toFixed(1)} s (full copies would be ${formatBytes(r.fullBytes)})`,
  ];
  for (const d of r.devices) {
    const worst = [...(d.measured ?? [])].sort(
      (a, b) => b.expectedAccuracy - b.measuredAccuracy - (a.expectedAccuracy - a.measuredAccuracy),
    )[0];
    const acc = worst
      ? `, worst ${worst.model} ${percent(worst.measuredAccuracy)} (expected ${percent(worst.expectedAccuracy)})`
      : '';
    lines.push(
      `  ${d.device}: ${d.state}${d.mode ? ` (${d.mode}, ${formatBytes(d.bytesSent)}${d.attempts > 1 ? `, ${d.attempts} attempts` : ''})` : ''}${acc}; active ${shortId(d.activePlan)}`,
    );
    if (d.error && d.state !== 'rolled-back') lines.push(`    ${d.error.message}`);
  }
  return lines.join('\n');
}

export const rolloutCommand: Command = {
  name: 'rollout',
  summary: 'Roll a plan bundle out to devices in waves, gated on on-device accuracy.',
  usage:
    'wsep rollout <bundle> --to <device|tag>,… [--waves 10%,100%] [--max-drop <points>] [--concurrency N] [--timeout <s>] [--json]',
  description: [
    'The bundle is checked, copied into the store with its health slices (a fixed piece of each task’s test split and the accuracy measured on it here), and sent to each device: as a page delta when the device holds a plan the store knows, else whole; an interrupted upload resumes.',
    'The canary wave goes first. A device whose accuracy on its health slices falls more than --max-drop points below the app’s switches back by itself and stops the rollout before the next wave; so does a device that stays unreachable after retries.',
  ].join('\n'),
  positionals: { min: 1, max: 1, names: '<bundle>' },
  options: [
    { name: 'to', kind: 'string', value: 'targets', description: 'Device names and tags, comma-separated.' },
    {
      name: 'waves',
      kind: 'string',
      value: 'shares',
      default: DEFAULT_WAVES,
      description: 'Cumulative wave shares.',
    },
    {
      name: 'max-drop',
      kind: 'number',
      value: 'points',
      default: DEFAULT_MAX_DROP_POINTS,
      description: 'Largest accuracy drop on a device’s health slices.',
    },
    {
      name: 'concurrency',
      kind: 'number',
      value: 'n',
      default: DEFAULT_CONCURRENCY,
      description: 'Devices worked on at once.',
    },
    {
      name: 'timeout',
      kind: 'number',
      value: 's',
      default: 600,
      description: 'Time limit of one attempt on one device.',
    },
    {
      name: 'retries',
      kind: 'number',
      value: 'n',
      default: 2,
      description: 'Further attempts on an unreachable device.',
    },
    {
      name: 'health-samples',
      kind: 'number',
      value: 'n',
      default: 64,
      description: 'Samples per model in the health slices.',
    },
    { name: 'full', kind: 'flag', description: 'Send whole plans, never page deltas.' },
    {
      name: 'data',
      kind: 'string',
      value: 'dirs',
      description: 'Task data folders (comma-separated) for the health slices.',
    },
    STORE_OPTION,
    JSON_OPTION,
  ],
  async run(args, ctx) {
    const to = args.options['to'];
    if (typeof to !== 'string' || to === '')
      return fail('E_USAGE', 'wsep rollout needs --to <device|tag>,….', `Usage: ${this.usage}`);
    const concurrency = wholeOption(args, 'concurrency', 1);
    if (!concurrency.ok) return concurrency;
    const retries = wholeOption(args, 'retries', 0);
    if (!retries.ok) return retries;
    const samples = wholeOption(args, 'health-samples', 1);
    if (!samples.ok) return samples;
    const timeout = Number(args.options['timeout'] ?? 600);
    if (!(timeout > 0)) return fail('E_USAGE', `--timeout must be a number of seconds > 0, got ${timeout}.`);
    return withStore(args, ctx, async (store) => {
      // A rollout still 'running' in the store was left by a process that ended: say so, then go on.
      const recovered = store.recoverInterrupted();
      if (recovered.ok && recovered.value.rolloutIds.length > 0)
        ctx.err(
          `Marked rollout(s) ${recovered.value.rolloutIds.join(', ')} interrupted (their process ended).`,
        );
      const report = await runRollout(
        store,
        {
          bundleDir: resolve(ctx.cwd, args.positionals[0]!),
          to,
          waves: String(args.options['waves'] ?? DEFAULT_WAVES),
          maxDropPoints: Number(args.options['max-drop'] ?? DEFAULT_MAX_DROP_POINTS),
          ...(concurrency.value !== undefined ? { concurrency: concurrency.value } : {}),
          ...(retries.value !== undefined ? { retries: retries.value } : {}),
          ...(samples.value !== undefined ? { healthSamples: samples.value } : {}),
          deviceTimeoutMs: timeout * 1000,
          roots: dataRoots(args.options['data'], ctx.cwd),
          allowDelta: args.options['full'] !== true,
        },
        { signal: ctx.signal, progress: progressSink(ctx) },
      );
      if (!report.ok) return report;
      ctx.out(json(args) ? JSON.stringify(report.value, null, 2) : renderRollout(report.value));
      if (report.value.state === 'cancelled')
        return fail(
          'E_CANCELLED',
          `Rollout #${report.value.rolloutId} was cancelled; the devices' plans are recorded as they are.`,
        );
      return ok(report.value.state === 'succeeded' ? 0 : 1);
    });
  },
};
