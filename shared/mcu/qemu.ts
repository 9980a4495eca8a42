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

/**
 * The command line that runs the firmware on QEMU, as a template: one line, split into words at spaces
 * (no shell is involved, so nothing in a path is ever interpreted), then each `{name}` in a word
 * replaced by its value (MCU_COMMAND_VARIABLES). An MCU gateway keeps such a line in its agent.json,
 * so a real board's flashing tool (say, `probe-rs run` or `openocd` with the same blobs) can take
 * QEMU's place.
 */
export const QEMU_COMMAND_TEMPLATE =
  'qemu-system-arm -M {machine} -display none -monitor none -serial stdio ' +
  '-semihosting-config enable=on,target=native -icount shift=0 -kernel {elf} ' +
  '-device loader,file={fram},addr={framAddr} -device loader,file={storage},addr={storageAddr}';

/** The values a command template may name. */
export const MCU_COMMAND_VARIABLES = {
  elf: 'the firmware image (ELF)',
  fram: 'the FRAM image file (fram.bin)',
  storage: 'the storage image file (storage.bin)',
  framAddr: 'where the FRAM image goes, hex (0x21000000 on mps2-an385)',
  storageAddr: 'where the storage image goes, hex',
  exportDir: 'the folder holding both images and mcu.json',
  machine: "the board's QEMU machine (board.json)",
  cpu: "the board's CPU (board.json)",
  board: "the board's name",
} as const;

export type McuCommandVariable = keyof typeof MCU_COMMAND_VARIABLES;

export function commandVariables(
  exportDir: string,
  manifest: McuExport,
  elf: string,
): Record<McuCommandVariable, string> {
  const hex = (n: number): string => `0x${n.toString(16)}`;
  return {
    elf,
    fram: join(exportDir, manifest.files.fram.file),
    storage: join(exportDir, manifest.files.storage.file),
    framAddr: hex(manifest.files.fram.address),
    storageAddr: hex(manifest.files.storage.address),
    exportDir,
    machine: manifest.board.machine,
    cpu: manifest.board.cpu,
    board: manifest.board.board,
  };
}

/** A template's words with its variables filled in; an unknown `{name}` or an empty line is E_USAGE. */
export function expandCommand(
  template: string,
  values: Readonly<Record<McuCommandVariable, string>>,
): Result<string[]> {
  const words = template
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
  if (words.length === 0) return fail('E_USAGE', 'The MCU command line is empty.');
  const out: string[] = [];
  for (const word of words) {
    let unknown: string | undefined;
    out.push(
      word.replace(/\{([A-Za-z]+)\}/g, (whole, name: string) => {
        if (name in values) return values[name as McuCommandVariable];
        unknown ??= whole;
        return whole;
      }),
    );
    if (unknown !== undefined)
      return fail(
        'E_USAGE',
        `The MCU command line names ${unknown}, which is not one of ${Object.keys(MCU_COMMAND_VARIABLES)
          .map((v) => `{${v}}`)
          .join(', ')}.`,
      );
  }
  return ok(out);
}

export function qemuArgs(exportDir: string, manifest: McuExport, elf: string): string[] {
  const words = expandCommand(QEMU_COMMAND_TEMPLATE, commandVariables(exportDir, manifest, elf));
  if (!words.ok) throw new Error(words.error.message); // the template above names known variables only
  return words.value.slice(1);
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
