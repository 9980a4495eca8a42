import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Plan } from './plan.ts';
import { applyDelta, diffBundles, readDelta, writeDelta } from './diff.ts';
import { readBundle } from './read.ts';
import { convNet, syntheticPlan, tinyPlan, TINY_SPEC } from './testing.ts';
import { writeBundle } from './write.ts';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'wsep-diff-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function tree(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const rel of readdirSync(dir, { recursive: true }) as string[]) {
    try {
      out.set(rel, readFileSync(join(dir, rel)));
    } catch {
      // a folder
    }
  }
  return out;
}

function expectSameTree(a: string, b: string): void {
  const x = tree(a);
  const y = tree(b);
  expect([...y.keys()].sort()).toEqual([...x.keys()].sort());
  for (const [p, bytes] of x) expect(y.get(p)!.equals(bytes), p).toBe(true);
}

/** A retrained plan: a few shared pages and one exclusive page change, one model's pages are renumbered. */
function evolve(plan: Plan): Plan {
  const P = plan.pageSize;
  const shared = plan.sharedPages.slice();
  for (const slot of [0, 5]) for (let k = 0; k < P; k++) shared[slot * P + k]! += 0.01;
  const models = plan.models.map((m, i) => {
    if (i !== 1) return m;
    const exclusivePages = m.exclusivePages.slice();
    exclusivePages[3] = 42;
    return { ...m, exclusivePages };
  });
  return {
    ...plan,
    sharedPages: shared,
    models,
    report: plan.report && { ...plan.report, init: 'retrained' },
  };
}

async function write(plan: Plan, name: string): Promise<string> {
  const dir = join(root, name);
  const r = await writeBundle(plan, dir);
  if (!r.ok) throw new Error(r.error.message);
  return dir;
}

describe('diff and apply', () => {
  it('sends only the changed pages and rebuilds the new bundle byte for byte', async () => {
    const plan = tinyPlan(3);
    const oldDir = await write(plan, 'old');
    const newDir = await write(evolve(plan), 'new');
    const delta = await diffBundles(oldDir, newDir);
    if (!delta.ok) throw new Error(delta.error.message);
    expect(delta.value.shared.changed).toEqual([0, 5]);
    const beta = delta.value.models.find((m) => m.name === 'beta')!;
    expect(beta.status).toBe('changed');
    expect(beta.exclusive!.changed).toEqual([0]);
    expect(delta.value.models.filter((m) => m.status === 'unchanged').map((m) => m.name)).toEqual([
      'alpha',
      'gamma',
    ]);
    expect(delta.value.pages.length).toBe(3);
    expect(delta.value.graphs).toEqual([]);
    expect(delta.value.transferBytes).toBeLessThan(delta.value.newBundleBytes);

    const deltaDir = join(root, 'delta');
    expect(writeDelta(delta.value, deltaDir).ok).toBe(true);
    const out = join(root, 'rebuilt');
    const applied = await applyDelta(oldDir, deltaDir, out);
    expect(applied.ok && applied.value.planId).toBe(delta.value.to);
    expectSameTree(newDir, out);
  });

  it('handles added and removed models, changed graphs and moved pages', async () => {
    const plan = tinyPlan(3);
    const oldDir = await write(plan, 'old');
    // Reorder the pool (every page moves to another slot) and swap one model for a new one.
    const M = plan.sharedPageCount;
    const P = plan.pageSize;
    const perm = Array.from({ length: M }, (_, i) => (i + 1) % M);
    const shared = new Float32Array(plan.sharedPages.length);
    perm.forEach((to, from) => shared.set(plan.sharedPages.subarray(from * P, (from + 1) * P), to * P));
    const extra = syntheticPlan([{ name: 'delta-net', model: convNet(77, TINY_SPEC, 'd') }], {
      pageSize: P,
      sharedPageCount: M,
      seed: 8,
    }).models[0]!;
    const moved = plan.models
      .slice(0, 2)
      .map((m) => ({ ...m, pageTable: m.pageTable.map((e) => (e < M ? perm[e]! : e)) }));
    const next: Plan = { ...plan, sharedPages: shared, models: [...moved, extra] };
    const newDir = await write(next, 'new');
    const delta = await diffBundles(oldDir, newDir);
    if (!delta.ok) throw new Error(delta.error.message);
    expect(delta.value.models.map((m) => `${m.name}:${m.status}`)).toEqual([
      'alpha:changed',
      'beta:changed',
      'delta-net:added',
      'gamma:removed',
    ]);
    expect(delta.value.graphs.map((g) => g.name)).toEqual(['delta-net']);
    // Moved pages are found by content: only pages no old file holds travel.
    expect(delta.value.shared.changed.length).toBeGreaterThan(M / 2);
    expect(delta.value.pages.length).toBeLessThan(delta.value.shared.changed.length);
    const out = join(root, 'rebuilt');
    const applied = await applyDelta(oldDir, delta.value, out);
    expect(applied.ok).toBe(true);
    expectSameTree(newDir, out);
  });

  it('refuses a delta for another plan, and a corrupted delta', async () => {
    const plan = tinyPlan(3);
    const oldDir = await write(plan, 'old');
    const newDir = await write(evolve(plan), 'new');
    const otherDir = await write(tinyPlan(4), 'other');
    const delta = await diffBundles(oldDir, newDir);
    if (!delta.ok) throw new Error(delta.error.message);
    const wrongBase = await applyDelta(otherDir, delta.value, join(root, 'x'));
    expect(!wrongBase.ok && wrongBase.error.message).toMatch(/delta applies to plan/);
    const deltaDir = join(root, 'delta');
    writeDelta(delta.value, deltaDir);
    const blob = readFileSync(join(deltaDir, 'pages.bin'));
    blob[7]! ^= 1;
    writeFileSync(join(deltaDir, 'pages.bin'), blob);
    const read = await readDelta(deltaDir);
    expect(!read.ok && read.error.message).toMatch(/page 0 of pages\.bin does not match its SHA-256/);
    const applied = await applyDelta(oldDir, deltaDir, join(root, 'y'));
    expect(applied.ok).toBe(false);
    expect(readdirSync(root).sort()).toEqual(['delta', 'new', 'old', 'other']);
    expect((await readBundle(oldDir)).ok).toBe(true);
  });
});
