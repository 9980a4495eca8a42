import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Plan } from './plan.ts';
import { computePlanId, sealPlanId } from './hash.ts';
import type { BundleProblem } from './manifest.ts';
import {
  bundleProblemKind,
  readBundle,
  verifyBundle,
  type BundleErrorDetails,
  type VerifyReport,
} from './read.ts';
import { tinyPlan } from './testing.ts';
import { writeBundle } from './write.ts';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'wsep-bundle-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

async function written(plan: Plan = tinyPlan(3), name = 'b'): Promise<string> {
  const dir = join(root, name);
  const info = await writeBundle(plan, dir);
  if (!info.ok) throw new Error(info.error.message);
  return dir;
}

function filesOf(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (rel: string): void => {
    for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(path);
      else out.set(path, readFileSync(join(dir, path)));
    }
  };
  walk('');
  return out;
}

/** Edits the manifest and re-seals its plan id, as a buggy writer would: only the structural checks can catch it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests edit arbitrary members of untyped JSON
function editManifest(dir: string, edit: (m: Record<string, any>) => void): void {
  const path = join(dir, 'manifest.json');
  const manifest = JSON.parse(readFileSync(path, 'utf8'));
  edit(manifest);
  const bytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(path, sealPlanId(bytes, computePlanId(bytes)!));
}

/** The first problem readBundle reports; the error's message names it, and its details carry its kind. */
async function firstProblem(dir: string): Promise<BundleProblem> {
  const read = await readBundle(dir);
  if (read.ok) throw new Error('the bundle was read');
  expect(read.error.code).toBe('E_BUNDLE_CORRUPT');
  const details = read.error.details as BundleErrorDetails;
  const first = details.problems[0]!;
  expect(bundleProblemKind(read.error)).toBe(first.kind);
  expect(read.error.message).toContain(first.message);
  return first;
}

async function verified(dir: string): Promise<VerifyReport> {
  const report = await verifyBundle(dir);
  if (!report.ok) throw new Error(report.error.message);
  return report.value;
}

describe('round trip', () => {
  it('reads back the plan it wrote', async () => {
    const plan = tinyPlan(3, { shuffleExclusive: true });
    const dir = await written(plan);
    const read = await readBundle(dir);
    expect(read.ok).toBe(true);
    if (!read.ok) return;
    const back = read.value.plan;
    expect(back.pageSize).toBe(plan.pageSize);
    expect(back.sharedPageCount).toBe(plan.sharedPageCount);
    expect(back.sharedPages).toEqual(plan.sharedPages);
    expect(back.budgets).toEqual(plan.budgets);
    expect(back.report).toEqual(plan.report);
    expect(back.selfTied).toBe(false);
    back.models.forEach((m, i) => {
      const o = plan.models[i]!;
      expect(m.name).toBe(o.name);
      expect(m.pageTable).toEqual(o.pageTable);
      expect(m.exclusivePages).toEqual(o.exclusivePages);
      expect(m.tensors).toEqual(o.tensors);
      expect(m.inputShape).toEqual(o.inputShape);
      expect(m.classes).toEqual(o.classes);
      expect(m.preprocessing).toEqual(o.preprocessing);
      expect(m.accuracy).toEqual(o.accuracy);
      expect(m.graph.graph.inputs.map((x) => x.name)).toEqual(o.graph.graph.inputs.map((x) => x.name));
    });
    expect((await verified(dir)).problems).toEqual([]);
  });

  it('re-writes a read plan byte for byte, with the same plan id', async () => {
    const dir = await written();
    const read = await readBundle(dir);
    if (!read.ok) throw new Error(read.error.message);
    const again = await writeBundle(read.value.plan, join(root, 'again'));
    expect(again.ok && again.value.planId).toBe(read.value.planId);
    const a = filesOf(dir);
    const b = filesOf(join(root, 'again'));
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [path, bytes] of a) expect(b.get(path)!.equals(bytes), path).toBe(true);
  });

  it('writes the layout of docs/FORMAT.md', async () => {
    const dir = await written();
    expect([...filesOf(dir).keys()].sort()).toEqual(
      [
        'exclusive/alpha.bin',
        'exclusive/beta.bin',
        'exclusive/gamma.bin',
        'graphs/alpha.onnx',
        'graphs/beta.onnx',
        'graphs/gamma.onnx',
        'manifest.json',
        'shared.bin',
      ].sort(),
    );
    const text = readFileSync(join(dir, 'manifest.json'), 'utf8');
    expect(text.startsWith('{\n  "format": "weightsep-bundle",\n  "version": 2,\n  "planId": "')).toBe(true);
  });

  it('supports self-tying plans and refuses a shared slot used twice without it', async () => {
    const tied = tinyPlan(4, { selfTied: true });
    expect((await writeBundle(tied, join(root, 'tied'))).ok).toBe(true);
    const untied = { ...tied, selfTied: false };
    const refused = await writeBundle(untied, join(root, 'untied'));
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.error.code).toBe('E_PLAN');
      expect(refused.error.message).toMatch(/one page of a model per slot/);
    }
    expect(existsSync(join(root, 'untied'))).toBe(false);
  });

  it('refuses model names that are not safe file names', async () => {
    const plan = tinyPlan(3);
    const bad = { ...plan, models: plan.models.map((m, i) => (i === 0 ? { ...m, name: '../evil' } : m)) };
    const result = await writeBundle(bad, join(root, 'bad'));
    expect(!result.ok && result.error.message).toMatch(/not a valid model name/);
  });
});

