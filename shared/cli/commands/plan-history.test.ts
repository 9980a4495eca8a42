/**
 * `wsep plan --history file.jsonl`: one JSON line per evaluation of the optimisation, with what the
 * selection rule saw; the path is checked before any work. The selection knobs reach the planner.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useTempDir } from '../../core/testing-temp.ts';
import { DEFAULT_PLANNER_OPTIONS } from '../../separation/planner-options.ts';
import { parseArgs } from '../args.ts';
import type { CommandContext } from '../command.ts';
import { main } from '../main.ts';
import { planCommand, plannerOptionsOf } from './plan.ts';

const ZOO = resolve(dirname(fileURLToPath(import.meta.url)), '../../../resources/zoo');
const cwd = useTempDir('wsep-plan-history-');

async function plan(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    ['plan', '--models', ZOO, '--only', 'digits8x8,wall_following', '--progress', 'none', ...argv],
    { out: (t) => out.push(t), err: (t) => err.push(t), cwd },
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const ctx: CommandContext = {
  out: () => {},
  err: () => {},
  status: () => {},
  signal: new AbortController().signal,
  cwd,
};

describe('wsep plan --history', () => {
  it('writes one JSON line per evaluation, each naming its tasks', async () => {
    const r = await plan(
      ['--out', 'plans/h', '--history', 'h.jsonl', '--steps', '4', '--eval-every', '2'].concat([
        '--fisher-samples',
        '8',
        '--workers',
        '0',
        '--json',
      ]),
    );
    expect(r.code, r.err).toBe(0);
    const lines = readFileSync(join(cwd, 'h.jsonl'), 'utf8').split('\n');
    expect(lines.at(-1)).toBe('');
    const points = lines.slice(0, -1).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(points.map((p) => p['step'])).toEqual([0, 2, 4]);
    const report = JSON.parse(r.out) as { history: unknown[] };
    points.forEach((p, i) => {
      expect(p['tasks']).toEqual(['digits8x8', 'wall_following']);
      const { tasks: _, ...point } = p;
      expect(point).toEqual(report.history[i]);
      for (const key of ['valAccuracy', 'valLoss', 'smoothedAccuracy', 'floors', 'noise', 'focusWeights'])
        expect((p[key] as unknown[]).length, key).toBe(2);
      expect(p['criterion']).toMatchObject({ name: 'mean-less-noise-shortfall' });
      expect(typeof p['best']).toBe('boolean');
      expect(p['lr']).toBeGreaterThan(0);
    });
  });

  it('refuses a path whose folder is missing, before any work', async () => {
    const r = await plan(['--out', 'plans/m', '--history', 'missing/h.jsonl']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--history .*missing.*h\.jsonl: the folder .* does not exist/);
    expect(existsSync(join(cwd, 'plans/m'))).toBe(false);
  });
});

describe('wsep plan: the selection flags', () => {
  const optionsOf = (argv: readonly string[]) => {
    const parsed = parseArgs(argv, planCommand.options, 'plan');
    if (!parsed.ok) throw new Error(parsed.error.message);
    return plannerOptionsOf(parsed.value, ctx);
  };

  it('reach the planner’s optimisation options, with the defaults when absent', () => {
    const d = optionsOf([]);
    expect(d.ok && d.value.optimisation).toEqual(DEFAULT_PLANNER_OPTIONS.optimisation);
    const o = optionsOf(
      ['--noise-z', '2', '--smoothing', '5', '--selection', 'floors-first'].concat([
        '--min-steps-fraction',
        '0.25',
        '--restarts',
        '0',
      ]),
    );
    expect(o.ok && o.value.optimisation).toEqual({
      ...DEFAULT_PLANNER_OPTIONS.optimisation,
      noiseZ: 2,
      smoothing: 5,
      selection: 'floors-first',
      minStepsFraction: 0.25,
      restarts: 0,
    });
    const bad = optionsOf(['--selection', 'best']);
    expect(!bad.ok && bad.error.message).toBe(
      '--selection must be noise-shortfall or floors-first, got "best".',
    );
  });

  it('refuses values out of range before any work', async () => {
    for (const [flag, value, message] of [
      ['--noise-z', '-1', /noise z must be from 0 to 5/],
      ['--smoothing', '0', /smoothing must be a whole number of evaluations ≥ 1/],
      ['--min-steps-fraction', '1.5', /minimum run must be a fraction from 0 to 1/],
      ['--restarts', '0.5', /restarts must be a whole number ≥ 0/],
    ] as const) {
      const r = await plan(['--out', 'plans/bad', flag, value]);
      expect(r.code, flag).toBe(2);
      expect(r.err, flag).toMatch(message);
    }
  });
});
