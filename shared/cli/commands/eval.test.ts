import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BundleEvaluation } from '../../runtime/evaluate.ts';
import { taskBundle } from '../../runtime/testing.ts';
import { runCommandInProcess } from '../testing.ts';
import { evalCommand } from './eval.ts';

let root: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'wsep-eval-cli-'));
  await taskBundle(join(root, 'good'));
  await taskBundle(join(root, 'shifted'), (p) => ({
    ...p,
    models: p.models.map((m, k) =>
      k === 1
        ? {
            ...m,
            accuracy: { ...m.accuracy, test: { ...m.accuracy.test, after: m.accuracy.test.after - 0.02 } },
          }
        : m,
    ),
  }));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function run(argv: string[]): Promise<{ code: number; out: string; error?: string }> {
  return runCommandInProcess(evalCommand, argv, root);
}

describe('wsep eval', () => {
  it('prints samples, stored and measured accuracy, Δ and ok per model; exit 0', async () => {
    const r = await run(['good']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^plan [0-9a-f]{64}, test split, tolerance 0\.1 pts/);
    expect(r.out).toMatch(/model\s+samples\s+bundle\s+measured\s+Δ pts/);
    expect(r.out).toMatch(/digits8x8\s+\d+\s+\d+\.\d\d%\s+\d+\.\d\d%\s+\+0\.00\s+ok/);
    expect(r.out).toMatch(/wall_following\s+\d+\s+\d+\.\d\d%\s+\d+\.\d\d%\s+\+0\.00\s+ok/);
    expect(r.out).toMatch(/All 2 models measure as the bundle says\./);
  });

  it('exits 1 and marks DIFFERS beyond the tolerance; --tolerance, --models, --split, --json', async () => {
    const r = await run(['shifted']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/wall_following\s+\d+\s+\d+\.\d\d%\s+\d+\.\d\d%\s+\+2\.00\s+DIFFERS/);
    expect(r.out).toMatch(/1 of 2 models differ from the bundle by more than 0\.1 pts\./);
    expect((await run(['shifted', '--tolerance', '2.5'])).code).toBe(0);
    expect((await run(['shifted', '--models', 'digits8x8'])).code).toBe(0);
    expect((await run(['shifted', '--split', 'val'])).code).toBe(0);
    const json = JSON.parse((await run(['shifted', '--json'])).out) as BundleEvaluation;
    expect(json.ok).toBe(false);
    expect(json.models.map((m) => [m.model, m.ok])).toEqual([
      ['digits8x8', true],
      ['wall_following', false],
    ]);
    expect(json.models[1]!.deltaPoints).toBeCloseTo(2, 9);
  });

  it('reports usage errors and missing data folders', async () => {
    const split = await run(['good', '--split', 'train']);
    expect(split.code).toBe(2);
    expect(split.error).toMatch(/--split must be test or val/);
    expect((await run(['good', '--tolerance', '-1'])).code).toBe(2);
    expect((await run(['good', '--models', 'nope'])).error).toMatch(/no model "nope"/);
    // A --data folder without these tasks still falls back to the bundled resources/data.
    expect((await run(['good', '--data', 'elsewhere'])).code).toBe(0);
    const missing = await run(['nowhere']);
    expect(missing.code).toBe(1);
    expect(missing.error).toMatch(/No bundle at/);
  });
});