describe('corrupt input: each with its own kind, field and message', () => {
  it('truncated shared.bin', async () => {
    const dir = await written();
    truncateSync(join(dir, 'shared.bin'), 100);
    const p = await firstProblem(dir);
    expect(p).toMatchObject({ kind: 'size', file: 'shared.bin', field: 'shared.bytes' });
    expect(p.message).toMatch(/shared\.bin: shared\.bytes: the file has 100 bytes .*truncated/);
  });

  it('a flipped byte in an exclusive page', async () => {
    const dir = await written();
    const path = join(dir, 'exclusive/beta.bin');
    const bytes = readFileSync(path);
    bytes[16 * 4 + 5]! ^= 0x10; // page 1
    writeFileSync(path, bytes);
    const p = await firstProblem(dir);
    expect(p).toMatchObject({
      kind: 'hash',
      file: 'exclusive/beta.bin',
      field: 'models[1].exclusive.pageHashes[1]',
    });
    expect(p.message).toMatch(/page 1 does not match its SHA-256/);
  });

  it('a wrong page count in the manifest', async () => {
    const dir = await written();
    editManifest(dir, (m) => (m['shared'].pageCount += 1));
    const p = await firstProblem(dir);
    expect(p).toMatchObject({ kind: 'inconsistent', file: 'manifest.json', field: 'shared.bytes' });
    expect(p.message).toMatch(/is \d+ but pageCount \d+ × 64 B per page/);
  });

  it('an out-of-range page-table entry', async () => {
    const dir = await written();
    editManifest(dir, (m) => (m['models'][0].pageTable[2] = 999));
    const p = await firstProblem(dir);
    expect(p).toMatchObject({ kind: 'inconsistent', field: 'models[0].pageTable[2]' });
    expect(p.message).toMatch(/= 999 is out of range: entries must be < M \+ E/);
  });

  it('a missing graph', async () => {
    const dir = await written();
    rmSync(join(dir, 'graphs/gamma.onnx'));
    expect(await firstProblem(dir)).toMatchObject({
      kind: 'missing-file',
      file: 'graphs/gamma.onnx',
      field: 'models[2].graph.file',
    });
  });

  it('a manifest that is not JSON', async () => {
    const dir = await written();
    writeFileSync(join(dir, 'manifest.json'), '{"format": "weightsep-bundle", ');
    expect(await firstProblem(dir)).toMatchObject({ kind: 'not-json', file: 'manifest.json' });
  });

  it('a manifest edited without re-sealing its plan id', async () => {
    const dir = await written();
    const path = join(dir, 'manifest.json');
    writeFileSync(path, readFileSync(path, 'utf8').replace('"selfTying": false', '"selfTying": true '));
    const p = await firstProblem(dir);
    expect(p).toMatchObject({ kind: 'manifest-edited', field: 'planId' });
    expect(p.message).toMatch(/the manifest does not hash to its plan id/);
  });

  it('tensors that are not contiguous, and a graph that does not match its weights', async () => {
    const dir = await written();
    editManifest(dir, (m) => {
      m['models'][1].tensors[1].offset += 1;
      m['models'][0].tensors[0].name = 'renamed';
    });
    const report = await verified(dir);
    const messages = report.problems.map((p) => p.message).join('\n');
    expect(messages).toMatch(/models\[1\]\.tensors\[1\]\.offset: is \d+ but the previous tensors end at/);
    expect(messages).toMatch(
      /graphs\/alpha\.onnx: models\[0\]\.tensors\[0\]\.name: the graph has no input "renamed"/,
    );
    expect(report.problems.every((p) => p.file && p.message.includes(p.file))).toBe(true);
    expect(report.problems.map((p) => [p.kind, p.field])).toEqual(
      expect.arrayContaining([
        ['inconsistent', 'models[1].tensors[1].offset'],
        ['graph-mismatch', 'models[0].tensors[0].name'],
      ]),
    );
  });

  it('hostile manifests: foreign paths and huge counts are refused without reading or allocating', async () => {
    const dir = await written();
    editManifest(dir, (m) => {
      m['models'][0].exclusive.file = '../../etc/passwd';
      m['models'][1].exclusive.pageCount = 1e15;
    });
    const report = await verified(dir);
    const messages = report.problems.map((p) => p.message).join('\n');
    expect(messages).toMatch(
      /models\[0\]\.exclusive\.file: must be "exclusive\/alpha\.bin", found "\.\.\/\.\.\/etc\/passwd"/,
    );
    expect(messages).toMatch(
      /models\[1\]\.exclusive\.pageCount: is 1000000000000000, more than the model's \d+ pages/,
    );
  });

  it('a missing folder or manifest is E_NOT_FOUND', async () => {
    const dir = await written();
    rmSync(join(dir, 'manifest.json'));
    const noManifest = await readBundle(dir);
    expect(!noManifest.ok && noManifest.error.code).toBe('E_NOT_FOUND');
    expect(!noManifest.ok && bundleProblemKind(noManifest.error)).toBe('missing-file');
    const read = await readBundle(join(root, 'nothing'));
    expect(!read.ok && read.error.code).toBe('E_NOT_FOUND');
    expect(!read.ok && bundleProblemKind(read.error)).toBe('no-bundle');
  });
});

