import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testTempDir } from '../core/testing-temp.ts';
import { resolveArchitecture } from './architecture.ts';
import { zooTask } from './tasks.ts';

function arch(value: string, cwd = '/') {
  const r = resolveArchitecture(value, cwd);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

describe('architectures built for a task’s data', () => {
  it('a zoo architecture takes the data’s input shape and class count, and brings its recipe', () => {
    const mnist = arch('mnist');
    expect(mnist.label).toBe('zoo:mnist');
    expect(mnist.recipe).toEqual(zooTask('mnist')!.training);
    const built = mnist.build({ task: 'letters', inputShape: [1, 28, 28], classes: 26 }, 3);
    if (!built.ok) throw new Error(built.error.message);
    const logits = built.value.model.graph.outputs[0]!;
    expect(logits.shape).toEqual(['batch', 26]);
    expect(built.value.model.graph.inputs[0]!.shape).toEqual(['batch', 1, 28, 28]);
    expect(built.value.model.graph.name).toBe('letters');
    // Its own task's shapes give the zoo model itself, byte for byte.
    const own = mnist.build({ task: 'mnist', inputShape: [1, 28, 28], classes: 10 }, 3);
    expect(own.ok && own.value.model).toEqual(zooTask('mnist')!.build(3));
    // A colour input of another size changes the first conv and the flattened width.
    const colour = mnist.build({ task: 'signs', inputShape: [3, 32, 32], classes: 43 }, 0);
    expect(colour.ok && colour.value.layers.find((l) => l.name === 'conv1')!.weights).toBe(16 * 3 * 25 + 16);
  });

  it('an input too small for a layer is E_DATA_MISMATCH naming the layer, the shapes and what fits', () => {
    const r = arch('mnist').build({ task: 'tiny', inputShape: [1, 8, 8], classes: 5 }, 0);
    expect(!r.ok && r.error.code).toBe('E_DATA_MISMATCH');
    expect(!r.ok && r.error.message).toBe(
      'Architecture zoo:mnist cannot take task \'tiny\' input [1, 8, 8]: Conv "conv2": a 5×5 kernel does not fit its [16, 2, 2] input (2×2 map).',
    );
    expect(!r.ok && r.error.hint).toMatch(
      /^Use an architecture made for inputs this size \(zoo architectures that take it: .*digits8x8.*wall_following\), or describe your own with --arch my-arch.json/,
    );
    const seq = arch('har_chest_accel').build({ task: 'flat', inputShape: [24], classes: 4 }, 0);
    expect(!seq.ok && seq.error.message).toMatch(/Conv "conv1" needs a \[C, H, W\] input; got \[24\]/);
  });

  it('resolves zoo ids and .json files, and lists the zoo for an unknown name', () => {
    const unknown = resolveArchitecture('resnet', '/');
    expect(!unknown.ok && unknown.error.code).toBe('E_USAGE');
    expect(!unknown.ok && unknown.error.hint).toMatch(
      /mnist, fmnist, .*wall_following\) or a description file/,
    );
    const dir = testTempDir('wsep-arch-');
    writeFileSync(join(dir, 'small.json'), '{"conv":[4],"dense":[8]}');
    const file = arch('small.json', dir);
    expect(file.label).toBe('small.json (c3·4-pool2-fc8)');
    expect(file.recipe).toBeUndefined();
    const missing = resolveArchitecture('none.json', dir);
    expect(!missing.ok && missing.error.code).toBe('E_NOT_FOUND');
    writeFileSync(join(dir, 'bad.json'), '{"conv": "wide"}');
    const bad = resolveArchitecture('bad.json', dir);
    expect(!bad.ok && bad.error.message).toMatch(/^bad.json: field 'conv'/);
  });
});
