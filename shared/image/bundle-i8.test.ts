/**
 * Int8 bundles (format v2, docs/FORMAT.md §2, §3.2): round trip, the stored bytes, corrupt scales
 * and scale tables, deltas between f32 and i8 bundles, and f32 bundles of format v1 still read.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testTempDir } from '../core/testing-temp.ts';
import { applyDelta, diffBundles } from './diff.ts';
import { computePlanId, sealPlanId } from './hash.ts';
import { gatherWeights } from './gather.ts';
import type { Plan } from './plan.ts';
import { quantizePlan } from './quantize.ts';
import { bundleProblemKind, readBundle, readResidentBundle, verifyBundle } from './read.ts';
import { tinyPlan } from './testing.ts';
import { writeBundle } from './write.ts';

async function written(plan: Plan, dir: string): Promise<string> {
  const info = await writeBundle(plan, dir);
  if (!info.ok) throw new Error(info.error.message);
  return dir;
}

/** Rewrites manifest.json through `edit` and seals it again, so only the edit is wrong. */
function editManifest(dir: string, edit: (text: string) => string): void {
  const path = join(dir, 'manifest.json');
  const text = edit(readFileSync(path, 'utf8'));
  const bytes = Buffer.from(text, 'utf8');
  writeFileSync(path, sealPlanId(bytes, computePlanId(bytes)!));
}

