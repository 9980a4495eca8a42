/**
 * A board the firmware is built for (resources/firmware/boards/<name>/board.json): the QEMU machine and
 * CPU, the SysTick clock that turns ticks into instructions, and the two windows that stand for the
 * device's memories (FRAM, level 1; flash storage, level 2). The build passes the addresses to the C
 * code as -D flags and the runner places the blobs there, so this file is their one source.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail, ok, type Result } from '../core/errors.ts';
import { readDeviceProfile, type DeviceProfile } from '../image/device-profile.ts';

export const FIRMWARE_DIR = fileURLToPath(new URL('../../resources/firmware/', import.meta.url));
export const DEFAULT_BOARD = 'mps2-an385';

export interface Region {
  readonly base: number;
  /** Bytes the board maps at `base` for this region (a profile's size must not exceed it). */
  readonly window: number;
}

export interface Board {
  readonly board: string;
  readonly machine: string;
  readonly cpu: string;
  readonly sysclkHz: number;
  readonly fram: Region;
  readonly l2: Region;
}

function region(v: unknown): Region | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const { base, window } = v as Record<string, unknown>;
  return Number.isSafeInteger(base) && Number.isSafeInteger(window)
    ? { base: base as number, window: window as number }
    : undefined;
}

export function readBoard(name: string = DEFAULT_BOARD): Result<Board> {
  const board = readBoardFile(boardFile(name));
  return board.ok || board.error.code !== 'E_NOT_FOUND'
    ? board
    : fail('E_NOT_FOUND', `No readable board "${name}": ${board.error.message}`);
}

/** The path of a board's board.json, for copying it (an MCU gateway receives it at provisioning). */
export function boardFile(name: string = DEFAULT_BOARD): string {
  return join(FIRMWARE_DIR, 'boards', name, 'board.json');
}

/** A board.json at `path` (on an MCU gateway: the copy provisioning uploaded). */
export function readBoardFile(path: string): Result<Board> {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (thrown) {
    return fail('E_NOT_FOUND', `No readable board file ${path}: ${(thrown as Error).message}`);
  }
  const fram = region(json['fram']);
  const l2 = region(json['l2']);
  const { board, machine, cpu, sysclkHz } = json;
  if (
    typeof board !== 'string' ||
    typeof machine !== 'string' ||
    typeof cpu !== 'string' ||
    !fram ||
    !l2 ||
    !Number.isSafeInteger(sysclkHz)
  )
    return fail(
      'E_USAGE',
      `${path} lacks board, machine, cpu, sysclkHz, fram {base, window} or l2 {base, window}.`,
    );
  return ok({ board, machine, cpu, sysclkHz: sysclkHz as number, fram, l2 });
}

/** The file a `--profile` value names (a path ending in .json, else a name in resources/firmware/profiles). */
export function mcuProfilePath(spec: string, cwd: string): string {
  return spec.endsWith('.json')
    ? spec.startsWith('/')
      ? spec
      : join(cwd, spec)
    : join(FIRMWARE_DIR, 'profiles', `${spec}.json`);
}

/**
 * A `--profile` value: a profile file (docs/FORMAT.md §9), or the name of one in
 * resources/firmware/profiles (default `mps2-an385`: 512 KiB FRAM, 8 MiB storage). It must be an `mcu`
 * profile with uint16 page-table entries, the firmware's.
 */
export function resolveMcuProfile(spec: string, cwd: string): Result<DeviceProfile> {
  const path = mcuProfilePath(spec, cwd);
  const profile = readDeviceProfile(path);
  if (!profile.ok) return profile;
  if (profile.value.runtime.kind !== 'mcu' || profile.value.tableEntryBytes !== 2)
    return fail(
      'E_USAGE',
      `The profile ${path} is not an MCU profile: the firmware needs "runtime": {"kind": "mcu"} and "tableEntryBytes": 2.`,
    );
  return profile;
}
