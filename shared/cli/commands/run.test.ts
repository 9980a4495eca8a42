import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '../../datasets/decode/image.ts';
import { writeNpy } from '../../datasets/decode/npy.ts';
import { PagedRuntime } from '../../runtime/runtime.ts';
import { rawSample, taskBundle } from '../../runtime/testing.ts';
import { runCommandInProcess } from '../testing.ts';
import { runCommand, type RunSummary } from './run.ts';

let root: string;
/** The classes `predict` gives test samples 0 and 1 of each task. */
const expected = new Map<string, string[]>();

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'wsep-run-cli-'));
  const { data } = await taskBundle(join(root, 'bundle'));
  const rt = await PagedRuntime.open(join(root, 'bundle'));
  if (!rt.ok) throw new Error(rt.error.message);
  for (const [name, d] of data) {
    await rt.value.switchTo(name);
    const p = await rt.value.predict(d.test);
    if (!p.ok) throw new Error(p.error.message);
    expected.set(
      name,
      [0, 1].map((i) => d.classes[p.value.predictions[i]!]!),
    );
  }
  await rt.value.close();
  const digit = rawSample('digits8x8', 'test', 1);
  writeFileSync(
    join(root, 'digit.png'),
    encodePng({ width: 8, height: 8, channels: 1, pixels: Uint8Array.from(digit.values) }),
  );
  writeFileSync(
    join(root, 'digit.npy'),
    writeNpy({ dtype: 'uint8', shape: [8, 8, 1], values: digit.values }),
  );
  const wall = rawSample('wall_following', 'test', 0);
  writeFileSync(join(root, 'sensors.csv'), `${Array.from(wall.values).join(',')}\n`);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function run(argv: string[]): Promise<{ code: number; out: string; error?: string; hint?: string }> {
  return runCommandInProcess(runCommand, argv, root);
}

describe('wsep run', () => {
  it('classifies a PNG, a .npy and a CSV row, printing the top classes with softmax scores', async () => {
    const png = await run(['bundle', '--model', 'digits8x8', '--input', 'digit.png', '--top', '3']);
    expect(png.code).toBe(0);
    const label = expected.get('digits8x8')![1]!;
    expect(png.out.split('\n')[0]).toMatch(new RegExp(`^digits8x8: ${label} \\(\\d+\\.\\d\\d%\\)$`));
    expect(png.out).toMatch(/input digit\.png: PNG image 8×8, grey/);
    expect(png.out.split('\n').filter((l) => /^ {2}\S+\s+\d+\.\d\d%$/.test(l))).toHaveLength(3);
    const npy = await run(['bundle', '--model', 'digits8x8', '--input', 'digit.npy', '--json']);
    const s = JSON.parse(npy.out) as RunSummary;
    expect(s.predicted.label).toBe(label);
    expect(s.top).toHaveLength(5);
    expect(s.held).toBe('array [8, 8, 1] of uint8');
    expect(s.notes).toEqual(['stored layout HWC->CHW']);
    expect(s.planId).toMatch(/^[0-9a-f]{64}$/);
    const csv = await run(['bundle', '--model', 'wall_following', '--input', 'sensors.csv', '--json']);
    expect((JSON.parse(csv.out) as RunSummary).predicted.label).toBe(expected.get('wall_following')![0]);
  });

  it('reports usage errors, unknown models and inputs that do not fit', async () => {
    const noModel = await run(['bundle', '--input', 'digit.png']);
    expect(noModel.code).toBe(2);
    expect(noModel.error).toMatch(/needs --model/);
    expect((await run(['bundle', '--model', 'digits8x8'])).error).toMatch(/needs --input/);
    expect((await run(['bundle', '--model', 'digits8x8', '--input', 'digit.png', '--top', '0'])).code).toBe(
      2,
    );
    const unknown = await run(['bundle', '--model', 'mnist', '--input', 'digit.png']);
    expect(unknown.code).toBe(2);
    expect(unknown.error).toMatch(/no model "mnist"/);
    expect(unknown.hint).toMatch(/digits8x8, wall_following/);
    const wrong = await run(['bundle', '--model', 'wall_following', '--input', 'digit.npy']);
    expect(wrong.code).toBe(1);
    expect(wrong.error).toMatch(
      /digit\.npy holds array \[8, 8, 1\] of uint8, but model "wall_following" takes an array of shape \[24\]/,
    );
    const missing = await run(['bundle', '--model', 'digits8x8', '--input', 'nothing.png']);
    expect(missing.error).toMatch(/No input file .*nothing\.png/);
    expect((await run(['nowhere', '--model', 'a', '--input', 'digit.png'])).error).toMatch(/No bundle at/);
  });
});
