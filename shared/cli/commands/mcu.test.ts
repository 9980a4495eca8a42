import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTempDir } from '../../core/testing-temp.ts';
import { taskBundle } from '../../runtime/testing.ts';
import { runCommandInProcess } from '../testing.ts';
import { mcuCommand } from './mcu.ts';

const dir = useTempDir('cli-mcu-');

describe('wsep mcu', () => {
  it('exports a plan, runs it on the host driver and reports each task', async () => {
    await taskBundle(join(dir, 'bundle'));
    const exported = await runCommandInProcess(
      mcuCommand,
      ['export', 'bundle', '--out', 'x', '--samples', '16'],
      dir,
    );
    expect(exported.error).toBeUndefined();
    expect(exported.out).toMatch(/FRAM .* of 512\.0 KiB/);
    expect(exported.out).toMatch(/digits8x8 +16 samples/);
    const run = await runCommandInProcess(mcuCommand, ['run', 'x', '--target', 'host', '--json'], dir);
    expect(run.error).toBeUndefined();
    const json = JSON.parse(run.out) as { tasks: { name: string; n: number; agreement: number }[] };
    expect(json.tasks.map((t) => [t.name, t.n, t.agreement])).toEqual([
      ['digits8x8', 16, 1],
      ['wall_following', 16, 1],
    ]);
  }, 60_000);

  it('says which region is short and by how many bytes', async () => {
    const profile = JSON.parse(readFileSync('resources/firmware/profiles/mps2-an385.json', 'utf8')) as Record<
      string,
      unknown
    >;
    writeFileSync(join(dir, 'tiny.json'), JSON.stringify({ ...profile, name: 'tiny', l1Bytes: 4096 }));
    await taskBundle(join(dir, 'bundle2'));
    const run = await runCommandInProcess(
      mcuCommand,
      ['export', 'bundle2', '--profile', 'tiny.json', '--out', 'y'],
      dir,
    );
    expect(run.code).not.toBe(0);
    expect(run.error).toMatch(/^Region fram is short by \d+ bytes: the plan needs \d+ \(f32 shared pages/);
  }, 60_000);

  it('refuses an unknown sub-command', async () => {
    const run = await runCommandInProcess(mcuCommand, ['flash', 'x'], dir);
    expect(run.error).toMatch(/Unknown mcu sub-command "flash"/);
  });
});
