/**
 * Reading streams: page files are hashed chunk by chunk, the event loop turns between chunks, a signal
 * cancels the check (E_CANCELLED), and readResidentBundle verifies every byte while holding only what
 * level 1 keeps (the exclusive pages are hashed and let go). Problems carry a kind.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../core/progress.ts';
import { useTempDir } from '../core/testing-temp.ts';
import { computePlanId, pageHashes, sealPlanId, sha256Hex } from './hash.ts';
import type { Plan } from './plan.ts';
import { heldBytes } from './pages.ts';
import { bundleProblemKind, readBundle, readResidentBundle, verifyBundle, READ_CHUNK_BYTES } from './read.ts';
import { convNet, syntheticPlan, tinyPlan } from './testing.ts';
import { writeBundle } from './write.ts';

const root = useTempDir('read-stream-');

async function written(plan: Plan, name: string): Promise<string> {
  const dir = join(root, name);
  const info = await writeBundle(plan, dir);
  if (!info.ok) throw new Error(info.error.message);
  return dir;
}

/**
 * Eight models of about a million weights each, nearly all on exclusive pages: 32 MiB of exclusive
 * pages, many read chunks, a small shared pool.
 */
function largePlan(): Plan {
  const spec = { input: [1, 32, 32] as const, convs: [8], hidden: [512], classes: 4 };
  const models = Array.from({ length: 8 }, (_, i) => ({
    name: `m${i}`,
    model: convNet(100 + i, { ...spec, input: [...spec.input] as [number, number, number] }, `m${i}`),
  }));
  return syntheticPlan(models, { pageSize: 1024, sharedPageCount: 16, seed: 4 });
}

// A real garbage collection before each memory reading, so that the figures are what a value retains.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** ArrayBuffer bytes that `make`'s result retains (measured around full garbage collections). */
async function retainedBy<T>(make: () => Promise<T>): Promise<{ value: T; bytes: number }> {
  // Twice: buffers whose owners die in one collection are released by the next.
  collectGarbage();
  collectGarbage();
  const before = process.memoryUsage().arrayBuffers;
  const value = await make();
  collectGarbage();
  collectGarbage();
  return { value, bytes: process.memoryUsage().arrayBuffers - before };
}

const exclusiveBytes = (plan: Plan) => plan.models.reduce((a, m) => a + m.exclusivePages.byteLength, 0);

let large: { dir: string; plan: Plan } | undefined;
async function largeBundle(): Promise<{ dir: string; plan: Plan }> {
  if (!large) {
    const plan = largePlan();
    large = { dir: await written(plan, 'large'), plan };
  }
  return large;
}

describe('readResidentBundle', () => {
  it('verifies as readBundle does, and holds everything but the exclusive pages', async () => {
    const plan = tinyPlan(3);
    const dir = await written(plan, 'tiny');
    const full = await readBundle(dir);
    const resident = await readResidentBundle(dir);
    if (!full.ok || !resident.ok) throw new Error('read failed');
    expect(resident.value.planId).toBe(full.value.planId);
    expect(resident.value.manifest).toEqual(full.value.manifest);
    expect(resident.value.shared).toEqual({ valueType: 'f32', values: plan.sharedPages });
    expect([...resident.value.graphBytes.keys()]).toEqual(['alpha', 'beta', 'gamma']);
    expect('plan' in resident.value).toBe(false);
    expect(full.value.heldBytes).toBe(full.value.totalBytes);
    expect(resident.value.heldBytes).toBe(resident.value.totalBytes - exclusiveBytes(plan));
  });

  it('retains the shared pages and graphs, not the exclusive pages (readBundle retains them all)', async () => {
    const { dir, plan } = await largeBundle();
    const excl = exclusiveBytes(plan);
    expect(excl).toBeGreaterThan(30 * 2 ** 20);
    const full = await retainedBy(() => readBundle(dir));
    const resident = await retainedBy(() => readResidentBundle(dir));
    if (!full.value.ok || !resident.value.ok) throw new Error('read failed');
    // Other garbage may still be freed meanwhile: the signal is the gap, 30+ MiB against ~1 MiB.
    expect(full.bytes).toBeGreaterThan(excl * 0.75);
    expect(resident.bytes).toBeLessThan(excl / 16);
    expect(resident.bytes).toBeGreaterThanOrEqual(heldBytes(resident.value.value.shared));
    expect(resident.value.value.heldBytes).toBeLessThan(excl / 16);
  });

  it('refuses a corrupt exclusive page it does not keep, with the kind of the problem', async () => {
    const dir = await written(tinyPlan(2), 'corrupt-exclusive');
    const path = join(dir, 'exclusive', 'beta.bin');
    const bytes = readFileSync(path);
    bytes[3]! ^= 0x01;
    writeFileSync(path, bytes);
    const read = await readResidentBundle(dir);
    expect(!read.ok && read.error.code).toBe('E_BUNDLE_CORRUPT');
    expect(!read.ok && bundleProblemKind(read.error)).toBe('hash');
  });
});

