/**
 * `wsep mcu export <bundle> --profile <profile> --out <dir>`: a plan as the Cortex-M firmware's blobs
 * (shared/mcu/export.ts). `wsep mcu run <dir>`: builds the firmware and runs the export under QEMU (or
 * the host test driver), then compares every task's predictions with the host runtime's.
 */
import { resolve } from 'node:path';
import { fail, ok, type Result } from '../../core/errors.ts';
import { dataRoots } from '../../datasets/roots.ts';
import { DEFAULT_BOARD, readBoard, resolveMcuProfile } from '../../mcu/board.ts';
import { DEFAULT_MCU_SAMPLES, exportMcu, type McuExport } from '../../mcu/export.ts';
import { runMcu, type McuRunResult } from '../../mcu/run.ts';
import type { Command, CommandContext } from '../command.ts';
import type { ParsedArgs } from '../args.ts';

const KiB = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

export function renderExport(e: McuExport, out: string): string {
  const { fram, l2 } = e.memory;
  return [
    `MCU export of plan ${e.planId.slice(0, 12)} for ${e.board.board} (profile ${e.profile.name}) in ${out}`,
    `  FRAM  ${KiB(fram.usedBytes)} of ${KiB(fram.budgetBytes)} at 0x${fram.base.toString(16)}: shared ${KiB(fram.sharedBytes)}, page tables ${KiB(fram.tablesBytes)}, arena ${KiB(fram.arenaBytes)}, exclusive buffer ${KiB(fram.exclusiveBytes)}, descriptor buffer ${KiB(fram.descriptorBytes)}`,
    `  L2    ${KiB(l2.totalBytes)} of ${KiB(l2.budgetBytes)} at 0x${l2.base.toString(16)}: exclusive pages ${KiB(l2.exclusiveBytes)}, descriptors ${KiB(l2.descriptorBytes)}, test slices ${KiB(l2.sliceBytes)}`,
    ...e.models.map(
      (m) =>
        `  ${m.name.padEnd(16)} ${String(m.samples).padStart(4)} samples  ${String(m.layers).padStart(2)} layers  switch ${KiB(m.switchBytes)} (whole model ${KiB(m.wholeModelBytes)})  host acc ${(m.hostAccuracy * 100).toFixed(1)}%`,
    ),
  ].join('\n');
}

export function renderRunResult(r: McuRunResult): string {
  const fram = r.report.memory.fram;
  return [
    `${r.target === 'qemu' ? `QEMU ${r.report.board}` : 'host driver'} (${r.access} weights), ${(r.wallMs / 1000).toFixed(1)} s`,
    `  FRAM used ${fram['used'] ?? 0} of ${fram['budget'] ?? 0} B; L2 used ${r.report.memory.l2['used'] ?? 0} of ${r.report.memory.l2['budget'] ?? 0} B`,
    `  ${'task'.padEnd(16)}     n   acc %  host %  same class  insn/inference  insn/MAC  L2 B/switch  whole model B`,
    ...r.tasks.map((t) =>
      [
        `  ${t.name.padEnd(16)}`,
        String(t.n).padStart(5),
        (t.accuracy * 100).toFixed(1).padStart(7),
        (t.hostAccuracy * 100).toFixed(1).padStart(7),
        `${(t.agreement * 100).toFixed(1)}%`.padStart(11),
        String(t.insnPerInference).padStart(15),
        (t.macs ? t.insnPerInference / t.macs : 0).toFixed(1).padStart(9),
        String(t.l2BytesPerSwitch).padStart(12),
        String(t.wholeModelBytes).padStart(14),
      ].join(' '),
    ),
  ].join('\n');
}

function positiveInt(v: unknown, name: string, fallback: number): Result<number> {
  const n = v === undefined ? fallback : Number(v);
  return Number.isInteger(n) && n >= 0
    ? ok(n)
    : fail('E_USAGE', `--${name} must be a whole number ≥ 0, got ${String(v)}.`);
}

