/** `wsep plan`'s flags, read into the planner's grouped options; former flag names still parse. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_PLANNER_OPTIONS } from '../../separation/planner-options.ts';
import { formatOptions, parseArgs } from '../args.ts';
import type { CommandContext } from '../command.ts';
import { planCommand, plannerOptionsOf, QUICK } from './plan.ts';

const ctx: CommandContext = {
  out: () => {},
  err: () => {},
  status: () => {},
  signal: new AbortController().signal,
  cwd: process.cwd(),
};

function optionsOf(argv: readonly string[]) {
  const parsed = parseArgs(argv, planCommand.options, 'plan');
  if (!parsed.ok) throw new Error(parsed.error.message);
  const o = plannerOptionsOf(parsed.value, ctx);
  if (!o.ok) throw new Error(o.error.message);
  return o.value;
}

describe('wsep plan: its flags as the planner’s options', () => {
  it('takes the defaults without flags', () => {
    const o = optionsOf([]);
    expect(o.device).toMatchObject({ name: 'stored', l1Bytes: 256 * 1024, l2Bytes: 192 * 1024 });
    expect(o.method).toEqual(DEFAULT_PLANNER_OPTIONS.method);
    expect(o.optimisation).toEqual(DEFAULT_PLANNER_OPTIONS.optimisation);
    expect(o.run.seed).toBe(DEFAULT_PLANNER_OPTIONS.run.seed);
    expect(o.run.signal).toBe(ctx.signal);
    const quick = optionsOf(['--quick']);
    expect([quick.optimisation.steps, quick.optimisation.evalEvery, quick.method.fisherSamples]).toEqual([
      QUICK.steps,
      QUICK.evalEvery,
      QUICK.fisherSamples,
    ]);
  });

  it('puts each flag in its group', () => {
    const o = optionsOf(
      [
        '--device',
        'mcu',
        '--l1',
        '64KiB',
        '--l2',
        '1MiB',
        '--strategy',
        'reference',
        '--page-size',
        '256',
      ].concat(
        ['--self-tying', '2', '--init', 'random', '--fisher-samples', '64', '--steps', '10', '--lr', '0.01'],
        [
          '--schedule',
          'cosine',
          '--batch',
          '16',
          '--no-augment',
          '--distill',
          '0',
          '--no-equalize-layer-scales',
        ],
        ['--ema', '0', '--focus', '0', '--eval-every', '5', '--patience', '7', '--floor', '2', '--seed', '3'],
        ['--workers', '0'],
      ),
    );
    expect(o.device).toMatchObject({
      name: 'mcu',
      l1Bytes: 64 * 1024,
      l2Bytes: 1024 * 1024,
      tableEntryBytes: 2,
    });
    expect(o.method).toEqual({
      strategy: 'reference',
      pageSize: 256,
      selfTying: 2,
      init: 'random',
      fisherSamples: 64,
    });
    expect(o.optimisation).toEqual({
      ...DEFAULT_PLANNER_OPTIONS.optimisation,
      steps: 10,
      lr: 0.01,
      schedule: 'cosine',
      batchSize: 16,
      augment: false,
      // --distill 0 turns distillation off (it used to leave the default 0.8 in place).
      distill: { alpha: 0, temperature: 2 },
      equalizeLayerScales: false,
      ema: 0,
      focus: 0,
      evalEvery: 5,
      patience: 7,
      floorPoints: 2,
    });
    expect(o.run).toMatchObject({ seed: 3, workers: 0 });
  });

  it('reads former flag names as the renamed ones, keeps them out of --help, and refuses retired flags', () => {
    const parsed = parseArgs(['--rebalance', '--no-equalize'], planCommand.options, 'plan');
    expect(parsed.ok && parsed.value.options['probe-reprioritise']).toBe(true);
    expect(optionsOf(['--no-equalize']).optimisation.equalizeLayerScales).toBe(false);
    const help = formatOptions(planCommand.options);
    expect(help).toContain('--probe-reprioritise');
    expect(help).toContain('--no-equalize-layer-scales');
    expect(help).not.toMatch(/--rebalance|--no-equalize\s|--balance-tasks/);
    const retired = parseArgs(['--balance-tasks'], planCommand.options, 'plan');
    expect(!retired.ok && retired.error.message).toBe('wsep plan: unknown option --balance-tasks.');
  });
});
