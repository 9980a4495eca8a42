/**
 * A device profile: the two memories a plan must fit and what the device's runtime itself keeps in
 * level 1 besides the shared pages and the page tables. The planner plans against a profile, the
 * report and `bundle inspect` state both packing ratios from it, and the fleet stores one per device.
 * Memory arithmetic on profiles lives in ./memory.ts; this file says what a profile is, names the
 * built-in ones and reads and writes the profile file (docs/FORMAT.md §9).
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fail, ok, type Result } from '../core/errors.ts';
import { parseBytes } from '../core/units.ts';

/**
 * What the runtime keeps resident in level 1, beyond the shared pages and the page tables:
 * - `none`: nothing (the stored plan alone, as the reference counts it);
 * - `onnxruntime`: the Linux paged runtime (shared/runtime): the gathered weights of the largest
 *   model, the read buffer for the largest set of exclusive pages, and the precomputed gather runs;
 * - `mcu`: the Cortex-M firmware: an activation arena of a fixed size and the exclusive-page buffer.
 */
export type RuntimeResidency =
  | { readonly kind: 'none' }
  | { readonly kind: 'onnxruntime' }
  | { readonly kind: 'mcu'; readonly activationArenaBytes: number };

export interface DeviceProfile {
  /** A short name for messages and stores, e.g. 'stored', 'jetson-nano', 'mps2-an385'. */
  readonly name: string;
  /** Level-1 capacity (RAM, FRAM, GPU RAM) the plan may use, bytes. */
  readonly l1Bytes: number;
  /** Level-2 capacity (flash, eMMC, SSD) the plan may use, bytes. */
  readonly l2Bytes: number;
  /** Bytes per page-table entry: 4 (uint32, the bundle's width) or 2 (uint16, up to 65,535 pages). */
  readonly tableEntryBytes: 2 | 4;
  readonly runtime: RuntimeResidency;
}

/**
 * A device apart from its two sizes. The planner takes its sizes as `budgets` (the accuracy-target
 * search varies them) and the rest of the device as these traits.
 */
export type DeviceTraits = Omit<DeviceProfile, 'l1Bytes' | 'l2Bytes'>;

/** A profile's two sizes. */
export interface DeviceSizes {
  readonly l1Bytes: number;
  readonly l2Bytes: number;
}

/**
 * Default activation arena of the `mcu` profile: 128 KiB, the two f32 ping-pong activation buffers
 * of the largest zoo model (docs/ZOO.md, "activations": urbansound8k, 128.0 KiB per sample). A
 * device with smaller models or int8 activations declares its own in a profile file.
 */
export const DEFAULT_MCU_ARENA_BYTES = 128 * 1024;

/** The stored plan alone, as the reference counts it: uint32 table entries, no runtime. The default. */
export const STORED_DEVICE: DeviceTraits = {
  name: 'stored',
  tableEntryBytes: 4,
  runtime: { kind: 'none' },
};

/** Linux with onnxruntime (shared/runtime): uint32 tables, as `PagedRuntime` holds them. */
export const LINUX_ORT_DEVICE: DeviceTraits = {
  name: 'linux-ort',
  tableEntryBytes: 4,
  runtime: { kind: 'onnxruntime' },
};

/** The Cortex-M firmware: uint16 tables (converted at activation) and the default arena. */
export const MCU_DEVICE: DeviceTraits = {
  name: 'mcu',
  tableEntryBytes: 2,
  runtime: { kind: 'mcu', activationArenaBytes: DEFAULT_MCU_ARENA_BYTES },
};

export const NAMED_DEVICES: readonly DeviceTraits[] = [STORED_DEVICE, LINUX_ORT_DEVICE, MCU_DEVICE];

export function namedDevice(name: string): DeviceTraits | undefined {
  return NAMED_DEVICES.find((d) => d.name === name);
}

