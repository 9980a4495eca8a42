/**
 * A second, minimal bundle reader written only from docs/FORMAT.md — it imports nothing from
 * shared/image (the bundle is produced by a child process running shared/image/fixture.ts). If this
 * reader and ours disagree, the document or the code is wrong.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// ----------------------------------------------------------------------------- the reader (FORMAT.md)

interface DocPageFile {
  file: string;
  pageCount: number;
  bytes: number;
  sha256: string;
  pageHashes: string[];
  /** §3.2: i8 only, one per page. */
  scales?: number[];
}
interface DocModel {
  name: string;
  graph: { file: string; bytes: number; sha256: string };
  weightCount: number;
  tensors: { name: string; dims: number[]; offset: number; length: number }[];
  pageTable: number[];
  exclusive: DocPageFile;
}
interface DocManifest {
  format: string;
  version: number;
  planId: string;
  pageSize: number;
  valueType: string;
  selfTying: boolean;
  shared: DocPageFile;
  models: DocModel[];
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** §4.2: first occurrence of `"planId": "`, 64 digits replaced by '0', SHA-256 of the result. */
function planIdOf(manifest: Uint8Array): { stored: string; computed: string } {
  const key = Buffer.from('"planId": "', 'ascii');
  const at = Buffer.from(manifest).indexOf(key) + key.length;
  const stored = Buffer.from(manifest.subarray(at, at + 64)).toString('ascii');
  const zeroed = Buffer.from(manifest);
  zeroed.fill(0x30, at, at + 64);
  return { stored, computed: sha256(zeroed) };
}

/** §3.2: i8 page files list one finite float32 scale > 0 per page; f32 ones none. */
function checkScales(entry: DocPageFile, valueType: string): void {
  if (valueType === 'f32') {
    if (entry.scales !== undefined) throw new Error(`${entry.file}: f32 pages with scales`);
    return;
  }
  const scales = entry.scales;
  if (!Array.isArray(scales) || scales.length !== entry.pageCount) throw new Error(`${entry.file}: scales`);
  for (const s of scales)
    if (typeof s !== 'number' || !Number.isFinite(s) || !(s > 0) || Math.fround(s) !== s)
      throw new Error(`${entry.file}: scale ${s}`);
}

/** §2, §3.2, §6.6: size, each page's hash, the file's hash. V is 4 (f32) or 1 (i8). */
function readPageFile(dir: string, entry: DocPageFile, P: number, V: number): Uint8Array {
  const bytes = readFileSync(join(dir, entry.file));
  const pageBytes = P * V;
  if (bytes.length !== entry.bytes || entry.bytes !== entry.pageCount * pageBytes)
    throw new Error(`${entry.file}: size`);
  for (let i = 0; i < entry.pageCount; i++) {
    if (sha256(bytes.subarray(i * pageBytes, (i + 1) * pageBytes)) !== entry.pageHashes[i])
      throw new Error(`${entry.file}: page ${i}`);
  }
  if (sha256(bytes) !== entry.sha256) throw new Error(`${entry.file}: sha256`);
  return bytes;
}

interface DocBundle {
  manifest: DocManifest;
  shared: Uint8Array;
  exclusive: Map<string, Uint8Array>;
}

function docRead(dir: string): DocBundle {
  const raw = readFileSync(join(dir, 'manifest.json'));
  const manifest = JSON.parse(raw.toString('utf8')) as DocManifest;
  // §3.1: v1 is f32 only; v2 adds i8.
  const types = manifest.version === 1 ? ['f32'] : manifest.version === 2 ? ['f32', 'i8'] : [];
  if (manifest.format !== 'weightsep-bundle' || !types.includes(manifest.valueType))
    throw new Error('not a v1 or v2 bundle');
  const V = manifest.valueType === 'i8' ? 1 : 4;
  const id = planIdOf(raw);
  if (id.stored !== manifest.planId || id.computed !== manifest.planId) throw new Error('plan id');
  const P = manifest.pageSize;
  const M = manifest.shared.pageCount;
  if (manifest.shared.file !== 'shared.bin') throw new Error('shared.file');
  checkScales(manifest.shared, manifest.valueType);
  const shared = readPageFile(dir, manifest.shared, P, V);
  const exclusive = new Map<string, Uint8Array>();
  for (const m of manifest.models) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(m.name)) throw new Error('name');
    if (m.exclusive.file !== `exclusive/${m.name}.bin` || m.graph.file !== `graphs/${m.name}.onnx`)
      throw new Error('paths');
    const E = m.exclusive.pageCount;
    // §5.1 tensors contiguous; §5.2 table rules.
    let end = 0;
    for (const t of m.tensors) {
      if (t.offset !== end || t.length !== t.dims.reduce((a, b) => a * b, 1)) throw new Error('tensors');
      end += t.length;
    }
    if (end !== m.weightCount || m.pageTable.length !== Math.ceil(m.weightCount / P))
      throw new Error('sizes');
    const usedExclusive = new Set<number>();
    const usedSlots = new Set<number>();
    for (const entry of m.pageTable) {
      if (!(entry < M + E)) throw new Error('range');
      if (entry >= M) {
        if (usedExclusive.has(entry - M)) throw new Error('exclusive twice');
        usedExclusive.add(entry - M);
      } else {
        if (usedSlots.has(entry) && !manifest.selfTying) throw new Error('slot twice');
        usedSlots.add(entry);
      }
    }
    if (usedExclusive.size !== E) throw new Error('exclusive count');
    checkScales(m.exclusive, manifest.valueType);
    exclusive.set(m.name, readPageFile(dir, m.exclusive, P, V));
    const graph = readFileSync(join(dir, m.graph.file));
    if (graph.length !== m.graph.bytes || sha256(graph) !== m.graph.sha256) throw new Error('graph');
  }
  return { manifest, shared, exclusive };
}

