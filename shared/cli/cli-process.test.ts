/**
 * `wsep` as a real child process (node bin/wsep.js), as a script or the app runs it: progress on a
 * piped stderr, JSON events, and Ctrl-C (SIGINT) ending with exit code 130 and nothing left behind.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hiddenEntries, testTempDir } from '../core/testing-temp.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'wsep.js');

interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts `wsep args…`; `interruptWhen` sends SIGINT once the stderr seen so far satisfies it. */
function wsep(args: readonly string[], interruptWhen?: (stderr: string) => boolean): Promise<Finished> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let interrupted = false;
  child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr.setEncoding('utf8').on('data', (t: string) => {
    stderr += t;
    if (interruptWhen && !interrupted && interruptWhen(stderr)) {
      interrupted = true;
      child.kill('SIGINT');
    }
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const lines = (text: string) => text.split('\n').filter((l) => l.length > 0);

describe('wsep as a child process', () => {
  it('shows progress as plain lines when stderr is a pipe', async () => {
    const dir = testTempDir('wsep-proc-');
    const r = await wsep([
      'train',
      '--task',
      'digits8x8',
      '--steps',
      '200',
      '--eval-every',
      '50',
      '--out',
      join(dir, 'd.onnx'),
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Saved');
    const progress = lines(r.stderr).filter((l) => l.startsWith('[train]  digits8x8  '));
    // A line per 5% of the job (21 at most), not one per event, and nothing drawn for a terminal.
    expect(progress.length).toBeGreaterThanOrEqual(5);
    expect(progress.length).toBeLessThanOrEqual(21);
    expect(progress.at(-1)).toContain('100%');
    expect(r.stderr).not.toContain('\r');
    expect(r.stderr).not.toContain('\u001b');
  });

  it('train: Ctrl-C after the first JSON progress event exits 130 with an error event, saving nothing', async () => {
    const dir = testTempDir('wsep-proc-');
    const out = join(dir, 'd.onnx');
    const r = await wsep(
      ['train', '--task', 'digits8x8', '--steps', '100000', '--out', out, '--progress', 'json'],
      (stderr) => stderr.includes('"type":"progress"'),
    );
    expect(r.code).toBe(130);
    const events = lines(r.stderr).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.some((e) => e['type'] === 'progress' && e['stage'] === 'train')).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'error', exitCode: 130, code: 'E_CANCELLED' });
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('plan: Ctrl-C while planning exits 130 with one "cancelled" line, no stack trace, no partial bundle', async () => {
    const dir = testTempDir('wsep-proc-');
    const parent = join(dir, 'plans');
    const out = join(parent, 'b');
    const r = await wsep(
      ['plan', '--only', 'digits8x8,wall_following', '--steps', '100000', '--out', out],
      (stderr) => /^\[(baseline|fisher)\]/m.test(stderr),
    );
    expect(r.code).toBe(130);
    const err = lines(r.stderr);
    expect(err.at(-1)).toBe('wsep plan: cancelled.');
    expect(err.filter((l) => l.includes('cancelled'))).toHaveLength(1);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(existsSync(out)).toBe(false);
    // Neither the bundle nor a temporary sibling of it (the parent may not even have been made).
    if (existsSync(parent)) expect(readdirSync(parent)).toEqual([]);
    expect(hiddenEntries(dir)).toEqual([]);
  });
});
