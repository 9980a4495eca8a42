import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import { useTempDir } from '../core/testing-temp.ts';
import { writeNpy } from '../datasets/decode/npy.ts';
import { BYTES_PER_VALUE, type StoredDtype } from '../datasets/format.ts';
import { DEFAULT_DATA_ROOT, listTasks, loadTask, readTaskMeta } from '../datasets/load.ts';
import { sha256Hex } from '../image/hash.ts';
import { loadModelSplit } from './evaluate.ts';
import {
  buildHealthSlices,
  checkHealth,
  describeHealthFailure,
  encodeHealthManifest,
  HEALTH_FILE,
  HEALTH_VERSION,
  healthSliceInputs,
  parseHealthManifest,
  readHealthManifest,
  readHealthSlices,
  type HealthManifest,
  type StoredSlice,
} from './health-slice.ts';
import type { RuntimeModelInfo } from './runtime.ts';
import { FIXTURE_TASKS, taskBundle } from './testing.ts';

/** A task as a bundle describes it: the facts the runtime gives healthSliceInputs. */
function taskInfo(task: string): RuntimeModelInfo {
  const data = loadTask(task);
  if (!data.ok) throw new Error(data.error.message);
  const none = { before: 0, after: 0 };
  return {
    name: task,
    inputShape: data.value.inputShape,
    classes: data.value.classes,
    preprocessing: data.value.preprocessing,
    accuracy: { test: none, val: none },
  };
}

/** The stored bytes of test samples `order` of a bundled task, read straight from its folder. */
function storedTestBytes(task: string, order: ArrayLike<number>): { slice: StoredSlice; labels: number[] } {
  const dir = join(DEFAULT_DATA_ROOT, task);
  const meta = readTaskMeta(dir);
  if (!meta.ok) throw new Error(meta.error.message);
  const { x, storedShape, splits } = meta.value;
  const width = storedShape.reduce((a, b) => a * b, 1) * BYTES_PER_VALUE[x.dtype];
  const file = readFileSync(join(dir, x.file));
  const labels = readFileSync(join(dir, meta.value.y.file));
  const bytes = new Uint8Array(order.length * width);
  const y: number[] = [];
  Array.from(order).forEach((k, i) => {
    const at = (splits.test.start + k) * width;
    bytes.set(file.subarray(at, at + width), i * width);
    y.push(labels[splits.test.start + k]!);
  });
  const slice = { n: order.length, storedShape, dtype: x.dtype, scale: x.scale, offset: x.offset, x: bytes };
  return { slice: { ...slice, y: Uint8Array.from(y) }, labels: y };
}

const sameBits = (a: Float32Array, b: Float32Array): boolean =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

const root = useTempDir('health-slice');
const bundle = join(root, 'bundle');
const health = join(root, 'health');
let manifest: HealthManifest;

beforeAll(async () => {
  await taskBundle(bundle);
  const built = await buildHealthSlices(bundle, [DEFAULT_DATA_ROOT], health, { samples: 48, seed: 7 });
  if (!built.ok) throw new Error(built.error.message);
  manifest = built.value;
});

