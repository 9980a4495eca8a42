import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../onnx/builder.ts';
import { DataType } from '../../onnx/types.ts';
import { equalizeLayerScales } from '../equalize.ts';
import { formModel } from '../formation.ts';
import { quietStage, type StageContext } from './context.ts';
import { formationStage } from './formation.ts';
import { denseTask, syntheticData } from './testing.ts';

function recording(): StageContext & { events: Array<[number, number | undefined, string | undefined]> } {
  const events: Array<[number, number | undefined, string | undefined]> = [];
  return { events, progress: (step, total, details) => events.push([step, total, details?.task]) };
}

describe('the formation stage', () => {
  it('forms every task’s weights into pages, in task order, reporting each task', () => {
    const tasks = [denseTask('a', 1), denseTask('b', 2, 4)];
    const ctx = recording();
    const r = formationStage(tasks, { pageSize: 16, equalizeLayerScales: false }, ctx);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.tasks).toEqual(tasks);
    const direct = tasks.map((t) => formModel(t.model, 16));
    expect(r.value.formations.map((f) => f.weightCount)).toEqual([
      6 * 8 + 8 + 8 * 3 + 3,
      6 * 4 + 4 + 4 * 3 + 3,
    ]);
    r.value.formations.forEach((f, k) => {
      const d = direct[k];
      expect(d?.ok && Array.from(d.value.flat)).toEqual(Array.from(f.flat));
    });
    expect(ctx.events).toEqual([
      [1, 2, 'a'],
      [2, 2, 'b'],
    ]);
  });

  it('equalises layer scales first when asked, and later stages plan the equalised models', () => {
    const task = denseTask('a', 3);
    const r = formationStage([task], { pageSize: 16, equalizeLayerScales: true }, quietStage);
    if (!r.ok) throw new Error(r.error.message);
    const equalised = equalizeLayerScales(task.model);
    expect(equalised.applied).toBe(true);
    expect(r.value.tasks[0]?.model).not.toBe(task.model);
    const expected = formModel(equalised.model, 16);
    expect(expected.ok && Array.from(expected.value.flat)).toEqual(Array.from(r.value.formations[0]!.flat));
  });

  it('refuses a model the planner cannot train, naming it, and stops when cancelled', () => {
    const g = new GraphBuilder();
    const x = g.input('input', DataType.FLOAT, ['batch', 6]);
    g.output(g.op('Erf', [x]), DataType.FLOAT, ['batch', 6]);
    const odd = { name: 'odd', model: g.build('odd'), data: syntheticData('odd', [6], 3, 1) };
    const ctx = recording();
    const r = formationStage([denseTask('a', 1), odd], { pageSize: 16, equalizeLayerScales: false }, ctx);
    expect(!r.ok && r.error.code).toBe('E_ONNX_UNSUPPORTED_OP');
    expect(!r.ok && r.error.message).toContain('odd');
    expect(ctx.events).toEqual([[1, 2, 'a']]);

    const cancelled = formationStage(
      [denseTask('a', 1)],
      { pageSize: 16, equalizeLayerScales: false },
      { ...quietStage, signal: AbortSignal.abort() },
    );
    expect(!cancelled.ok && cancelled.error.code).toBe('E_CANCELLED');
  });
});