export function withSizes(traits: DeviceTraits, sizes: DeviceSizes): DeviceProfile {
  return { ...traits, l1Bytes: sizes.l1Bytes, l2Bytes: sizes.l2Bytes };
}

export function traitsOf(profile: DeviceProfile): DeviceTraits {
  return { name: profile.name, tableEntryBytes: profile.tableEntryBytes, runtime: profile.runtime };
}

// ---- The profile file (docs/FORMAT.md §9) ----

export const DEVICE_PROFILE_FORMAT = 'weightsep-device-profile';
export const DEVICE_PROFILE_VERSION = 1;
/** Profile names become keys in stores and appear in reports: the rule of model names. */
const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MEMBERS = ['format', 'version', 'name', 'l1Bytes', 'l2Bytes', 'tableEntryBytes', 'runtime'];

/** The profile as its file holds it: members in a fixed order, sizes in bytes, one trailing newline. */
export function deviceProfileJson(profile: DeviceProfile): string {
  const runtime =
    profile.runtime.kind === 'mcu'
      ? { kind: 'mcu', activationArenaBytes: profile.runtime.activationArenaBytes }
      : { kind: profile.runtime.kind };
  const file = {
    format: DEVICE_PROFILE_FORMAT,
    version: DEVICE_PROFILE_VERSION,
    name: profile.name,
    l1Bytes: profile.l1Bytes,
    l2Bytes: profile.l2Bytes,
    tableEntryBytes: profile.tableEntryBytes,
    runtime,
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A byte count: a whole number ≥ 0, or a size such as "256KiB" (hand-written files). */
function byteCount(v: unknown, where: string): Result<number> {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v) && v >= 0) return ok(v);
    return fail('E_USAGE', `${where} is ${v}; it must be a whole number of bytes ≥ 0.`);
  }
  if (typeof v === 'string') {
    const parsed = parseBytes(v);
    if (parsed.ok) return parsed;
    return fail('E_USAGE', `${where} is "${v}", which is not a size.`, parsed.error.hint);
  }
  return fail(
    'E_USAGE',
    `${where} is ${v === undefined ? 'missing' : JSON.stringify(v)}; it must be a number of bytes or a size such as "256KiB".`,
  );
}

function parseRuntime(v: unknown, where: string): Result<RuntimeResidency> {
  if (!isObject(v))
    return fail('E_USAGE', `${where}.runtime must be an object such as {"kind": "onnxruntime"}.`);
  const extra = Object.keys(v).filter(
    (k) => k !== 'kind' && !(v['kind'] === 'mcu' && k === 'activationArenaBytes'),
  );
  if (extra.length)
    return fail(
      'E_USAGE',
      `${where}.runtime has the unknown member "${extra[0]}" for kind ${JSON.stringify(v['kind'])}.`,
    );
  switch (v['kind']) {
    case 'none':
      return ok({ kind: 'none' });
    case 'onnxruntime':
      return ok({ kind: 'onnxruntime' });
    case 'mcu': {
      const arena = byteCount(v['activationArenaBytes'], `${where}.runtime.activationArenaBytes`);
      if (!arena.ok) return arena;
      return ok({ kind: 'mcu', activationArenaBytes: arena.value });
    }
    default:
      return fail(
        'E_USAGE',
        `${where}.runtime.kind is ${JSON.stringify(v['kind'])}; it must be "none", "onnxruntime" or "mcu".`,
      );
  }
}

