/**
 * `wsep mcu run`: builds the firmware, runs an export on it (QEMU, or the host test driver), maps a
 * non-zero exit code to its meaning, and compares every task's predictions with the host paged
 * runtime's, which the export recorded.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail, ok, type Result } from '../core/errors.ts';
import { buildFirmware, buildHostDriver, type WeightAccess } from './build.ts';
import { describeExitCode } from './exit-codes.ts';
import { EXPORT_FILE, EXPORT_FORMAT, EXPORT_VERSION, type McuExport } from './export.ts';
import { DEFAULT_RUN_TIMEOUT_MS, runHost, runQemu } from './qemu.ts';
import { parseUart, type UartReport } from './uart.ts';

export type McuTarget = 'qemu' | 'host';

export interface McuTaskResult {
  readonly name: string;
  readonly n: number;
  readonly accuracy: number;
  readonly hostAccuracy: number;
  /** Fraction of samples where the firmware predicts the host runtime's class. */
  readonly agreement: number;
  readonly insnPerInference: number;
  readonly macs: number;
  readonly l2BytesPerSwitch: number;
  readonly wholeModelBytes: number;
}

export interface McuRunResult {
  readonly target: McuTarget;
  readonly access: WeightAccess;
  readonly wallMs: number;
  readonly report: UartReport;
  readonly tasks: readonly McuTaskResult[];
  readonly uart: string;
}

export interface McuRunOptions {
  readonly target?: McuTarget;
  readonly access?: WeightAccess;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export function readMcuExport(dir: string): Result<McuExport> {
  const path = join(dir, EXPORT_FILE);
  let json: McuExport;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as McuExport;
  } catch (thrown) {
    return fail(
      'E_NOT_FOUND',
      `No readable MCU export at ${path}: ${(thrown as Error).message}`,
      'Make one with `wsep mcu export <bundle> --out <dir>`.',
    );
  }
  // Version 1 (before int8 pages) has no valueType: its blobs are f32.
  const version = json.version as number;
  if (json.format !== EXPORT_FORMAT || (version !== 1 && version !== EXPORT_VERSION))
    return fail('E_MCU_BLOB', `${path} is not a version-1 or -${EXPORT_VERSION} ${EXPORT_FORMAT} file.`);
  return ok(version === 1 ? { ...json, version: EXPORT_VERSION, valueType: 'f32' } : json);
}

export async function runMcu(dir: string, options: McuRunOptions = {}): Promise<Result<McuRunResult>> {
  const target = options.target ?? 'qemu';
  const access = options.access ?? 'paged';
  const manifest = readMcuExport(dir);
  if (!manifest.ok) return manifest;
  const binary = target === 'qemu' ? buildFirmware(manifest.value.board, access) : buildHostDriver(access);
  if (!binary.ok) return binary;
  const timeout = options.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
  const raw =
    target === 'qemu'
      ? await runQemu(dir, manifest.value, binary.value, timeout, options.signal)
      : await runHost(dir, manifest.value, binary.value, timeout, options.signal);
  if (!raw.ok) return raw;
  const parsed = parseUart(raw.value.stdout);
  const { exitCode } = raw.value;
  if (exitCode !== 0) {
    const said =
      parsed.ok && parsed.value.error
        ? `: ${parsed.value.error}`
        : raw.value.stderr.trim()
          ? `: ${raw.value.stderr.trim().slice(0, 300)}`
          : '';
    return fail(
      'E_MCU_FIRMWARE',
      `The firmware stopped with exit code ${exitCode} (${describeExitCode(exitCode)})${said}.`,
      undefined,
      { exitCode },
    );
  }
  if (!parsed.ok) return parsed;
  const tasks: McuTaskResult[] = [];
  for (const m of manifest.value.models) {
    const t = parsed.value.tasks.find((x) => x.name === m.name);
    if (!t) return fail('E_MCU_FIRMWARE', `The firmware reported nothing for task "${m.name}".`);
    const same = t.predictions.filter((p, i) => p === m.hostPredictions[i]).length;
    tasks.push({
      name: m.name,
      n: t.n,
      accuracy: t.n ? t.correct / t.n : 0,
      hostAccuracy: m.hostAccuracy,
      agreement: t.n ? same / t.n : 1,
      insnPerInference: t.insnPerInference,
      macs: m.macs,
      l2BytesPerSwitch: t.l2BytesPerSwitch,
      wholeModelBytes: m.wholeModelBytes,
    });
  }
  return ok({
    target,
    access,
    wallMs: raw.value.wallMs,
    report: parsed.value,
    tasks,
    uart: raw.value.stdout,
  });
}
