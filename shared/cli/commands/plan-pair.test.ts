import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useTempDir } from '../../core/testing-temp.ts';
import { TASK_KEY } from '../../separation/pairing.ts';
import { saveTinyModel, writeTinyTask } from '../../separation/pairing-fixtures.ts';
import { ZOO_TASKS } from '../../zoo/tasks.ts';
import { main } from '../main.ts';

const ZOO = resolve(dirname(fileURLToPath(import.meta.url)), '../../../resources/zoo');

// Every case here fails in the input checks, before any planning work.
const cwd = useTempDir('wsep-plan-pair-');
writeTinyTask(join(cwd, 'mydata'), { task: 'letters', inputShape: [1, 8, 8], classes: 26, samples: 52 });
mkdirSync(join(cwd, 'models'));
saveTinyModel(join(cwd, 'models', 'wall_following.onnx'), [24], 4);
saveTinyModel(join(cwd, 'models', 'a.onnx'), [1, 8, 8], 10, { [TASK_KEY]: 'digits8x8' });
saveTinyModel(join(cwd, 'ten-letters.onnx'), [1, 8, 8], 10);

async function plan(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['plan', '--out', 'plans/x', ...argv], {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    cwd,
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('wsep plan: --pair, --data and --only', () => {
  it('--only with an unknown task lists the tasks of the models in the folder', async () => {
    const r = await plan(['--models', ZOO, '--only', 'mnist,letters']);
    expect(r.code).toBe(1);
    const known = ZOO_TASKS.map((t) => t.id)
      .sort()
      .join(', ');
    expect(r.err).toContain(`error: No model for task(s) letters in ${ZOO}. Known tasks: ${known}.`);
  });

  it('refuses a pair whose model does not fit the task’s data, found through --data', async () => {
    const r = await plan(['--models', 'models', '--data', 'mydata', '--pair', 'ten-letters.onnx=letters']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      `error: Model ${join(cwd, 'ten-letters.onnx')} (task 'letters', by --pair): model outputs 10 classes, task 'letters' has 26.`,
    );
    // Without --data the user's task is not found; the message lists where it looked.
    const noData = await plan(['--models', 'models', '--pair', 'ten-letters.onnx=letters']);
    expect(noData.err).toMatch(/No task 'letters' in .*resources\/data/);
  });

  it('names two models paired with one task, and a malformed --pair', async () => {
    const r = await plan(['--models', 'models', '--pair', 'models/wall_following.onnx=digits8x8']);
    expect(r.code).toBe(2);
    expect(r.err).toContain(
      "error: Two models are paired with task 'digits8x8': a.onnx (by its weightsep.task metadata) and wall_following.onnx (by --pair).",
    );
    const bad = await plan(['--models', 'models', '--pair', 'a.onnx']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--pair entry "a.onnx" is not <model.onnx>=<task>.');
  });
});
