/**
 * The selection study script on two tiny models (a smoke test of the script, not a measurement):
 * per seed a history of JSON lines and a report, and a summary over the seeds.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hiddenEntries, testTempDir } from '../shared/core/testing-temp.ts';
import { saveModel } from '../shared/onnx/io.ts';
import { parsePlanReport } from '../shared/image/report.ts';
import { buildModel } from '../shared/zoo/model-builder.ts';
import { parseOverrides, runSelectionStudy } from './selection-study.ts';

/** Two small MLPs paired with their tasks by file name: 5 and 4 pages of 512 weights. */
function tinyModels(dir: string): void {
  const models = {
    digits8x8: buildModel('digits8x8', [1, 8, 8], 1, (b, x) =>
      b.dense('fc2', b.relu(b.dense('fc1', b.flatten(x), 32)), 10),
    ).model,
    wall_following: buildModel('wall_following', [24], 2, (b, x) =>
      b.dense('fc2', b.relu(b.dense('fc1', x, 64)), 4),
    ).model,
  };
  for (const [name, model] of Object.entries(models)) {
    const saved = saveModel(join(dir, `${name}.onnx`), model);
    if (!saved.ok) throw new Error(saved.error.message);
  }
}

describe('scripts/selection-study.ts', () => {
  it('plans once per seed, writes each history and report, and summarises the spread', async () => {
    const dir = testTempDir('wsep-selection-');
    tinyModels(dir);
    const out = join(dir, 'out');
    const r = await runSelectionStudy({
      models: dir,
      ratio: 1.5,
      share: 0.75,
      seeds: [1, 2],
      optimisation: { steps: 4, evalEvery: 2 },
      fisherSamples: 8,
      out,
      label: 'smoke',
      workers: 0,
    });
    if (!r.ok) throw new Error(r.error.message);
    expect(readdirSync(r.value.folder).sort()).toEqual([
      'seed-1.history.jsonl',
      'seed-1.report.json',
      'seed-2.history.jsonl',
      'seed-2.report.json',
      'summary.md',
    ]);
    expect(hiddenEntries(r.value.folder)).toEqual([]);
    for (const seed of [1, 2]) {
      const report = parsePlanReport(
        JSON.parse(readFileSync(join(r.value.folder, `seed-${seed}.report.json`), 'utf8')),
      );
      if (!report.ok) throw new Error(report.error.message);
      const lines = readFileSync(join(r.value.folder, `seed-${seed}.history.jsonl`), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { step: number; tasks: string[]; criterion: { name: string } });
      expect(lines.map((l) => l.step)).toEqual([0, 2, 4]);
      expect(lines.map((l) => l.step)).toEqual(report.value.history.map((p) => p.step));
      expect(lines[0]!.tasks).toEqual(['digits8x8', 'wall_following']);
      expect(lines[0]!.criterion.name).toBe('mean-less-noise-shortfall');
    }
    // The two seeds are different runs.
    expect(r.value.runs[0]!.report.history).not.toEqual(r.value.runs[1]!.report.history);
    const md = readFileSync(join(r.value.folder, 'summary.md'), 'utf8');
    expect(md).toBe(r.value.markdown);
    expect(md).toContain('### Selection study: smoke');
    expect(md).toMatch(/^\| 1 \| 4 \/ \d/m);
    expect(md).toMatch(/^\| 2 \| 4 \/ \d/m);
    expect(md).toMatch(/^\| digits8x8 \| [\d.]+ \| [+−][\d.]+ \| [+−][\d.]+ \|/m);
    expect(md).toContain("Issue 12's bar (test)");
  });

  it('reads --set overrides of the optimisation options, and refuses unknown ones', () => {
    const o = parseOverrides('selection=floors-first,smoothing=1,noiseZ=0,augment=false');
    expect(o.ok && o.value).toEqual({ selection: 'floors-first', smoothing: 1, noiseZ: 0, augment: false });
    const bad = parseOverrides('smooth=2');
    expect(!bad.ok && bad.error.message).toMatch(/--set smooth=2: not an optimisation option/);
  });
});
