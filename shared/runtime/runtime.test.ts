import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import { gatherWeights } from '../image/gather.ts';
import { tinyPlan } from '../image/testing.ts';
import { writeBundle } from '../image/write.ts';
import { createSession, floatTensor } from '../onnx/ort.ts';
import { DataType, type Tensor } from '../onnx/types.ts';
import { weightsAsInitializers } from '../onnx/weights.ts';
import type { Plan, PlannedModel } from '../image/plan.ts';
import { ByteLru } from './lru.ts';
import { level1Parts } from './memory.ts';
import { LINUX_ORT_DEVICE } from '../image/device-profile.ts';
import { memoryAccount, planShape } from '../image/memory.ts';
import { PagedRuntime } from './runtime.ts';

let root: string;
let dir: string;
let plan: Plan;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'wsep-runtime-'));
  dir = join(root, 'bundle');
  plan = tinyPlan(11, { shuffleExclusive: true });
  const written = await writeBundle(plan, dir);
  if (!written.ok) throw new Error(written.error.message);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The format's semantics by the most literal loop: weight i of page j = i // P comes from table[j]. */
function naiveWeights(m: PlannedModel): Float32Array {
  const P = plan.pageSize;
  const M = plan.sharedPageCount;
  const out = new Float32Array(m.weightCount);
  for (let i = 0; i < m.weightCount; i++) {
    const entry = m.pageTable[Math.floor(i / P)]!;
    out[i] =
      entry < M ? plan.sharedPages[entry * P + (i % P)]! : m.exclusivePages[(entry - M) * P + (i % P)]!;
  }
  return out;
}