describe('health slices', () => {
  it('builds one slice per model, of the asked size, for the bundle it was cut from', () => {
    expect(manifest.models.map((m) => m.model)).toEqual([...FIXTURE_TASKS]);
    for (const m of manifest.models) {
      expect(m.samples).toBe(48);
      expect(m.expectedAccuracy).toBeGreaterThanOrEqual(0);
      expect(m.expectedAccuracy).toBeLessThanOrEqual(1);
    }
    const slices = readHealthSlices(health);
    expect(slices.ok).toBe(true);
    if (slices.ok) {
      expect(slices.value.slices.get('digits8x8')!.x.length).toBe(48 * 64);
      expect(slices.value.files).toBe(5);
    }
  });

  it("stores each slice in its task's encoding: the task folder's own bytes for the chosen samples", () => {
    const slices = readHealthSlices(health);
    if (!slices.ok) throw new Error(slices.error.message);
    const encodings: Record<string, StoredDtype> = { digits8x8: 'uint8', wall_following: 'float32' };
    for (const m of manifest.models) {
      const meta = readTaskMeta(join(DEFAULT_DATA_ROOT, m.task));
      if (!meta.ok) throw new Error(meta.error.message);
      expect(m.inputs).toMatchObject({ dtype: encodings[m.model], scale: meta.value.x.scale, offset: 0 });
      const order = new Rng(7).permutation(meta.value.counts.test).subarray(0, 48);
      const want = storedTestBytes(m.task, order);
      const got = slices.value.slices.get(m.model)!;
      expect(Buffer.from(got.x).equals(Buffer.from(want.slice.x))).toBe(true);
      expect([...got.y]).toEqual(want.labels);
      expect(got.storedShape).toEqual(meta.value.storedShape);
      // The file is a plain .npy of those values: header, then exactly those bytes.
      const file = readFileSync(join(health, m.inputs.file));
      expect(Buffer.from(file.subarray(file.length - got.x.length)).equals(Buffer.from(got.x))).toBe(true);
      expect(file.length - got.x.length).toBeLessThanOrEqual(128);
    }
  });

  it.each(listTasksOrThrow())(
    'turns a stored slice of %s into model input bit-identical to what wsep eval feeds',
    (task) => {
      const info = taskInfo(task);
      const test = loadModelSplit(info, [DEFAULT_DATA_ROOT], 'test');
      if (!test.ok) throw new Error(test.error.message);
      const order = new Rng(3).permutation(test.value.split.n).subarray(0, 16);
      const inputs = healthSliceInputs(storedTestBytes(task, order).slice, info);
      if (!inputs.ok) throw new Error(inputs.error.message);
      const size = info.inputShape.reduce((a, b) => a * b, 1);
      const want = new Float32Array(order.length * size);
      order.forEach((k, i) => want.set(test.value.split.x.subarray(k * size, (k + 1) * size), i * size));
      expect(sameBits(inputs.value.x, want)).toBe(true);
      expect([...inputs.value.y]).toEqual(Array.from(order, (k) => test.value.split.y[k]));
    },
  );

  it('round-trips health.json through its encoder and strict parser', () => {
    const parsed = parseHealthManifest(JSON.parse(Buffer.from(encodeHealthManifest(manifest)).toString()));
    expect(parsed).toEqual({ ok: true, value: manifest });
    expect(readHealthManifest(health)).toEqual({ ok: true, value: manifest });
  });

  it('the same seed cuts the same slices; another seed other ones', async () => {
    const again = await buildHealthSlices(bundle, [DEFAULT_DATA_ROOT], join(root, 'again'), {
      samples: 48,
      seed: 7,
    });
    const other = await buildHealthSlices(bundle, [DEFAULT_DATA_ROOT], join(root, 'other'), {
      samples: 48,
      seed: 8,
    });
    expect(again.ok && again.value).toEqual(manifest);
    expect(other.ok && other.value.models[0]!.inputs.sha256).not.toBe(manifest.models[0]!.inputs.sha256);
  });

  it('passes on the untouched bundle', async () => {
    const result = await checkHealth(bundle, health);
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.value.passed).toBe(true);
      for (const m of result.value.models) expect(m.measured).toBe(m.expected);
    }
  });

  it('fails naming the model when its expected accuracy is raised by 10 points', async () => {
    const raised = {
      ...manifest,
      models: manifest.models.map((m, i) =>
        i === 1 ? { ...m, expectedAccuracy: Math.min(1, m.expectedAccuracy + 0.1) } : m,
      ),
    };
    const model = manifest.models[1]!;
    // Only meaningful when there are 10 points of room below 100%.
    expect(model.expectedAccuracy + 0.1).toBeLessThanOrEqual(1);
    const dir = join(root, 'raised');
    copyHealth(dir);
    writeFileSync(join(dir, HEALTH_FILE), encodeHealthManifest(raised));
    const result = await checkHealth(bundle, dir);
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.value.passed).toBe(false);
      expect(result.value.models[0]!.passed).toBe(true);
      expect(result.value.models[1]!.passed).toBe(false);
      expect(result.value.models[1]!.dropPoints).toBeCloseTo(10, 6);
      expect(describeHealthFailure(result.value)).toContain(`"${model.model}"`);
    }
    // A tolerance above the drop lets it pass.
    const lenient = await checkHealth(bundle, dir, { tolerancePoints: 10.5 });
    expect(lenient.ok && lenient.value.passed).toBe(true);
  });
});

