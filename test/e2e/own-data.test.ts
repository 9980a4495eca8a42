/**
 * A new user's path, end to end, through the real command line (`node bin/wsep.js`, as `npx wsep`
 * runs it): their own data in three formats is imported, a model is trained for each of two of them
 * with a zoo architecture of another class count, the two are planned together with two zoo models,
 * and `wsep eval` on the bundle reproduces the accuracy the planner reported for every task; then
 * `wsep run` classifies one image file.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../shared/core/rng.ts';
import { encodePng } from '../../shared/datasets/decode/image.ts';
import { writeNpz } from '../../shared/datasets/decode/npy.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const WSEP = join(REPO, 'bin/wsep.js');

let work: string;

function wsep(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [WSEP, ...args], {
    cwd: work,
    encoding: 'utf8',
    timeout: 600_000,
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function expectOk(r: { code: number; out: string; err: string }): void {
  if (r.code !== 0) throw new Error(`exit ${r.code}\n--- stdout\n${r.out}\n--- stderr\n${r.err}`);
}

/** 8×8 grey pictures of three shapes (a row, a column, a diagonal) at random places, with noise. */
function writeShapes(root: string, rng: Rng, perClass: number): void {
  const classes = ['row', 'column', 'diagonal'];
  classes.forEach((name, c) => {
    mkdirSync(join(root, name), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const pixels = new Uint8Array(64);
      for (let k = 0; k < 64; k++) pixels[k] = rng.int(60);
      const at = rng.int(8);
      for (let k = 0; k < 8; k++) {
        const [y, x] = c === 0 ? [at, k] : c === 1 ? [k, at] : [k, (k + at) % 8];
        pixels[y * 8 + x] = 200 + rng.int(56);
      }
      const png = encodePng({ width: 8, height: 8, channels: 1, pixels });
      writeFileSync(join(root, name, `${String(i).padStart(3, '0')}.png`), png);
    }
  });
}

/** 24 sensor readings per row around a class-dependent pattern; rows from six subjects. */
function sensorRow(rng: Rng, c: number): number[] {
  return Array.from({ length: 24 }, (_, j) => Math.sin((j + 1) * (c + 1) * 0.37) * 2 + rng.normal() * 0.6);
}

function writeSensorsCsv(path: string, rng: Rng, perClass: number): void {
  const header = [...Array.from({ length: 24 }, (_, j) => `s${j}`), 'label', 'subject'];
  const lines = [header.join(',')];
  const labels = ['idle', 'walk', 'run'];
  for (let i = 0; i < perClass; i++) {
    for (let c = 0; c < 3; c++) {
      const row = sensorRow(rng, c).map((v) => v.toFixed(4));
      lines.push([...row, labels[c], `p${(i % 6) + 1}`].join(','));
    }
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

function writeSensorsNpz(path: string, rng: Rng, perClass: number): void {
  const n = perClass * 3;
  const x = new Float32Array(n * 24);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    x.set(sensorRow(rng, c), i * 24);
    y[i] = c;
  }
  writeFileSync(
    path,
    writeNpz({
      x: { dtype: 'float32', shape: [n, 24], values: x },
      y: { dtype: 'int32', shape: [n], values: y },
    }),
  );
}

interface EvalRow {
  readonly model: string;
  readonly samples: number;
  readonly stored: number;
  readonly measured: number;
  readonly ok: boolean;
}

interface ReportTask {
  readonly task: string;
  readonly test: { readonly after: number };
  readonly val: { readonly after: number };
}

describe('your own models and data, from files to a plan, an eval and a prediction', () => {
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'wsep-e2e-own-'));
    const rng = new Rng(7);
    writeShapes(join(work, 'shapes'), rng, 30);
    writeSensorsCsv(join(work, 'sensors.csv'), rng, 40);
    writeSensorsNpz(join(work, 'sensors.npz'), rng, 40);
  });

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('imports a folder of PNGs, a CSV with a subject column and an .npz', () => {
    expectOk(wsep('data', 'import', 'shapes', '--task', 'shapes', '--seed', '1'));
    expectOk(
      wsep('data', 'import', 'sensors.csv', '--task', 'sensors', '--group-column', 'subject', '--seed', '1'),
    );
    expectOk(wsep('data', 'import', 'sensors.npz', '--task', 'sensors_npz', '--seed', '1'));
    for (const task of ['shapes', 'sensors', 'sensors_npz']) {
      const r = wsep('data', 'inspect', task, '--json');
      expectOk(r);
      expect(JSON.parse(r.out)).toMatchObject({ task });
    }
  });

  it('trains a model for each of two tasks with a zoo architecture of another class count', () => {
    expectOk(
      wsep('train', '--task', 'shapes', '--arch', 'digits8x8', '--steps', '200', '--out', 'shapes.onnx'),
    );
    expectOk(
      wsep(
        'train',
        '--task',
        'sensors',
        '--arch',
        'wall_following',
        '--steps',
        '200',
        '--out',
        'sensors.onnx',
      ),
    );
    const info = wsep('inspect', 'shapes.onnx', '--json');
    expectOk(info);
    const summary = JSON.parse(info.out) as { outputs: { shape: (number | null)[] }[] };
    expect(summary.outputs[0]!.shape.at(-1)).toBe(3);
  });

  it('plans them with two zoo models, and wsep eval reproduces every reported accuracy', () => {
    mkdirSync(join(work, 'zoo'));
    for (const task of ['digits8x8', 'wall_following'])
      copyFileSync(join(REPO, 'resources/zoo', `${task}.onnx`), join(work, 'zoo', `${task}.onnx`));
    const plan = wsep(
      'plan',
      '--models',
      'zoo',
      '--pair',
      'shapes.onnx=shapes,sensors.onnx=sensors',
      '--l1',
      '320KiB',
      '--l2',
      '256KiB',
      '--steps',
      '60',
      '--eval-every',
      '20',
      '--fisher-samples',
      '64',
      '--out',
      'bundle',
      '--json',
    );
    expectOk(plan);
    const report = JSON.parse(plan.out) as { tasks: ReportTask[] };
    expect(report.tasks.map((t) => t.task).sort()).toEqual(
      ['digits8x8', 'sensors', 'shapes', 'wall_following'].sort(),
    );

    for (const split of ['test', 'val'] as const) {
      const evaluated = wsep('eval', 'bundle', '--split', split, '--json');
      expectOk(evaluated);
      const rows = (JSON.parse(evaluated.out) as { models: EvalRow[] }).models;
      expect(rows.map((r) => r.model).sort()).toEqual(report.tasks.map((t) => t.task).sort());
      for (const row of rows) {
        const reported = report.tasks.find((t) => t.task === row.model)![split].after;
        // The same sample count right: the runtime reproduces the planner's figure exactly.
        expect(Math.round(row.measured * row.samples)).toBe(Math.round(reported * row.samples));
        expect(row.ok).toBe(true);
      }
    }
  });

  it('classifies one image file with the bundle', () => {
    const image = join(work, 'shapes', 'column', '000.png');
    const r = wsep('run', 'bundle', '--model', 'shapes', '--input', image, '--json');
    expectOk(r);
    const result = JSON.parse(r.out) as { top: { label: string; score: number }[] };
    expect(result.top).toHaveLength(3);
    expect(['row', 'column', 'diagonal']).toContain(result.top[0]!.label);
    expect(result.top.reduce((s, c) => s + c.score, 0)).toBeCloseTo(1, 6);
    const manifest = readFileSync(join(work, 'bundle', 'manifest.json'), 'utf8');
    expect(manifest).toContain('"shapes"');
  });
});