/**
 * §5.3, literally, reading little-endian f32 with a DataView (as a C reader on any host would); i8
 * values as §2 defines them: the int8 code times its page's scale, rounded to float32.
 */
function docGather(b: DocBundle, name: string): Float32Array {
  const m = b.manifest.models.find((x) => x.name === name)!;
  const P = b.manifest.pageSize;
  const M = b.manifest.shared.pageCount;
  const i8 = b.manifest.valueType === 'i8';
  const shared = new DataView(b.shared.buffer, b.shared.byteOffset, b.shared.byteLength);
  const ex = b.exclusive.get(name)!;
  const exclusive = new DataView(ex.buffer, ex.byteOffset, ex.byteLength);
  const out = new Float32Array(m.weightCount);
  for (let j = 0; j < m.pageTable.length; j++) {
    const len = Math.min(P, m.weightCount - j * P);
    const entry = m.pageTable[j]!;
    const [view, page, file] =
      entry < M ? [shared, entry, b.manifest.shared] : [exclusive, entry - M, m.exclusive];
    const base = page * P;
    if (i8) {
      const scale = file.scales![page]!;
      for (let k = 0; k < len; k++) out[j * P + k] = Math.fround(view.getInt8(base + k) * scale);
      if (entry >= M)
        for (let k = len; k < P; k++) if (view.getInt8(base + k) !== 0) throw new Error('padding');
      continue;
    }
    for (let k = 0; k < len; k++) out[j * P + k] = view.getFloat32((base + k) * 4, true);
    if (entry >= M)
      for (let k = len; k < P; k++)
        if (view.getUint32((base + k) * 4, true) !== 0) throw new Error('padding');
  }
  return out;
}

// ----------------------------------------------------------------------------- the test

let dir: string;
let planId: string;
let i8Dir: string;
let i8PlanId: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsep-format-'));
  i8Dir = mkdtempSync(join(tmpdir(), 'wsep-format-i8-'));
  const fixture = fileURLToPath(new URL('./fixture.ts', import.meta.url));
  planId = execFileSync(process.execPath, ['--import', 'tsx', fixture, dir, '21'], {
    encoding: 'utf8',
  }).trim();
  i8PlanId = execFileSync(process.execPath, ['--import', 'tsx', fixture, i8Dir, '22', 'i8'], {
    encoding: 'utf8',
  }).trim();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(i8Dir, { recursive: true, force: true });
});

describe('a reader written from docs/FORMAT.md', () => {
  it.each([
    ['f32', () => [dir, planId] as const],
    ['i8', () => [i8Dir, i8PlanId] as const],
  ])('reads a %s bundle written by writeBundle and gathers the same weights as our reader', (type, at) => {
    const [folder, id] = at();
    const bundle = docRead(join(folder, 'bundle'));
    expect(bundle.manifest.planId).toBe(id);
    expect(bundle.manifest.valueType).toBe(type);
    expect(bundle.manifest.models.length).toBeGreaterThan(1);
    for (const m of bundle.manifest.models) {
      const mine = docGather(bundle, m.name);
      const theirs = readFileSync(join(folder, 'expected', `${m.name}.f32`));
      expect(Buffer.from(mine.buffer).equals(theirs), m.name).toBe(true);
    }
  });

  it('refuses an i8 bundle whose scale table is short or holds a bad scale', () => {
    const bundle = docRead(join(i8Dir, 'bundle'));
    const shared = bundle.manifest.shared;
    expect(shared.scales!.length).toBe(shared.pageCount);
    expect(() => checkScales({ ...shared, scales: shared.scales!.slice(1) }, 'i8')).toThrow('scales');
    for (const s of [0, -1, Infinity, 0.1])
      expect(() => checkScales({ ...shared, scales: [s, ...shared.scales!.slice(1)] }, 'i8')).toThrow(
        'scale',
      );
  });

  it('rejects the bundle after any byte of the manifest changes', () => {
    const raw = readFileSync(join(dir, 'bundle', 'manifest.json'));
    const id = planIdOf(raw);
    expect(id.computed).toBe(id.stored);
    const changed = Buffer.from(raw);
    changed[changed.length - 2]! ^= 0x01;
    expect(planIdOf(changed).computed).not.toBe(id.stored);
  });
});