describe('i8 bundles', () => {
  it('round-trip: values, scales and value type come back; pages take P bytes, scales sit in the manifest', async () => {
    const plan = quantizePlan(tinyPlan(5), 'max-abs');
    const dir = await written(plan, join(testTempDir('i8-'), 'b'));
    const back = await readBundle(dir);
    if (!back.ok) throw new Error(back.error.message);
    const read = back.value.plan;
    expect(read.valueType).toBe('i8');
    expect(read.sharedPages).toEqual(plan.sharedPages);
    expect(read.sharedScales).toEqual(plan.sharedScales);
    const m = back.value.manifest;
    expect(m.version).toBe(2);
    expect(m.valueType).toBe('i8');
    expect(m.shared.bytes).toBe(plan.sharedPageCount * plan.pageSize);
    expect(m.shared.scales).toEqual(Array.from(plan.sharedScales!));
    plan.models.forEach((pm, i) => {
      expect(read.models[i]!.exclusiveScales).toEqual(pm.exclusiveScales);
      expect(m.models[i]!.exclusive.bytes).toBe(pm.exclusivePages.length);
      // The weights a device gathers are the plan's: the dequantised values, bit for bit.
      expect(gatherWeights(read.models[i]!, read.sharedPages, read.sharedPageCount, read.pageSize)).toEqual(
        gatherWeights(pm, plan.sharedPages, plan.sharedPageCount, plan.pageSize),
      );
    });
    // The resident reader keeps int8 codes, not float32 values.
    const resident = await readResidentBundle(dir);
    expect(resident.ok && resident.value.shared.valueType).toBe('i8');
    // Writing the read plan again gives the same bytes and id.
    const again = await writeBundle(read, join(testTempDir('i8-again-'), 'b'));
    expect(again.ok && again.value.planId).toBe(back.value.planId);
  });

  it('the writer refuses i8 values off their page grid, missing scales, and f32 pages with scales', async () => {
    const plan = quantizePlan(tinyPlan(5), 'max-abs');
    const off = plan.sharedPages.slice();
    off[3] = Math.fround(off[3]! + plan.sharedScales![0]! / 3);
    const dir = join(testTempDir('i8-refuse-'), 'b');
    const a = await writeBundle({ ...plan, sharedPages: off }, dir);
    expect(!a.ok && a.error.message).toMatch(/shared pages cannot be stored as i8: page 0, value 3/);
    const { sharedScales: _dropped, ...noScales } = plan;
    const b = await writeBundle(noScales, dir);
    expect(!b.ok && b.error.message).toMatch(/0 scales for \d+ pages/);
    const c = await writeBundle({ ...tinyPlan(5), sharedScales: plan.sharedScales! }, dir);
    expect(!c.ok && c.error.message).toMatch(/f32 plan has page scales/);
  });

  it.each([
    [
      'a zero scale',
      (t: string) => t.replace(/"scales": \[\n(\s+)[^,\n]+/, '"scales": [\n$10'),
      'shared.scales[0]',
    ],
    [
      'a negative scale',
      (t: string) => t.replace(/"scales": \[\n(\s+)[^,\n]+/, '"scales": [\n$1-0.5'),
      'shared.scales[0]',
    ],
    [
      'an infinite scale',
      (t: string) => t.replace(/"scales": \[\n(\s+)[^,\n]+/, '"scales": [\n$11e999'),
      'shared.scales[0]',
    ],
    [
      'a scale that is no float32',
      (t: string) => t.replace(/"scales": \[\n(\s+)[^,\n]+/, '"scales": [\n$10.1'),
      'shared.scales[0]',
    ],
    [
      'a truncated scale table',
      (t: string) => t.replace(/"scales": \[\n\s+[^,\n]+,/, '"scales": ['),
      'shared.scales',
    ],
    ['no scale table', (t: string) => t.replace(/,\n\s+"scales": \[[^\]]*\]/, ''), 'shared.scales'],
    [
      'a scale that is a string',
      (t: string) => t.replace(/"scales": \[\n(\s+)[^,\n]+/, '"scales": [\n$1"1"'),
      'shared.scales[0]',
    ],
  ])('a sealed manifest with %s is refused as a scale problem', async (_, edit, field) => {
    const dir = await written(quantizePlan(tinyPlan(6), 'max-abs'), join(testTempDir('i8-bad-'), 'b'));
    editManifest(dir, edit);
    const r = await readBundle(dir);
    expect(!r.ok && bundleProblemKind(r.error)).toBe('scale');
    const v = await verifyBundle(dir);
    expect(v.ok && v.value.problems.map((p) => p.field)).toContain(field);
  });

  it('an f32 manifest with scales, or a v1 manifest with i8 pages, is refused', async () => {
    const f32 = await written(tinyPlan(6), join(testTempDir('f32-scales-'), 'b'));
    editManifest(f32, (t) => t.replace(/("pageHashes": \[[^\]]*\])/, '$1,\n    "scales": [1]'));
    const a = await readBundle(f32);
    expect(!a.ok && bundleProblemKind(a.error)).toBe('scale');
    const i8 = await written(quantizePlan(tinyPlan(6), 'max-abs'), join(testTempDir('v1-i8-'), 'b'));
    editManifest(i8, (t) => t.replace('"version": 2', '"version": 1'));
    const b = await readBundle(i8);
    expect(!b.ok && b.error.message).toMatch(/valueType: must be "f32" in format v1, found "i8"/);
  });

  it('a truncated i8 page file is a size problem', async () => {
    const dir = await written(quantizePlan(tinyPlan(6), 'max-abs'), join(testTempDir('i8-trunc-'), 'b'));
    const path = join(dir, 'shared.bin');
    writeFileSync(path, readFileSync(path).subarray(0, 17));
    const r = await readBundle(dir);
    expect(!r.ok && bundleProblemKind(r.error)).toBe('size');
  });

  it('f32 bundles of format v1 still read (a v1 writer wrote exactly this, with version 1 and a v2 report)', async () => {
    const plan = tinyPlan(7);
    const dir = await written(plan, join(testTempDir('v1-'), 'b'));
    editManifest(dir, (t) =>
      t.replace('"version": 2', '"version": 1').replace(/("report": \{\n\s+"version": )3/, '$12'),
    );
    expect(readFileSync(join(dir, 'manifest.json'), 'utf8')).toMatch(
      /^\{\n {2}"format": "weightsep-bundle",\n {2}"version": 1,/,
    );
    const r = await readBundle(dir);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.manifest.version).toBe(1);
    expect(r.value.plan.valueType).toBe('f32');
    expect(r.value.plan.sharedPages).toEqual(plan.sharedPages);
    expect(r.value.plan.report?.version).toBe(3);
  });

  it('deltas: f32 → i8 → i8 with new scales, rebuilt byte for byte', async () => {
    const root = testTempDir('i8-delta-');
    const f32 = tinyPlan(8);
    const i8 = quantizePlan(f32, 'max-abs');
    const a = await written(f32, join(root, 'a'));
    const b = await written(i8, join(root, 'b'));
    const d1 = await diffBundles(a, b);
    if (!d1.ok) throw new Error(d1.error.message);
    const out1 = await applyDelta(a, d1.value, join(root, 'b2'));
    if (!out1.ok) throw new Error(out1.error.message);
    expect(out1.value.planId).toBe((await readBundle(b)).ok && d1.value.to);
    for (const f of ['manifest.json', 'shared.bin', 'exclusive/alpha.bin'])
      expect(readFileSync(join(root, 'b2', f)).equals(readFileSync(join(b, f))), f).toBe(true);
    // The same codes with other scales: no page is sent, the manifest carries the scales.
    const rescaled: Plan = {
      ...i8,
      sharedPages: i8.sharedPages.map((v) => v * 2),
      sharedScales: i8.sharedScales!.map((s) => s * 2),
    };
    const c = await written(rescaled, join(root, 'c'));
    const d2 = await diffBundles(b, c);
    if (!d2.ok) throw new Error(d2.error.message);
    expect(d2.value.pages.length).toBe(0);
    const out2 = await applyDelta(b, d2.value, join(root, 'c2'));
    if (!out2.ok) throw new Error(out2.error.message);
    const back = await readBundle(join(root, 'c2'));
    expect(back.ok && back.value.plan.sharedPages).toEqual(rescaled.sharedPages);
  });
});
