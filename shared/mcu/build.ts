/**
 * Builds the firmware for a board with arm-none-eabi-gcc, and the host test driver (the same engine and
 * kernels) with the host's gcc, into dist/mcu/ (git-ignored). Each build goes into a folder named by the
 * hash of its sources and flags, written under a temporary name and renamed, so a finished build is
 * never rebuilt and two test files building at once cannot see half a binary.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail, ok, type Result } from '../core/errors.ts';
import { FIRMWARE_DIR, type Board } from './board.ts';

export const BUILD_DIR = fileURLToPath(new URL('../../dist/mcu/', import.meta.url));
export const SETUP_HINT =
  'Install the toolchain with `npm run setup:system` (gcc-arm-none-eabi, qemu-system-arm, gcc).';

/** Both builds do f32 arithmetic one rounded operation at a time (no fused multiply-add). */
const COMMON_FLAGS = ['-std=c99', '-O2', '-Wall', '-Wextra', '-Werror', '-ffp-contract=off'];

export type WeightAccess = 'paged' | 'contiguous';

function sources(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.c'))
    .sort()
    .map((f) => join(dir, f));
}

/** Checks that a tool runs; E_MCU_TOOLCHAIN with the install hint when it does not. */
export function checkTool(tool: string): Result<string> {
  try {
    const out = execFileSync(tool, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return ok(out.split('\n')[0] ?? tool);
  } catch {
    return fail('E_MCU_TOOLCHAIN', `${tool} is not installed (or does not run).`, SETUP_HINT);
  }
}

function buildOnce(
  compiler: string,
  args: readonly string[],
  files: readonly string[],
  output: string,
): Result<string> {
  const tool = checkTool(compiler);
  if (!tool.ok) return tool;
  const hash = createHash('sha256').update(compiler).update(args.join('\0'));
  for (const f of files) hash.update(f).update(readFileSync(f));
  const dir = join(BUILD_DIR, hash.digest('hex').slice(0, 16));
  const target = join(dir, output);
  if (existsSync(target)) return ok(target);
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(tmp, { recursive: true });
  try {
    execFileSync(
      compiler,
      [
        ...args,
        '-o',
        join(tmp, output),
        ...files.filter((f) => f.endsWith('.c')),
        ...(compiler.startsWith('arm-') ? ['-lgcc'] : []),
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
  } catch (thrown) {
    rmSync(tmp, { recursive: true, force: true });
    const stderr = String((thrown as { stderr?: Buffer }).stderr ?? '');
    return fail('E_MCU_TOOLCHAIN', `${compiler} failed to build ${output}: ${stderr.trim().slice(0, 2000)}`);
  }
  try {
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another process finished the same build first
  }
  return ok(target);
}

/** The firmware ELF for `board`; `contiguous` builds read each model's gathered weights, no page table. */
export function buildFirmware(board: Board, access: WeightAccess = 'paged'): Result<string> {
  const boardDir = join(FIRMWARE_DIR, 'boards', board.board);
  const defines = [
    `-DWSEP_FRAM_BASE=${board.fram.base}u`,
    `-DWSEP_FRAM_WINDOW=${board.fram.window}u`,
    `-DWSEP_L2_BASE=${board.l2.base}u`,
    `-DWSEP_L2_WINDOW=${board.l2.window}u`,
    `-DWSEP_SYSCLK_HZ=${board.sysclkHz}u`,
    ...(access === 'contiguous' ? ['-DWSEP_CONTIGUOUS'] : []),
  ];
  const linker = readdirSync(boardDir).find((f) => f.endsWith('.ld'));
  if (!linker) return fail('E_NOT_FOUND', `Board ${board.board} has no linker script in ${boardDir}.`);
  const args = [
    ...COMMON_FLAGS,
    `-mcpu=${board.cpu}`,
    '-mthumb',
    '-ffreestanding',
    '-nostdlib',
    ...defines,
    '-T',
    join(boardDir, linker),
  ];
  const files = [
    ...sources(boardDir),
    ...sources(join(FIRMWARE_DIR, 'src')),
    ...readdirSync(join(FIRMWARE_DIR, 'src'))
      .filter((f) => f.endsWith('.h'))
      .map((f) => join(FIRMWARE_DIR, 'src', f)),
    join(boardDir, linker),
  ];
  return buildOnce('arm-none-eabi-gcc', args, files, `firmware-${board.board}-${access}.elf`);
}

/** The host test driver: `wsep-host fram.bin storage.bin`. */
export function buildHostDriver(access: WeightAccess = 'paged'): Result<string> {
  const src = join(FIRMWARE_DIR, 'src');
  const files = [
    ...sources(join(FIRMWARE_DIR, 'host')),
    ...sources(src),
    ...readdirSync(src)
      .filter((f) => f.endsWith('.h'))
      .map((f) => join(src, f)),
  ];
  return buildOnce(
    'gcc',
    [...COMMON_FLAGS, ...(access === 'contiguous' ? ['-DWSEP_CONTIGUOUS'] : [])],
    files,
    `wsep-host-${access}`,
  );
}