describe('streaming', () => {
  it('reports verify progress in bytes, chunk by chunk, up to the files’ total', async () => {
    const { dir, plan } = await largeBundle();
    const events: ProgressEvent[] = [];
    const read = await readResidentBundle(dir, { progress: (e) => events.push(e) });
    expect(read.ok).toBe(true);
    expect(events.every((e) => e.stage === 'verify')).toBe(true);
    expect(events.length).toBeGreaterThanOrEqual(exclusiveBytes(plan) / READ_CHUNK_BYTES);
    const steps = events.map((e) => e.step);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    expect(events.at(-1)!.step).toBe(events.at(-1)!.total);
    expect(events.at(-1)!.fraction).toBe(1);
  });

  it('lets the event loop turn while it hashes', async () => {
    const { dir } = await largeBundle();
    let turns = 0;
    let running = true;
    const spin = (): void => {
      turns++;
      if (running) setImmediate(spin);
    };
    setImmediate(spin);
    const read = await readBundle(dir);
    running = false;
    expect(read.ok).toBe(true);
    // 32 MiB in 1 MiB chunks: the loop turns at least once per chunk.
    expect(turns).toBeGreaterThan(30);
  });

  it('stops with E_CANCELLED when the signal fires mid-verify, in every reader', async () => {
    const { dir } = await largeBundle();
    for (const read of [readBundle, readResidentBundle, verifyBundle] as const) {
      const controller = new AbortController();
      let after = 0;
      const r = await read(dir, {
        signal: controller.signal,
        progress: (e) => {
          if (controller.signal.aborted) after++;
          else if (e.step > 3 * READ_CHUNK_BYTES) controller.abort();
        },
      });
      expect(!r.ok && r.error.code, read.name).toBe('E_CANCELLED');
      expect(after, read.name).toBe(0); // not one more chunk once aborted
    }
    const aborted = AbortSignal.abort();
    const early = await readBundle(dir, { signal: aborted });
    expect(!early.ok && early.error.code).toBe('E_CANCELLED');
  });
});

describe('problem kinds', () => {
  it('a non-zero padding in a last exclusive page, under correct hashes, is "padding"', async () => {
    // A plan whose first model's last page is exclusive and not full.
    let plan: Plan | undefined;
    for (let seed = 1; seed < 50 && !plan; seed++) {
      const p = tinyPlan(seed, { extraExclusive: 6 });
      const m = p.models[0]!;
      const last = m.pageTable[m.pageTable.length - 1]!;
      if (last >= p.sharedPageCount && m.weightCount % p.pageSize !== 0) plan = p;
    }
    if (!plan) throw new Error('no seed gives an exclusive, partial last page');
    const dir = await written(plan, 'padding');
    const m = plan.models[0]!;
    const P = plan.pageSize;
    const e = m.pageTable[m.pageTable.length - 1]! - plan.sharedPageCount;
    const path = join(dir, 'exclusive', `${m.name}.bin`);
    const bytes = readFileSync(path);
    bytes[(e + 1) * P * 4 - 1] = 0x3f; // the last padding value's high byte
    writeFileSync(path, bytes);
    // Re-seal the manifest over the changed file, as a buggy writer would.
    const manifestPath = join(dir, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
      models: { exclusive: { sha256: string; pageHashes: string[] } }[];
    };
    manifest.models[0]!.exclusive.sha256 = sha256Hex(bytes);
    manifest.models[0]!.exclusive.pageHashes = pageHashes(bytes, P * 4);
    const text = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
    writeFileSync(manifestPath, sealPlanId(text, computePlanId(text)!));
    for (const read of [readBundle, readResidentBundle] as const) {
      const r = await read(dir);
      expect(!r.ok && bundleProblemKind(r.error), read.name).toBe('padding');
    }
    const report = await verifyBundle(dir);
    expect(report.ok && report.value.problems.map((p) => [p.kind, p.file])).toEqual([
      ['padding', `exclusive/${m.name}.bin`],
    ]);
  });

  it('schema, version and format problems each have their own kind', async () => {
    const dir = await written(tinyPlan(1), 'schema');
    const manifestPath = join(dir, 'manifest.json');
    const original = readFileSync(manifestPath, 'utf8');
    const cases: [string, string][] = [
      ['"pageSize": 16', 'schema'],
      ['"version": 2', 'version'],
      ['"format": "weightsep-bundle"', 'format'],
    ];
    for (const [member, kind] of cases) {
      const [key] = member.split(':');
      writeFileSync(manifestPath, original.replace(member, `${key}: "x"`));
      const r = await readBundle(dir);
      expect(!r.ok && bundleProblemKind(r.error), member).toBe(kind);
    }
    writeFileSync(manifestPath, original);
    expect((await readBundle(dir)).ok).toBe(true);
  });
});
