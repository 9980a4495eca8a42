/**
 * Who is to blame: the manifest's own integrity (its plan id) is checked before the files are checked
 * against it, so a hand-edited hash in manifest.json is reported against the manifest, while a
 * corrupted data file under an intact manifest is still reported against that file.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommandInProcess } from '../testing.ts';
import { bundleCommand } from './bundle.ts';
import { bundleProblemKind, readBundle, verifyBundle, type VerifyReport } from '../../image/read.ts';
import { tinyPlan } from '../../image/testing.ts';
import { writeBundle } from '../../image/write.ts';

let root: string;
let dir: string;
let manifest: Buffer;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'wsep-verify-blame-'));
  dir = join(root, 'b');
  const written = await writeBundle(tinyPlan(6), dir);
  if (!written.ok) throw new Error(written.error.message);
  manifest = readFileSync(join(dir, 'manifest.json'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Replaces the first hex digit of the n-th occurrence of `"key": "` in the manifest, without re-sealing. */
function editHash(key: string, occurrence = 0): void {
  const text = manifest.toString('utf8');
  let at = -1;
  for (let i = 0; i <= occurrence; i++) at = text.indexOf(`"${key}": "`, at + 1);
  if (at < 0) throw new Error(`no ${key}`);
  const digit = at + key.length + 5;
  const edited = text.slice(0, digit) + (text[digit] === 'a' ? 'b' : 'a') + text.slice(digit + 1);
  writeFileSync(join(dir, 'manifest.json'), edited);
}

async function verified(): Promise<VerifyReport> {
  const report = await verifyBundle(dir);
  if (!report.ok) throw new Error(report.error.message);
  return report.value;
}

async function verifyText(): Promise<{ code: number; out: string }> {
  const r = await runCommandInProcess(bundleCommand, ['verify', dir], root);
  if (!r.result.ok) throw new Error(r.result.error.message);
  return { code: r.code, out: r.out };
}

describe('bundle verify blames the right file', () => {
  it('a page hash edited in manifest.json blames the manifest, not shared.bin', async () => {
    const text = manifest.toString('utf8');
    const pageHashAt = text.indexOf('"pageHashes": [\n      "') + '"pageHashes": [\n      "'.length;
    const edited =
      text.slice(0, pageHashAt) + (text[pageHashAt] === 'a' ? 'b' : 'a') + text.slice(pageHashAt + 1);
    writeFileSync(join(dir, 'manifest.json'), edited);
    try {
      const report = await verified();
      expect(report.problems.length).toBeGreaterThan(0);
      expect(report.problems.every((p) => p.file === 'manifest.json')).toBe(true);
      expect(report.problems[0]).toMatchObject({ kind: 'manifest-edited', field: 'planId' });
      expect(report.problems.slice(1).every((p) => p.kind === 'edited-entry')).toBe(true);
      expect(report.problems.map((p) => p.field)).toContain('shared.pageHashes[0]');
      const { code, out } = await verifyText();
      expect(code).toBe(1);
      expect(out).toMatch(/manifest\.json: planId: .*edited or corrupted after it was written/);
      expect(out).toMatch(
        /manifest\.json: shared\.pageHashes\[0\]: does not match shared\.bin; .*probably edited/,
      );
      expect(out).not.toMatch(/shared\.bin: /);
      expect(out).not.toMatch(/corrupt\.$/m);
      const read = await readBundle(dir);
      expect(!read.ok && bundleProblemKind(read.error)).toBe('manifest-edited');
    } finally {
      writeFileSync(join(dir, 'manifest.json'), manifest);
    }
  });

  it('a whole-file hash or a graph hash edited in manifest.json blames the manifest too', async () => {
    for (const [key, occurrence, field] of [
      ['sha256', 0, 'shared.sha256'],
      ['sha256', 1, 'models[0].graph.sha256'],
    ] as const) {
      editHash(key, occurrence);
      try {
        const report = await verified();
        expect(
          report.problems.every((p) => p.file === 'manifest.json'),
          key,
        ).toBe(true);
        expect(report.problems.map((p) => [p.kind, p.field])).toEqual([
          ['manifest-edited', 'planId'],
          ['edited-entry', field],
        ]);
      } finally {
        writeFileSync(join(dir, 'manifest.json'), manifest);
      }
    }
  });

  it('a corrupted shared.bin under an intact manifest still blames shared.bin', async () => {
    const path = join(dir, 'shared.bin');
    const original = readFileSync(path);
    const corrupt = Buffer.from(original);
    corrupt[5]! ^= 0x40;
    writeFileSync(path, corrupt);
    try {
      const report = await verified();
      expect(report.problems.map((p) => [p.kind, p.file, p.field])).toEqual([
        ['hash', 'shared.bin', 'shared.pageHashes[0]'],
      ]);
      const { code, out } = await verifyText();
      expect(code).toBe(1);
      expect(out).toMatch(
        /shared\.bin: shared\.pageHashes\[0\]: page 0 does not match its SHA-256: the page is corrupt\./,
      );
      expect(out).not.toMatch(/planId/);
    } finally {
      writeFileSync(path, original);
    }
    expect((await verifyText()).out).toMatch(/valid \(plan [0-9a-f]{64}\)/);
  });
});
