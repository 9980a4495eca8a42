/**
 * Fuzz: single-byte corruptions anywhere in a bundle never crash the reader and never load silently —
 * the manifest's bytes are covered by the plan id, every other file by its page and file hashes.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../core/rng.ts';
import { bundleProblemKind, readBundle, verifyBundle } from './read.ts';
import { tinyPlan } from './testing.ts';
import { writeBundle } from './write.ts';

let root: string;
let dir: string;
let files: string[];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'wsep-fuzz-'));
  dir = join(root, 'b');
  const info = await writeBundle(tinyPlan(5), dir);
  if (!info.ok) throw new Error(info.error.message);
  files = info.value.files.map((f) => f.path);
});
// Removes the mkdtemp folder itself: if the set-up failed half-way, nothing above it is touched.
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('fuzz', () => {
  it('detects every one of 400 seeded byte flips, without throwing', async () => {
    const rng = new Rng(20261126);
    const detectedBy = new Map<string, number>();
    for (let trial = 0; trial < 400; trial++) {
      // Half the flips go to the manifest (the most structured file), the rest spread over the others.
      const file = trial % 2 === 0 ? 'manifest.json' : files[1 + rng.int(files.length - 1)]!;
      const path = join(dir, file);
      const original = readFileSync(path);
      const corrupt = Buffer.from(original);
      const at = rng.int(corrupt.length);
      corrupt[at]! ^= 1 + rng.int(255);
      writeFileSync(path, corrupt);
      try {
        const read = await readBundle(dir);
        expect(read.ok, `flip of byte ${at} in ${file} went undetected`).toBe(false);
        if (!read.ok) {
          expect(read.error.code).toBe('E_BUNDLE_CORRUPT');
          const kind = bundleProblemKind(read.error) ?? 'none';
          detectedBy.set(kind, (detectedBy.get(kind) ?? 0) + 1);
        }
        const report = await verifyBundle(dir);
        expect(report.ok && report.value.problems.length).toBeGreaterThan(0);
      } finally {
        writeFileSync(path, original);
      }
    }
    expect((await readBundle(dir)).ok).toBe(true);
    expect([...detectedBy.values()].reduce((a, b) => a + b, 0)).toBe(400);
    expect(detectedBy.get('hash')).toBeGreaterThan(0);
    expect(detectedBy.get('not-json')).toBeGreaterThan(0);
    // Every flip is named by a check that understood it: none fell through to the catch-all.
    expect(detectedBy.has('internal')).toBe(false);
    expect(detectedBy.has('none')).toBe(false);
  });

  it('survives truncation of any file at any length', async () => {
    const rng = new Rng(7);
    for (const file of readdirSync(dir, { recursive: true }) as string[]) {
      const path = join(dir, file);
      let original: Buffer;
      try {
        original = readFileSync(path);
      } catch {
        continue; // a folder
      }
      for (let k = 0; k < 5; k++) {
        writeFileSync(path, original.subarray(0, rng.int(original.length)));
        try {
          expect((await readBundle(dir)).ok).toBe(false);
        } finally {
          writeFileSync(path, original);
        }
      }
    }
  });
});