/** Checks untrusted JSON (a parsed profile file) member by member; `source` names it in messages. */
export function parseDeviceProfile(json: unknown, source = 'The device profile'): Result<DeviceProfile> {
  if (!isObject(json)) return fail('E_USAGE', `${source} is not a JSON object.`);
  if (json['format'] !== DEVICE_PROFILE_FORMAT)
    return fail(
      'E_USAGE',
      `${source}.format is ${JSON.stringify(json['format'])}; a device profile has "format": "${DEVICE_PROFILE_FORMAT}".`,
    );
  if (json['version'] !== DEVICE_PROFILE_VERSION)
    return fail(
      'E_USAGE',
      `${source}.version is ${JSON.stringify(json['version'])}; this reader knows version ${DEVICE_PROFILE_VERSION}.`,
    );
  const unknown = Object.keys(json).find((k) => !MEMBERS.includes(k));
  if (unknown !== undefined)
    return fail('E_USAGE', `${source} has the unknown member "${unknown}" (members: ${MEMBERS.join(', ')}).`);
  const name = json['name'];
  if (typeof name !== 'string' || !PROFILE_NAME.test(name))
    return fail(
      'E_USAGE',
      `${source}.name is ${JSON.stringify(name)}; it must be a letter or digit, then up to 63 letters, digits, ".", "_" or "-".`,
    );
  const l1 = byteCount(json['l1Bytes'], `${source}.l1Bytes`);
  if (!l1.ok) return l1;
  const l2 = byteCount(json['l2Bytes'], `${source}.l2Bytes`);
  if (!l2.ok) return l2;
  const entry = json['tableEntryBytes'];
  if (entry !== 2 && entry !== 4)
    return fail(
      'E_USAGE',
      `${source}.tableEntryBytes is ${JSON.stringify(entry)}; it must be 4 (uint32 entries) or 2 (uint16 entries).`,
    );
  const runtime = parseRuntime(json['runtime'], source);
  if (!runtime.ok) return runtime;
  return ok({ name, l1Bytes: l1.value, l2Bytes: l2.value, tableEntryBytes: entry, runtime: runtime.value });
}

/** Reads and checks a profile file. */
export function readDeviceProfile(path: string): Result<DeviceProfile> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (thrown) {
    const code = (thrown as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? fail('E_NOT_FOUND', `No device profile at ${path}.`)
      : fail('E_IO', `Cannot read the device profile ${path}: ${(thrown as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (thrown) {
    return fail('E_USAGE', `The device profile ${path} is not JSON: ${(thrown as Error).message}`);
  }
  return parseDeviceProfile(json, path);
}

/**
 * A `--device` value: a built-in name (stored, linux-ort, mcu), sized by `sizes` or else `fallback`;
 * or a path to a profile file (ending in .json), whose own sizes `sizes` override member by member.
 */
export function resolveDevice(
  spec: string,
  cwd: string,
  sizes: Partial<DeviceSizes>,
  fallback: DeviceSizes,
): Result<DeviceProfile> {
  const named = namedDevice(spec);
  if (named)
    return ok(
      withSizes(named, {
        l1Bytes: sizes.l1Bytes ?? fallback.l1Bytes,
        l2Bytes: sizes.l2Bytes ?? fallback.l2Bytes,
      }),
    );
  if (!spec.toLowerCase().endsWith('.json'))
    return fail(
      'E_USAGE',
      `Device "${spec}" is neither a built-in profile nor a profile file.`,
      `Use --device ${NAMED_DEVICES.map((d) => d.name).join(', --device ')}, or --device <file.json> (docs/FORMAT.md §9).`,
    );
  const file = readDeviceProfile(isAbsolute(spec) ? spec : resolve(cwd, spec));
  if (!file.ok) return file;
  return ok(
    withSizes(traitsOf(file.value), {
      l1Bytes: sizes.l1Bytes ?? file.value.l1Bytes,
      l2Bytes: sizes.l2Bytes ?? file.value.l2Bytes,
    }),
  );
}

/** "linux-ort (onnxruntime)", "mcu (mcu, 128.0 KiB arena)", for messages and reports. */
export function describeRuntime(runtime: RuntimeResidency): string {
  switch (runtime.kind) {
    case 'none':
      return 'no runtime counted';
    case 'onnxruntime':
      return 'onnxruntime: weight buffer, exclusive-page buffer, gather runs';
    case 'mcu':
      return `mcu: ${runtime.activationArenaBytes} B activation arena, exclusive-page buffer`;
  }
}