function sample(m: PlannedModel, batch: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const x = new Float32Array(batch * m.inputShape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  return x;
}

function tensorsOf(m: PlannedModel, flat: Float32Array): Tensor[] {
  return m.tensors.map((t) => ({
    name: t.name,
    dims: t.dims,
    dataType: DataType.FLOAT,
    data: flat.slice(t.offset, t.offset + t.length),
  }));
}

async function open(options: Parameters<typeof PagedRuntime.open>[1] = {}): Promise<PagedRuntime> {
  const rt = await PagedRuntime.open(dir, options);
  if (!rt.ok) throw new Error(rt.error.message);
  return rt.value;
}

describe('PagedRuntime', () => {
  it('gathers exactly the weights the page tables define', async () => {
    const rt = await open();
    for (const m of plan.models) {
      const stats = await rt.switchTo(m.name);
      expect(stats.ok).toBe(true);
      const expected = naiveWeights(m);
      expect(rt.activeWeights()).toEqual(expected);
      expect(gatherWeights(m, plan.sharedPages, plan.sharedPageCount, plan.pageSize)).toEqual(expected);
    }
    await rt.close();
  });

  it('switching A → B → A gives the outputs of fresh sessions with those weights', async () => {
    const rt = await open();
    const [a, b] = plan.models;
    for (const m of [a!, b!, a!]) {
      expect((await rt.switchTo(m.name)).ok).toBe(true);
      const x = sample(m, 5, 3);
      const out = await rt.run(x, 5);
      if (!out.ok) throw new Error(out.error.message);
      const weights = naiveWeights(m);
      // Same graph, weights fed as inputs by a fresh session: bit-identical.
      const fresh = await createSession(m.graph);
      if (!fresh.ok) throw new Error(fresh.error.message);
      const feeds = Object.fromEntries(
        m.tensors.map((t) => [t.name, floatTensor(weights.slice(t.offset, t.offset + t.length), t.dims)]),
      );
      const expected = (
        await fresh.value.run({ ...feeds, [m.inputName]: floatTensor(x, [5, ...m.inputShape]) })
      )[m.outputName]!.data as Float32Array;
      expect(out.value).toEqual(expected);
      // The weights baked in as initializers (what a plain model load runs): equal up to float rounding.
      const baked = await createSession(weightsAsInitializers(m.graph, tensorsOf(m, weights)));
      if (!baked.ok) throw new Error(baked.error.message);
      const bakedOut = (await baked.value.run({ [m.inputName]: floatTensor(x, [5, ...m.inputShape]) }))[
        m.outputName
      ]!.data as Float32Array;
      bakedOut.forEach((v, i) => expect(out.value[i]).toBeCloseTo(v, 5));
      await fresh.value.release();
      await baked.value.release();
    }
    await rt.close();
  });

  it('predicts a split: argmax per sample and accuracy', async () => {
    const rt = await open();
    const m = plan.models[1]!;
    await rt.switchTo(m.name);
    const n = 37;
    const x = sample(m, n, 9);
    const logits = await rt.run(x, n);
    if (!logits.ok) throw new Error(logits.error.message);
    const k = m.classes.length;
    const argmax = Array.from({ length: n }, (_, i) => {
      let best = 0;
      for (let c = 1; c < k; c++) if (logits.value[i * k + c]! > logits.value[i * k + best]!) best = c;
      return best;
    });
    const y = Uint8Array.from(argmax.map((p, i) => (i % 3 === 0 ? (p + 1) % k : p)));
    const result = await rt.predict({ n, x, y }, 8);
    if (!result.ok) throw new Error(result.error.message);
    expect(Array.from(result.value.predictions)).toEqual(argmax);
    expect(result.value.accuracy).toBeCloseTo(1 - Math.ceil(n / 3) / n, 10);
    await rt.close();
  });

  it('keeps its LRU cache of exclusive pages within the byte limit', async () => {
    const sizes = plan.models.map((m) => m.exclusivePages.byteLength);
    const limit = sizes[0]! + sizes[1]!; // room for alpha and beta, not for all three
    const rt = await open({ exclusiveCacheBytes: limit });
    const sequence = ['alpha', 'beta', 'alpha', 'gamma', 'beta', 'alpha', 'alpha'];
    const hits: boolean[] = [];
    for (const name of sequence) {
      const s = await rt.switchTo(name);
      if (!s.ok) throw new Error(s.error.message);
      hits.push(s.value.fromCache);
      expect(s.value.bytesRead).toBe(
        s.value.fromCache ? 0 : plan.models.find((m) => m.name === name)!.exclusivePages.byteLength,
      );
      expect(rt.memory().level1.cache).toBeLessThanOrEqual(limit);
      expect(rt.activeWeights()).toEqual(naiveWeights(plan.models.find((m) => m.name === name)!));
    }
    expect(hits[0]).toBe(false);
    expect(hits[2]).toBe(true); // alpha still cached
    expect(hits[6]).toBe(true);
    await rt.close();
  });

  it('accounts for its memory: the parts add up and match the plan', async () => {
    const rt = await open({ exclusiveCacheBytes: 1 << 20 });
    const P = plan.pageSize;
    await rt.switchTo('beta');
    await rt.switchTo('gamma');
    const mem = rt.memory();
    const l1 = mem.level1;
    expect(l1.sharedPages).toBe(plan.sharedPageCount * P * 4);
    expect(l1.pageTables).toBe(plan.models.reduce((s, m) => s + m.pageTable.length * 4, 0));
    expect(l1.weightBuffer).toBe(Math.max(...plan.models.map((m) => m.weightCount)) * 4);
    expect(l1.exclusiveBuffer).toBe(Math.max(...plan.models.map((m) => m.exclusivePages.byteLength)));
    expect(l1.cache).toBe(
      plan.models[1]!.exclusivePages.byteLength + plan.models[2]!.exclusivePages.byteLength,
    );
    expect(l1.total).toBe(
      l1.sharedPages + l1.pageTables + l1.gatherRuns + l1.weightBuffer + l1.exclusiveBuffer + l1.cache,
    );
    expect(mem.level2Bytes).toBe(plan.models.reduce((s, m) => s + m.exclusivePages.byteLength, 0));
    expect(mem.lastSwitch?.model).toBe('gamma');
    expect(mem.lastSwitch?.bytesRead).toBe(plan.models[2]!.exclusivePages.byteLength);
    expect(mem.rss).toBeGreaterThan(l1.total);
    // The planner's estimate from the plan alone is what the runtime holds.
    expect(level1Parts(plan, l1.cache)).toEqual(l1);
    // …which is image/memory.ts's account for the linux-ort profile, the one the planner reserves with.
    const account = memoryAccount(planShape(plan), LINUX_ORT_DEVICE);
    expect(l1.total - l1.cache).toBe(account.level1Bytes);
    expect(l1.gatherRuns + l1.weightBuffer + l1.exclusiveBuffer).toBe(account.runtime.total);
    expect(mem.level2Bytes).toBe(account.level2Bytes);
    await rt.close();
  });

  it('creates sessions lazily when asked, and reports errors as values', async () => {
    const rt = await open({ sessions: 'lazy', verifyReads: true });
    expect((await rt.run(new Float32Array(64), 1)).ok).toBe(false);
    const first = await rt.switchTo('alpha');
    const second = await rt.switchTo('alpha');
    expect(first.ok && first.value.sessionMs).toBeGreaterThan(0);
    expect(second.ok && second.value.sessionMs).toBe(0);
    const wrong = await rt.run(new Float32Array(63), 1);
    expect(!wrong.ok && wrong.error.code).toBe('E_DATA_MISMATCH');
    const missing = await rt.switchTo('nope');
    expect(!missing.ok && missing.error.message).toMatch(/no model "nope"/);
    await rt.close();
  });

  it('refuses a corrupt bundle at open', async () => {
    const bad = await PagedRuntime.open(join(root, 'missing'));
    expect(!bad.ok && bad.error.code).toBe('E_NOT_FOUND');
  });
});

describe('ByteLru', () => {
  it('evicts least recently used entries to stay within its limit', () => {
    const lru = new ByteLru<string, Uint8Array>(10);
    lru.set('a', new Uint8Array(4));
    lru.set('b', new Uint8Array(4));
    lru.get('a');
    lru.set('c', new Uint8Array(4)); // evicts b
    expect(lru.keys()).toEqual(['a', 'c']);
    expect(lru.bytes).toBe(8);
    expect(lru.set('huge', new Uint8Array(11))).toBe(false);
    expect(lru.bytes).toBe(8);
    lru.set('d', new Uint8Array(10));
    expect(lru.keys()).toEqual(['d']);
    expect(lru.bytes).toBe(10);
  });
});
