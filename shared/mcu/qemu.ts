/**
 * Runs a firmware build: under QEMU for the board (the blobs placed with `-device loader` at the
 * addresses of the export, instructions counted with `-icount shift=0`), or the host test driver on the
 * same blobs. Output is collected from the UART (stdout); a run that outlives its timeout is killed by
 * its pid. The exit code is the firmware's.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fail, ok, type Result } from '../core/errors.ts';
import { SETUP_HINT } from './build.ts';
import type { McuExport } from './export.ts';

export const DEFAULT_RUN_TIMEOUT_MS = 10 * 60_000;

export interface RawRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly wallMs: number;
}

export function qemuArgs(exportDir: string, manifest: McuExport, elf: string): string[] {
  const hex = (n: number): string => `0x${n.toString(16)}`;
  return [
    '-M',
    manifest.board.machine,
    '-display',
    'none',
    '-monitor',
    'none',
    '-serial',
    'stdio',
    '-semihosting-config',
    'enable=on,target=native',
    '-icount',
    'shift=0',
    '-kernel',
    elf,
    '-device',
    `loader,file=${join(exportDir, manifest.files.fram.file)},addr=${hex(manifest.files.fram.address)}`,
    '-device',
    `loader,file=${join(exportDir, manifest.files.storage.file)},addr=${hex(manifest.files.storage.address)}`,
  ];
}

/** Runs `command args`, collecting its output; kills it by pid after `timeoutMs`. */
export function runProcess(
  command: string,
  args: readonly string[],
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Result<RawRun>> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let why: 'timeout' | 'cancelled' | undefined;
    const stop = (reason: 'timeout' | 'cancelled'): void => {
      why = reason;
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    };
    const timer = setTimeout(() => stop('timeout'), timeoutMs);
    const onAbort = (): void => stop('cancelled');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(
        e.code === 'ENOENT'
          ? fail('E_MCU_TOOLCHAIN', `${command} is not installed.`, SETUP_HINT)
          : fail('E_MCU_FIRMWARE', `Cannot start ${command}: ${e.message}`),
      );
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (why === 'cancelled') return resolve(fail('E_CANCELLED', 'The MCU run was cancelled.'));
      if (why === 'timeout')
        return resolve(
          fail(
            'E_MCU_TIMEOUT',
            `${command} ran past ${Math.round(timeoutMs / 1000)} s and was stopped; its last output: ${stdout.trim().split('\n').slice(-2).join(' | ').slice(0, 300)}`,
            'Export fewer --samples per task, or raise --timeout.',
          ),
        );
      resolve(ok({ exitCode: code ?? 1, stdout, stderr, wallMs: Date.now() - started }));
    });
  });
}

export function runQemu(
  exportDir: string,
  manifest: McuExport,
  elf: string,
  timeoutMs = DEFAULT_RUN_TIMEOUT_MS,
  signal?: AbortSignal,
): Promise<Result<RawRun>> {
  return runProcess('qemu-system-arm', qemuArgs(exportDir, manifest, elf), timeoutMs, signal);
}

export function runHost(
  exportDir: string,
  manifest: McuExport,
  binary: string,
  timeoutMs = DEFAULT_RUN_TIMEOUT_MS,
  signal?: AbortSignal,
): Promise<Result<RawRun>> {
  return runProcess(
    binary,
    [join(exportDir, manifest.files.fram.file), join(exportDir, manifest.files.storage.file)],
    timeoutMs,
    signal,
  );
}
