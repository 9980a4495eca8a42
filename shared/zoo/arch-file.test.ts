import { describe, expect, it } from 'vitest';
import { ARCH_DEFAULTS, formatArchFile, parseArchFile, type ArchFile } from './arch-file.ts';
import { fileArchitecture } from './architecture.ts';
import { MCU_OPS } from './tasks.ts';

function parse(text: string): ArchFile {
  const r = parseArchFile(text, 'my-arch.json');
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

function problem(text: string): string {
  const r = parseArchFile(text, 'my-arch.json');
  return r.ok ? 'ok' : `${r.error.code}: ${r.error.message}`;
}

describe('architecture description files', () => {
  it('round trip: every field written out reads back the same', () => {
    const specs: ArchFile[] = [
      ARCH_DEFAULTS,
      {
        conv: [16, 32],
        kernel: [1, 5],
        pad: 'valid',
        pool: [2, 0],
        dense: [64, 32],
        activation: 'leaky_relu',
      },
    ];
    for (const spec of specs) expect(parse(formatArchFile(spec))).toEqual(spec);
    expect(parse('{}')).toEqual(ARCH_DEFAULTS);
    expect(parse('{"conv":[16,32],"kernel":3,"pool":2,"dense":[64],"activation":"relu"}')).toEqual({
      ...ARCH_DEFAULTS,
      conv: [16, 32],
      dense: [64],
    });
  });

  it('names the file and the field of a corrupt or mistyped description', () => {
    expect(problem('{"conv": [16,')).toMatch(/^E_USAGE: my-arch.json is not valid JSON/);
    expect(problem('[16, 32]')).toMatch(/must hold a JSON object/);
    expect(problem('{"dens": [64]}')).toBe("E_USAGE: my-arch.json: unknown field 'dens'.");
    expect(problem('{"conv": [16, "32"]}')).toBe(
      `E_USAGE: my-arch.json: field 'conv' must be a list of whole numbers from 1 to 65536 (got [16,"32"]).`,
    );
    expect(problem('{"conv": 16}')).toMatch(/field 'conv' must be a list/);
    expect(problem('{"kernel": [3]}')).toMatch(/field 'kernel' must be a whole number ≥ 1 or \[kh, kw\]/);
    expect(problem('{"kernel": 0}')).toMatch(/field 'kernel'/);
    expect(problem('{"pad": "full"}')).toMatch(/field 'pad' must be "same" or "valid"/);
    expect(problem('{"conv": [8, 8], "pool": [2]}')).toMatch(
      /field 'pool' lists 1 windows for 2 conv layers/,
    );
    expect(problem('{"pool": -1}')).toMatch(/field 'pool'/);
    expect(problem('{"dense": [64.5]}')).toMatch(/field 'dense'/);
    expect(problem('{"activation": "gelu"}')).toMatch(/field 'activation' must be "relu" or "leaky_relu"/);
  });

  it('builds images, 1-D sequences and flat inputs with the MCU operators only', () => {
    const spec = parse('{"conv":[8,16],"kernel":3,"pool":2,"dense":[32],"activation":"leaky_relu"}');
    const arch = fileArchitecture(spec, 'my-arch.json');
    const image = arch.build({ task: 'letters', inputShape: [1, 28, 28], classes: 26 }, 0);
    if (!image.ok) throw new Error(image.error.message);
    // 28 → 14 → 7 with 'same' convs and 2×2 pools.
    expect(image.value.layers.find((l) => l.name === 'conv2')!.outShape).toEqual([16, 14, 14]);
    expect(image.value.layers.at(-1)!.outShape).toEqual([26]);
    expect(image.value.weights).toBe(8 * 9 + 8 + 16 * 8 * 9 + 16 + 32 * 16 * 49 + 32 + 26 * 32 + 26);
    expect(image.value.model.graph.name).toBe('letters');
    const sequence = arch.build({ task: 'imu', inputShape: [3, 1, 64], classes: 5 }, 0);
    if (!sequence.ok) throw new Error(sequence.error.message);
    expect(sequence.value.layers.filter((l) => l.kind === 'conv').map((l) => l.label)).toEqual([
      'c1×3·8',
      'c1×3·16',
    ]);
    expect(sequence.value.layers.find((l) => l.name === 'conv2')!.outShape).toEqual([16, 1, 32]);
    for (const built of [image.value, sequence.value])
      for (const n of built.model.graph.nodes) expect(MCU_OPS.has(n.opType)).toBe(true);
    const flat = fileArchitecture(parse('{"dense":[16]}'), 'mlp.json').build(
      { task: 'beeps', inputShape: [12], classes: 3 },
      0,
    );
    expect(flat.ok && flat.value.weights).toBe(12 * 16 + 16 + 16 * 3 + 3);
  });

  it('refuses conv layers on a flat input, and windows larger than the map, naming the layer', () => {
    const arch = fileArchitecture(parse('{"conv":[8]}'), 'my-arch.json');
    const flat = arch.build({ task: 'beeps', inputShape: [12], classes: 3 }, 0);
    expect(!flat.ok && flat.error.code).toBe('E_DATA_MISMATCH');
    expect(!flat.ok && flat.error.message).toMatch(
      /^Architecture my-arch.json cannot take task 'beeps' input \[12\]: Conv "conv1" needs an input with spatial dims/,
    );
    const deep = fileArchitecture(parse('{"conv":[4,4,4],"pad":"valid","pool":0,"kernel":3}'), 'deep.json');
    const small = deep.build({ task: 'tiny', inputShape: [1, 5, 5], classes: 2 }, 0);
    expect(!small.ok && small.error.message).toBe(
      'Architecture deep.json cannot take task \'tiny\' input [1, 5, 5]: Conv "conv3": a 3×3 kernel does not fit its [4, 1, 1] input (1×1 map).',
    );
  });
});
