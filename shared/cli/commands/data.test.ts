import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatCsv } from '../../datasets/decode/csv.ts';
import { encodePng } from '../../datasets/decode/image.ts';
import { writeNpz } from '../../datasets/decode/npy.ts';
import { main } from '../main.ts';
import { parseShape, parseSize, type TaskSummary } from './data.ts';

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'wsep-data-cli-'));
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

async function wsep(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t), cwd: work });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** 3 classes × 8 colour PNGs of 6x6 under `<work>/photos`. */
function photos(): void {
  ['ant', 'bee', 'cow'].forEach((cls, c) => {
    mkdirSync(join(work, 'photos', cls), { recursive: true });
    for (let k = 0; k < 8; k++) {
      const pixels = Uint8Array.from({ length: 6 * 6 * 3 }, (_, i) => (i * 11 + c * 70 + k * 5) % 256);
      writeFileSync(
        join(work, 'photos', cls, `${k}.png`),
        encodePng({ width: 6, height: 6, channels: 3, pixels }),
      );
    }
  });
}

describe('wsep data import', () => {
  it('imports an image folder into ./data, with stages on stderr and a summary on stdout', async () => {
    photos();
    const r = await wsep('data', 'import', 'photos', '--task', 'bugs');
    expect(r.code).toBe(0);
    expect(r.err).toContain('[import] reading photos (an image folder)');
    expect(r.err).toContain('[import] read 24 samples of [6,6,3] from photos');
    expect(r.err).toContain('[import] split: train 15, val 3, test 6 (stratified by class)');
    expect(r.err).toContain('[import] encoding: uint8 [6,6,3]');
    expect(r.err).toContain(`[import] wrote ${join(work, 'data', 'bugs')}`);
    expect(r.err).toContain('wsep train --task bugs --arch <zoo task|arch.json> --out bugs.onnx');
    expect(r.out).toContain('bugs — bugs: imported from photos');
    expect(r.out).toContain('samples        24: train 15, val 3, test 6');
    expect(r.out).toContain('model input    [3,6,6] (HWC->CHW)');
    expect(r.out).toContain('normalisation  per channel (axis 0 of inputShape [3,6,6]), after · 1/255');
    expect(r.out).toMatch(/ant\s+5\s+1\s+2/);
    expect(existsSync(join(work, 'data', 'bugs', 'x.u8'))).toBe(true);
  });

  it('--json prints the summary as JSON; --data chooses the folder', async () => {
    photos();
    const r = await wsep(
      'data',
      'import',
      'photos',
      '--task',
      'bugs',
      '--data',
      'mine',
      '--json',
      '--seed',
      '4',
    );
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out) as TaskSummary;
    expect(s.dir).toBe(join(work, 'mine', 'bugs'));
    expect(s.counts).toEqual({ total: 24, train: 15, val: 3, test: 6 });
    expect(s.perClass.map((c) => c.class)).toEqual(['ant', 'bee', 'cow']);
    expect(s.stored.dtype).toBe('uint8');
    expect(s.normalization.mean).toHaveLength(3);
    expect(s.splitMethod).toContain('seed 4');
    expect(r.err).toContain('wsep train --task bugs --arch <zoo task|arch.json> --data mine');
  });

  it('imports a CSV with a label column by name, a group column and --shape', async () => {
    const rows: (string | number)[][] = [['x1', 'x2', 'x3', 'x4', 'who', 'activity']];
    for (let i = 0; i < 48; i++)
      rows.push([i % 5, Math.sin(i), i * 0.5, -i, `p${i % 6}`, ['sit', 'walk'][i % 2]!]);
    writeFileSync(join(work, 'acc.csv'), formatCsv(rows));
    const r = await wsep(
      'data',
      'import',
      'acc.csv',
      '--task',
      'acc',
      '--label-column',
      'activity',
      '--group-column',
      'who',
      '--shape',
      '2x2',
    );
    expect(r.code).toBe(0);
    expect(r.out).toContain('model input    [2,2]');
    expect(r.out).toMatch(/groups\s+who: \d+ in train, \d+ in val, \d+ in test/);
    expect(r.err).toContain('group-disjoint by who');
  });

  it('an .npz with --normalize none', async () => {
    const n = 30;
    writeFileSync(
      join(work, 'd.npz'),
      writeNpz({
        x: { dtype: 'float32', shape: [n, 3], values: Array.from({ length: n * 3 }, (_, i) => i / 7) },
        y: { dtype: 'int32', shape: [n], values: Array.from({ length: n }, (_, i) => i % 2) },
      }),
    );
    const r = await wsep('data', 'import', 'd.npz', '--task', 'np', '--normalize', 'none', '--json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out) as TaskSummary;
    expect(s.normalization).toMatchObject({ axis: null, mean: [0], std: [1] });
    expect(s.normalization.description).toContain('none');
  });

  it('usage mistakes exit 2 and name the option', async () => {
    photos();
    const cases: [string[], string][] = [
      [['data', 'import', 'photos'], 'needs --task <id>'],
      [['data', 'import', 'photos', '--task', 'b', '--size', 'big'], '--size "big" is not a size'],
      [
        ['data', 'import', 'photos', '--task', 'b', '--normalize', 'zscore'],
        '--normalize must be channel, global or none',
      ],
      [['data', 'import', 'photos', '--task', 'b', '--channels', '2'], '--channels must be 1 (grey) or 3'],
      [['data', 'import', 'photos', '--task', 'b', '--header', '--no-header'], 'contradict'],
      [['data', 'import', 'photos', '--task', 'b', '--layout', 'chw'], '--layout "chw" is not known'],
      [['data', 'import', 'photos', '--task', 'b', '--shape', '3x3'], '--shape applies to a CSV file'],
      [
        ['data', 'import', 'photos', '--task', 'b', '--test-fraction', '1.5'],
        '--test-fraction must be between 0 and 1',
      ],
      [['data', 'inspect', 'b', '--task', 'x'], '--task applies to wsep data import, not inspect'],
      [['data', 'export', 'b'], 'Unknown data sub-command "export"'],
      [['data', 'import'], 'expects <import|inspect> <source|task>'],
    ];
    for (const [argv, message] of cases) {
      const r = await wsep(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toContain(message);
    }
    expect(existsSync(join(work, 'data'))).toBe(false);
  });

  it('refuses to replace a task folder without --force (exit 2), replaces it with', async () => {
    photos();
    expect((await wsep('data', 'import', 'photos', '--task', 'bugs')).code).toBe(0);
    const again = await wsep('data', 'import', 'photos', '--task', 'bugs', '--seed', '1');
    expect(again.code).toBe(2);
    expect(again.err).toContain(`${join(work, 'data', 'bugs')} already exists.`);
    expect(again.err).toContain('hint: Pass --force');
    expect((await wsep('data', 'import', 'photos', '--task', 'bugs', '--seed', '1', '--force')).code).toBe(0);
  });

  it('bad data exits 1 with the file named, and writes nothing', async () => {
    photos();
    writeFileSync(join(work, 'photos', 'bee', 'list.csv'), 'a,b\n');
    const r = await wsep('data', 'import', 'photos', '--task', 'bugs');
    expect(r.code).toBe(1);
    expect(r.err).toContain('error: 1 file in photos is not PNG or JPEG: photos/bee/list.csv.');
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(existsSync(join(work, 'data'))).toBe(false);
  });
});

describe('wsep data inspect', () => {
  it('prints the summary of an imported task found in ./data, as text and JSON', async () => {
    photos();
    await wsep('data', 'import', 'photos', '--task', 'bugs');
    const text = await wsep('data', 'inspect', 'bugs');
    expect(text.code).toBe(0);
    expect(text.out).toContain('samples        24: train 15, val 3, test 6');
    expect(text.out).toContain(join(work, 'data', 'bugs'));
    const json = JSON.parse((await wsep('data', 'inspect', 'bugs', '--json')).out) as TaskSummary;
    expect(json.task).toBe('bugs');
    expect(json.inputShape).toEqual([3, 6, 6]);
  });

  it('finds bundled tasks too', async () => {
    const r = await wsep('data', 'inspect', 'digits8x8', '--json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out) as TaskSummary;
    expect(s.inputShape).toEqual([1, 8, 8]);
    expect(s.classes).toHaveLength(10);
  });

  it('a broken folder exits 1 with the loader’s message; an unknown task names the folders searched', async () => {
    photos();
    await wsep('data', 'import', 'photos', '--task', 'bugs', '--data', 'mine');
    const x = join(work, 'mine', 'bugs', 'x.u8');
    const bytes = readFileSync(x);
    bytes[10] = bytes[10]! ^ 0xff;
    writeFileSync(x, bytes);
    const broken = await wsep('data', 'inspect', 'bugs', '--data', 'mine');
    expect(broken.code).toBe(1);
    expect(broken.err).toContain("content does not match field 'x.sha256'");
    const missing = await wsep('data', 'inspect', 'nothing', '--data', 'mine');
    expect(missing.code).toBe(1);
    expect(missing.err).toContain(`No task 'nothing' in ${join(work, 'mine')}`);
  });
});

describe('option parsing', () => {
  it('sizes and shapes', () => {
    expect(parseSize('32x24')).toEqual({ ok: true, value: { width: 32, height: 24 } });
    expect(parseSize('0x4').ok).toBe(false);
    expect(parseShape('128x3')).toEqual({ ok: true, value: [128, 3] });
    expect(parseShape('7')).toEqual({ ok: true, value: [7] });
    expect(parseShape('3xx').ok).toBe(false);
  });
});