describe('atomic writes', () => {
  const enospc = (): never => {
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  };

  it('a failure mid-write leaves nothing under the final name and no temporary folder', async () => {
    const dir = join(root, 'fresh');
    const result = await writeBundle(tinyPlan(3), dir, {
      faultInjection: (s) => (s.kind === 'file' && s.index === 3 ? enospc() : undefined),
    });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('E_IO');
      expect(result.error.message).toMatch(/disk is full.*Nothing was changed/);
    }
    expect(readdirSync(root)).toEqual([]);
  });

  it('a failure mid-write or before the rename leaves an existing bundle intact', async () => {
    const dir = await written(tinyPlan(3), 'live');
    const before = filesOf(dir);
    for (const fault of [
      (s: { kind: string }) => (s.kind === 'file' ? enospc() : undefined),
      (s: { kind: string }) => (s.kind === 'rename' ? enospc() : undefined),
    ]) {
      const result = await writeBundle(tinyPlan(9), dir, { faultInjection: fault });
      expect(result.ok).toBe(false);
      expect(readdirSync(root)).toEqual(['live']);
      const after = filesOf(dir);
      expect([...after.keys()]).toEqual([...before.keys()]);
      for (const [p, b] of before) expect(after.get(p)!.equals(b)).toBe(true);
    }
    expect((await readBundle(dir)).ok).toBe(true);
  });

  it('replaces an existing bundle as a whole', async () => {
    const dir = await written(tinyPlan(3), 'live');
    const next = await writeBundle(tinyPlan(9), dir);
    expect(next.ok).toBe(true);
    const read = await readBundle(dir);
    expect(read.ok && next.ok && read.value.planId === next.value.planId).toBe(true);
    expect(readdirSync(root)).toEqual(['live']);
  });

  it('refuses to replace a folder that is not a bundle', async () => {
    const dir = join(root, 'home');
    rmSync(dir, { recursive: true, force: true });
    writeFileSync(join(root, 'keep.txt'), 'x');
    const result = await writeBundle(tinyPlan(3), root);
    expect(!result.ok && result.error.message).toMatch(/not a bundle; refusing to replace it/);
    expect(existsSync(join(root, 'keep.txt'))).toBe(true);
  });
});