describe('corrupt health folders', () => {
  function broken(name: string, edit: (dir: string) => void): string {
    const dir = join(root, name);
    copyHealth(dir);
    edit(dir);
    return dir;
  }
  const json = (dir: string): Record<string, unknown> =>
    JSON.parse(readFileSync(join(dir, HEALTH_FILE), 'utf8')) as Record<string, unknown>;
  function editInputs(dir: string, model: number, patch: Record<string, unknown>): void {
    const j = json(dir);
    const m = (j.models as Record<string, unknown>[])[model]!;
    m.inputs = { ...(m.inputs as Record<string, unknown>), ...patch };
    writeFileSync(join(dir, HEALTH_FILE), JSON.stringify(j));
  }

  it.each<[string, (dir: string) => void, RegExp]>([
    ['not JSON', (d) => writeFileSync(join(d, HEALTH_FILE), '{"format": '), /not valid JSON/],
    [
      'an unknown member',
      (d) => writeFileSync(join(d, HEALTH_FILE), JSON.stringify({ ...json(d), extra: 1 })),
      /unknown member "extra"/,
    ],
    [
      'the float32 format of version 1',
      (d) => writeFileSync(join(d, HEALTH_FILE), JSON.stringify({ ...json(d), version: 1 })),
      new RegExp(`version 1, from an older app .*reads only version ${HEALTH_VERSION}`),
    ],
    [
      'a newer format version',
      (d) => writeFileSync(join(d, HEALTH_FILE), JSON.stringify({ ...json(d), version: HEALTH_VERSION + 1 })),
      new RegExp(`version ${HEALTH_VERSION + 1}; this code reads only version ${HEALTH_VERSION}`),
    ],
    [
      'an encoding the task format lacks',
      (d) => editInputs(d, 0, { dtype: 'float64' }),
      /inputs\.dtype "float64" is not one of uint8, int16, float32/,
    ],
    [
      'an encoding that differs from the file',
      (d) => editInputs(d, 0, { dtype: 'int16' }),
      /digits8x8\.npy is uint8 \[48, 8, 8, 1\], not int16 with 48 samples/,
    ],
    [
      'a scale that is not finite',
      // 1e999 is how JSON spells a number that parses to Infinity.
      (d) =>
        writeFileSync(join(d, HEALTH_FILE), JSON.stringify(json(d)).replace('"scale":1', '"scale":1e999')),
      /models\[0\]\.inputs\.scale is not a finite number above 0/,
    ],
    ['a scale of 0', (d) => editInputs(d, 1, { scale: 0 }), /models\[1\]\.inputs\.scale is not a finite/],
    [
      'an offset that is not a number',
      (d) => editInputs(d, 1, { offset: '0' }),
      /inputs\.offset is not a finite/,
    ],
    [
      'an encoding without its offset',
      (d) => editInputs(d, 1, { offset: undefined }),
      /inputs lacks "offset"/,
    ],
    [
      'an accuracy above 1',
      (d) => {
        const j = json(d);
        (j.models as Record<string, unknown>[])[0]!.expectedAccuracy = 1.5;
        writeFileSync(join(d, HEALTH_FILE), JSON.stringify(j));
      },
      /expectedAccuracy/,
    ],
    [
      'a file name outside the folder',
      (d) => {
        const j = json(d);
        ((j.models as Record<string, unknown>[])[0]!.inputs as Record<string, unknown>).file = '../x.npy';
        writeFileSync(join(d, HEALTH_FILE), JSON.stringify(j));
      },
      /inputs\.file must be/,
    ],
    [
      'a truncated slice',
      (d) => {
        const f = join(d, 'digits8x8.npy');
        writeFileSync(f, readFileSync(f).subarray(0, 200));
      },
      /has 200 bytes/,
    ],
    [
      'a changed byte in a slice',
      (d) => {
        const f = join(d, 'wall_following.labels.npy');
        const b = readFileSync(f);
        b[b.length - 1] = (b[b.length - 1]! + 1) % 4;
        writeFileSync(f, b);
      },
      /does not match its SHA-256/,
    ],
    ['an emptied slice', (d) => writeFileSync(join(d, 'digits8x8.npy'), ''), /has 0 bytes/],
    [
      'a truncated slice whose listed hash matches',
      (d) => {
        const cut = readFileSync(join(d, 'digits8x8.npy')).subarray(0, 300);
        writeFileSync(join(d, 'digits8x8.npy'), cut);
        editInputs(d, 0, { sha256: sha256Hex(cut), bytes: cut.byteLength });
      },
      /truncated/,
    ],
  ])('rejects %s', (name, edit, message) => {
    const dir = broken(name.replace(/\W+/g, '-'), edit);
    const read = readHealthSlices(dir);
    expect(read.ok).toBe(false);
    if (!read.ok) {
      expect(read.error.code).toBe('E_BUNDLE_CORRUPT');
      expect(read.error.message).toMatch(message);
      expect(read.error.hint).toBeDefined();
    }
  });

  it('reports a missing slice file as not found', () => {
    const dir = broken('missing', (d) => rmSync(join(d, 'wall_following.npy')));
    const read = readHealthSlices(dir);
    expect(!read.ok && read.error.code).toBe('E_NOT_FOUND');
    expect(!read.ok && read.error.message).toContain('wall_following.npy');
  });

  it('rejects a slice stored in another layout than its model reads', async () => {
    // The same 48×64 digits bytes, listed with their hash, but as [48, 64] rather than [48, 8, 8, 1].
    const dir = broken('other-layout', (d) => {
      const slices = readHealthSlices(health);
      if (!slices.ok) throw new Error(slices.error.message);
      const flat = writeNpy({
        dtype: 'uint8',
        shape: [48, 64],
        values: slices.value.slices.get('digits8x8')!.x,
      });
      writeFileSync(join(d, 'digits8x8.npy'), flat);
      const file = { file: 'digits8x8.npy', sha256: sha256Hex(flat), bytes: flat.byteLength };
      writeFileSync(
        join(d, HEALTH_FILE),
        encodeHealthManifest({
          ...manifest,
          models: manifest.models.map((m, i) => (i === 0 ? { ...m, inputs: { ...m.inputs, ...file } } : m)),
        }),
      );
    });
    expect(readHealthSlices(dir).ok).toBe(true);
    const result = await checkHealth(bundle, dir);
    expect(!result.ok && result.error.message).toMatch(
      /"digits8x8" holds samples of shape \[64\], but the model's layout "HWC->CHW" reads \[8, 8, 1\]/,
    );
  });

  it('rejects slices built for another plan', async () => {
    const dir = broken('other-plan', (d) =>
      writeFileSync(join(d, HEALTH_FILE), encodeHealthManifest({ ...manifest, planId: 'f'.repeat(64) })),
    );
    const result = await checkHealth(bundle, dir);
    expect(!result.ok && result.error.message).toMatch(/built for plan ffffffffffff/);
  });
});

function copyHealth(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const f of [HEALTH_FILE, ...manifest.models.flatMap((m) => [m.inputs.file, m.labels.file])])
    writeFileSync(join(dir, f), readFileSync(join(health, f)));
}

function listTasksOrThrow(): string[] {
  const tasks = listTasks();
  if (!tasks.ok) throw new Error(tasks.error.message);
  return tasks.value;
}