async function runExport(args: ParsedArgs, ctx: CommandContext, bundle: string): Promise<Result<number>> {
  const out = args.options['out'];
  if (typeof out !== 'string' || out === '') return fail('E_USAGE', 'wsep mcu export needs --out <dir>.');
  const board = readBoard(String(args.options['board'] ?? DEFAULT_BOARD));
  if (!board.ok) return board;
  const profile = resolveMcuProfile(String(args.options['profile'] ?? DEFAULT_BOARD), ctx.cwd);
  if (!profile.ok) return profile;
  const samples = positiveInt(args.options['samples'], 'samples', DEFAULT_MCU_SAMPLES);
  if (!samples.ok) return samples;
  const logits = positiveInt(args.options['logits'], 'logits', 0);
  if (!logits.ok) return logits;
  ctx.status('Exporting the plan for the MCU…');
  const dir = resolve(ctx.cwd, out);
  const made = await exportMcu(resolve(ctx.cwd, bundle), dir, {
    board: board.value,
    profile: profile.value,
    dataRoots: dataRoots(args.options['data'], ctx.cwd),
    samples: Math.max(1, samples.value),
    logitsSamples: logits.value,
  });
  if (!made.ok) return made;
  ctx.out(
    args.options['json'] === true ? JSON.stringify(made.value, null, 2) : renderExport(made.value, dir),
  );
  return ok(0);
}

async function runRun(args: ParsedArgs, ctx: CommandContext, dir: string): Promise<Result<number>> {
  const target = String(args.options['target'] ?? 'qemu');
  if (target !== 'qemu' && target !== 'host')
    return fail('E_USAGE', `--target must be qemu or host, got "${target}".`);
  const weights = String(args.options['weights'] ?? 'paged');
  if (weights !== 'paged' && weights !== 'contiguous')
    return fail('E_USAGE', `--weights must be paged or contiguous, got "${weights}".`);
  const timeout = positiveInt(args.options['timeout'], 'timeout', 600);
  if (!timeout.ok) return timeout;
  ctx.status(target === 'qemu' ? 'Running the firmware under QEMU…' : 'Running the host driver…');
  const result = await runMcu(resolve(ctx.cwd, dir), {
    target,
    access: weights,
    timeoutMs: timeout.value * 1000,
    signal: ctx.signal,
  });
  if (!result.ok) return result;
  ctx.out(
    args.options['json'] === true
      ? JSON.stringify({ ...result.value, uart: undefined }, null, 2)
      : renderRunResult(result.value),
  );
  return ok(0);
}

export const mcuCommand: Command = {
  name: 'mcu',
  summary: 'Export a plan for the Cortex-M firmware and run it under QEMU.',
  usage: 'wsep mcu export <bundle> --profile <profile> --out <dir> | wsep mcu run <dir> [--target qemu|host]',
  description: [
    'export: writes fram.bin (shared pages, page tables), storage.bin (descriptors, exclusive pages, test slices) and mcu.json, laid out for the profile (a device profile file, or a name in resources/firmware/profiles; default mps2-an385). Fails with "region X is short by N bytes" when the plan does not fit.',
    "run: builds the firmware (arm-none-eabi-gcc, into dist/mcu), runs it under QEMU with the blobs at the board's addresses, and prints per task the accuracy on its slice, the share of predictions equal to the host runtime's, instructions per inference and bytes read from level 2 per switch.",
  ].join('\n'),
  positionals: { min: 2, max: 2, names: '<export|run> <dir>' },
  options: [
    {
      name: 'profile',
      kind: 'string',
      value: 'profile',
      description: 'export: device profile file or name (default mps2-an385).',
    },
    {
      name: 'board',
      kind: 'string',
      value: 'board',
      description: 'export: board in resources/firmware/boards (default mps2-an385).',
    },
    { name: 'out', kind: 'string', value: 'dir', description: 'export: where to write the blobs.' },
    {
      name: 'data',
      kind: 'string',
      value: 'dir[,dir]',
      description: 'export: folders holding task data, before resources/data.',
    },
    {
      name: 'samples',
      kind: 'number',
      value: 'n',
      description: `export: test samples per task (default ${DEFAULT_MCU_SAMPLES}).`,
    },
    {
      name: 'logits',
      kind: 'number',
      value: 'n',
      description: 'export: samples per task whose raw logits the firmware prints (default 0).',
    },
    {
      name: 'target',
      kind: 'string',
      value: 'qemu|host',
      description: 'run: QEMU (default) or the host test driver.',
    },
    {
      name: 'weights',
      kind: 'string',
      value: 'paged|contiguous',
      description:
        'run: read weights through the page table (default) or gathered contiguously (for comparison).',
    },
    {
      name: 'timeout',
      kind: 'number',
      value: 'seconds',
      description: 'run: stop the run after this long (default 600).',
    },
    { name: 'json', kind: 'flag', description: 'Print the result as JSON.' },
  ],
  async run(args, ctx) {
    const [sub, target] = args.positionals;
    if (sub === 'export') return runExport(args, ctx, target!);
    if (sub === 'run') return runRun(args, ctx, target!);
    return fail('E_USAGE', `Unknown mcu sub-command "${sub}".`, 'Use wsep mcu export or wsep mcu run.');
  },
};
