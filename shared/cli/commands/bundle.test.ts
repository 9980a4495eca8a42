/** `wsep bundle …` (shared/cli/commands/bundle.ts), driven through its Command interface. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommandInProcess } from '../testing.ts';
import { bundleCommand } from './bundle.ts';
import { tinyPlan } from '../../image/testing.ts';
import { writeBundle } from '../../image/write.ts';

let root: string;

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await runCommandInProcess(bundleCommand, argv, root);
  return { code: r.code, out: r.out, err: r.error ?? '' };
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'wsep-cli-bundle-'));
  const plan = tinyPlan(3);
  await writeBundle(plan, join(root, 'a'));
  const shared = plan.sharedPages.slice();
  shared[0] = 9;
  await writeBundle({ ...plan, sharedPages: shared }, join(root, 'b'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('wsep bundle', () => {
  it('inspects a bundle as text and JSON', async () => {
    const text = await run(['inspect', 'a']);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/stored packing \d+\.\d\dx .*, device packing \d+\.\d\dx on stored/);
    expect(text.out).toMatch(/alpha/);
    const json = JSON.parse((await run(['inspect', 'a', '--json'])).out);
    expect(json.models.map((m: { name: string }) => m.name)).toEqual(['alpha', 'beta', 'gamma']);
  });

  it('verifies: exit 0 when valid, 1 with the problems listed when not', async () => {
    expect((await run(['verify', 'a'])).out).toMatch(/valid \(plan [0-9a-f]{64}\)/);
    const path = join(root, 'b', 'shared.bin');
    const original = readFileSync(path);
    writeFileSync(path, original.subarray(0, 10));
    try {
      const bad = await run(['verify', 'b']);
      expect(bad.code).toBe(1);
      expect(bad.out).toMatch(/shared\.bin: shared\.bytes: the file has 10 bytes/);
      expect(JSON.parse((await run(['verify', 'b', '--json'])).out).problems.length).toBeGreaterThan(0);
    } finally {
      writeFileSync(path, original);
    }
  });

  it('diffs two bundles, writes the delta and applies it', async () => {
    const diff = await run(['diff', 'a', 'b', '--out', 'delta']);
    expect(diff.code).toBe(0);
    expect(diff.out).toMatch(/shared pool: 1 of \d+ pages differ/);
    expect(diff.out).toMatch(/to send: 1 pages \+ 0 graphs \+ manifest/);
    const applied = await run(['apply', 'a', 'delta', '--out', 'c']);
    expect(applied.code).toBe(0);
    expect(
      readFileSync(join(root, 'c', 'manifest.json')).equals(readFileSync(join(root, 'b', 'manifest.json'))),
    ).toBe(true);
  });

  it('reports usage errors and missing bundles clearly', async () => {
    expect((await run(['frobnicate', 'a'])).err).toMatch(/Unknown bundle sub-command "frobnicate"/);
    expect((await run(['diff', 'a'])).err).toMatch(/takes 2 folders, got 1/);
    const missing = await run(['inspect', 'nowhere']);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/No bundle at/);
  });
});
