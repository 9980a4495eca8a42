import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hiddenEntries, useTempDir } from '../../core/testing-temp.ts';
import { readModelFile } from '../../onnx/io.ts';
import { AUGMENT_KEY, TASK_KEY } from '../../separation/pairing.ts';
import { saveTinyModel, writeTinyTask } from '../../separation/pairing-fixtures.ts';
import { zooTask } from '../../zoo/tasks.ts';
import { main } from '../main.ts';
import type { ArchDescription, SetTaskResult } from './model.ts';
import { writeFileSync } from 'node:fs';

const cwd = useTempDir('wsep-model-');
const data = join(cwd, 'data');
writeTinyTask(data, { task: 'letters', inputShape: [1, 8, 8], classes: 26, samples: 52 });
writeTinyTask(data, { task: 'beeps', inputShape: [12], classes: 3 });

async function wsep(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['model', ...argv], { out: (t) => out.push(t), err: (t) => err.push(t), cwd });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

function metadata(file: string): Record<string, string> {
  const m = readModelFile(join(cwd, file));
  if (!m.ok) throw new Error(m.error.message);
  return { ...m.value.metadata };
}

describe('wsep model set-task', () => {
  it('writes weightsep.task after the fit check, keeping the other metadata', async () => {
    saveTinyModel(join(cwd, 'm.onnx'), [1, 8, 8], 26, { [TASK_KEY]: 'mnist', [AUGMENT_KEY]: '[]' });
    const r = await wsep(['set-task', 'm.onnx', 'letters']);
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      "m.onnx: weightsep.task set to 'letters' (was 'mnist'); it fits the task’s data (input [1, 8, 8], 26 classes).",
    );
    expect(metadata('m.onnx')).toEqual({ [TASK_KEY]: 'letters', [AUGMENT_KEY]: '[]' });
    expect(hiddenEntries(cwd)).toEqual([]);
    const json = await wsep(['set-task', 'm.onnx', 'letters', '--json']);
    expect(JSON.parse(json.out) as SetTaskResult).toMatchObject({
      task: 'letters',
      previous: 'letters',
      checked: true,
      fits: true,
      forced: false,
    });
  });

  it('refuses a model that does not fit, unless --force', async () => {
    saveTinyModel(join(cwd, 'ten.onnx'), [1, 8, 8], 10);
    const r = await wsep(['set-task', 'ten.onnx', 'letters']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      "error: ten.onnx does not fit task 'letters': model outputs 10 classes, task 'letters' has 26.",
    );
    expect(r.err).toContain('pass --force');
    expect(metadata('ten.onnx')[TASK_KEY]).toBeUndefined();
    const forced = await wsep(['set-task', 'ten.onnx', 'letters', '--force']);
    expect(forced.code).toBe(0);
    expect(forced.out).toContain('it does NOT fit the task’s data (forced): model outputs 10 classes');
    expect(metadata('ten.onnx')[TASK_KEY]).toBe('letters');
  });

  it('names an unknown task with the known ones; --force sets it unchecked', async () => {
    saveTinyModel(join(cwd, 'b.onnx'), [12], 3);
    const r = await wsep(['set-task', 'b.onnx', 'nosuch']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/error: No task 'nosuch' in .*Known tasks: .*beeps.*letters/);
    const forced = await wsep(['set-task', 'b.onnx', 'nosuch', '--force']);
    expect(forced.out).toContain("not checked: no data for task 'nosuch' was found");
    expect(metadata('b.onnx')[TASK_KEY]).toBe('nosuch');
    expect((await wsep(['set-task', 'b.onnx', 'bad id'])).code).toBe(2);
    expect((await wsep(['set-task', 'missing.onnx', 'beeps'])).err).toContain('No model file at');
    expect((await wsep(['set-task', 'b.onnx'])).code).toBe(2);
    expect((await wsep(['set-task', 'b.onnx', 'beeps', '--arch', 'mnist'])).err).toContain(
      'wsep model set-task does not take --arch',
    );
    expect((await wsep(['frob'])).err).toContain('Unknown model sub-command "frob"');
  });
});

describe('wsep model describe', () => {
  it('shows a zoo architecture for its own task: the zoo model’s weights and pages', async () => {
    const r = await wsep(['describe', '--arch', 'mnist', '--json']);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.out) as ArchDescription;
    const zoo = zooTask('mnist')!.describe();
    expect(d).toMatchObject({ arch: 'zoo:mnist', task: 'mnist', classes: 10, weights: zoo.weights });
    expect(d.pages).toBe(Math.ceil(zoo.weights / 512));
    expect(d.bytes).toBe(zoo.weights * 4);
  });

  it('sizes a description file for a task’s data, at a page size', async () => {
    writeFileSync(join(cwd, 'small.json'), '{"conv":[4],"pool":2,"dense":[16]}');
    const r = await wsep(['describe', '--arch', 'small.json', '--task', 'letters', '--page-size', '256']);
    expect(r.code).toBe(0);
    // conv 4·1·9+4 = 40, fc1 16·64+16 = 1040, logits 26·16+26 = 442: 1522 weights in 6 pages of 256.
    expect(r.out).toContain("small.json (c3·4-pool2-fc16) for task 'letters': input [1, 8, 8], 26 classes");
    expect(r.out).toMatch(/conv1 +c3×3·4 +\[4, 8, 8\] +40 +0\.2/);
    expect(r.out).toContain('Weights: 1,522 (5.9 KiB as float32)');
    expect(r.out).toContain(
      'Pages: 6 of 256 weights (6.0 KiB); the last holds 242, 14 weights short of full',
    );
  });

  it('names what is missing or wrong', async () => {
    expect((await wsep(['describe'])).err).toContain('needs --arch <zoo task|arch.json>');
    expect((await wsep(['describe', '--arch', 'small.json'])).err).toContain('needs --task <task>');
    expect((await wsep(['describe', '--arch', 'mnist', '--page-size', '100'])).err).toContain(
      'Page size 100 is not a positive power of two',
    );
    const big = await wsep(['describe', '--arch', 'mnist', '--task', 'letters']);
    expect(big.code).toBe(1);
    expect(big.err).toContain("Architecture zoo:mnist cannot take task 'letters' input [1, 8, 8]");
    expect((await wsep(['describe', '--arch', 'mnist', '--force'])).code).toBe(2);
  });
});
