/**
 * The agent as an MCU gateway (`kind: "mcu-gateway"` in agent.json): a Linux host wired to a
 * microcontroller — QEMU here. A plan is turned into the firmware's blobs on the gateway itself
 * (shared/mcu gateway-export: from the staged bundle and its health slices, no task data), the
 * microcontroller is started with the one command line agent.json holds, and its UART report is the
 * health check and the telemetry: per task, accuracy on a prefix of its slice against what the app's
 * host runtime got on the same samples, agreement with the host sample by sample, instructions per
 * inference, level-2 bytes per switch and the memory map.
 *
 * Each installed plan has its export in `mcu/exports/<planId>/` (kept beside current and previous only).
 * The MCU process is the child of the agent and is killed by its pid on a timeout or a stop.
 */
import {
  accessSync,
  constants,
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { fail, ok, type Result } from '../../../shared/core/errors.ts';
import {
  AGENT_VERSION,
  type AgentInfo,
  type HealthModelResult,
  type HealthResult,
  type McuGatewayConfig,
} from '../../../shared/fleet/protocol.ts';
import type { DeviceProfile } from '../../../shared/image/device-profile.ts';
import { readBoardFile, resolveMcuProfile, type Board } from '../../../shared/mcu/board.ts';
import { describeExitCode } from '../../../shared/mcu/exit-codes.ts';
import { exportOnGateway } from '../../../shared/mcu/gateway-export.ts';
import { commandVariables, expandCommand, runProcess } from '../../../shared/mcu/qemu.ts';
import { readMcuExport } from '../../../shared/mcu/run.ts';
import { parseUart } from '../../../shared/mcu/uart.ts';
import { readHealthManifest } from '../../../shared/runtime/health-slice.ts';
import { GATEWAY_FILES } from './gateway-config.ts';
import type { AgentRoot } from './layout.ts';
import type { NewTelemetry } from './telemetry-log.ts';
import { TelemetryWriter, type TelemetryLogOptions } from './telemetry-log.ts';

const EPSILON_POINTS = 1e-9;
/** Beside mcu.json in an export: how many samples of each slice it holds (GatewayExport.samples). */
const SAMPLES_FILE = 'gateway.json';

export interface Gateway {
  readonly config: McuGatewayConfig;
  readonly board: Board;
  readonly profile: DeviceProfile;
  readonly firmware: string;
}

const PROVISION_HINT = 'Provision the gateway again (wsep devices provision), which uploads them.';

/** The gateway's board, profile and firmware as provisioning left them under the root. */
export function openGateway(root: AgentRoot, config: McuGatewayConfig): Result<Gateway> {
  const at = (rel: string): string => (isAbsolute(rel) ? rel : root.path(rel));
  const board = readBoardFile(at(config.board));
  if (!board.ok)
    return fail('E_DEVICE', `This MCU gateway has no board: ${board.error.message}`, PROVISION_HINT);
  const profile = resolveMcuProfile(at(config.profile), root.root);
  if (!profile.ok)
    return fail(
      'E_DEVICE',
      `This MCU gateway has no device profile: ${profile.error.message}`,
      PROVISION_HINT,
    );
  const firmware = at(config.firmware);
  if (!existsSync(firmware))
    return fail('E_DEVICE', `This MCU gateway has no firmware image at ${firmware}.`, PROVISION_HINT);
  return ok({ config, board: board.value, profile: profile.value, firmware });
}

/** Whether a command's program can be run: an absolute or relative path, or a name found on PATH. */
function programFound(program: string): boolean {
  const candidates = program.includes('/')
    ? [program]
    : (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, program));
  return candidates.some((path) => {
    try {
      accessSync(path, constants.X_OK);
      return statSync(path).isFile();
    } catch {
      return false;
    }
  });
}

export function exportDir(root: AgentRoot, planId: string): string {
  return root.path(...GATEWAY_FILES.exports.split('/'), planId);
}

/** `info` on a gateway: level 1 is the profile's FRAM, level 2 its flash; free = budget − the active plan's use. */
export function gatewayInfo(root: AgentRoot, config: McuGatewayConfig): Result<AgentInfo> {
  const gw = openGateway(root, config);
  if (!gw.ok) return gw;
  const { board, profile } = gw.value;
  const active = root.linked('current');
  const used = active ? readMcuExport(exportDir(root, active)) : undefined;
  const framUsed = used?.ok ? used.value.memory.fram.usedBytes : 0;
  const l2Used = used?.ok ? used.value.memory.l2.totalBytes : 0;
  return ok({
    agentVersion: AGENT_VERSION,
    kind: 'mcu-gateway',
    arch: process.arch,
    platform: process.platform,
    nodeVersion: process.version,
    onnxruntime: null,
    root: root.root,
    level1Bytes: profile.l1Bytes,
    level1FreeBytes: Math.max(0, profile.l1Bytes - framUsed),
    level2Bytes: profile.l2Bytes,
    level2FreeBytes: Math.max(0, profile.l2Bytes - l2Used),
    activePlan: active,
    previousPlan: root.linked('previous'),
    mcu: {
      board: board.board,
      machine: board.machine,
      cpu: board.cpu,
      profile: profile.name,
      framBytes: profile.l1Bytes,
      flashBytes: profile.l2Bytes,
      command: config.command,
      commandFound: programFound(config.command.trim().split(/\s+/)[0] ?? ''),
      firmwareBytes: statSync(gw.value.firmware).size,
      healthSamples: config.healthSamples,
    },
  });
}

/**
 * Writes the plan's blobs into its export folder (replacing an older export), from the plan folder
 * `planDir` (staged or installed). A plan that does not fit the profile fails here ("Region fram is
 * short by N bytes"), before anything is switched.
 */
export async function exportForGateway(
  root: AgentRoot,
  gw: Gateway,
  planId: string,
  planDir: string,
): Promise<Result<void>> {
  const final = exportDir(root, planId);
  const temp = `${final}.tmp-${process.pid}`;
  rmSync(temp, { recursive: true, force: true });
  try {
    const made = await exportOnGateway(planDir, root.healthDir(planDir), temp, {
      board: gw.board,
      profile: gw.profile,
      samples: gw.config.healthSamples,
    });
    if (!made.ok)
      return {
        ok: false,
        error: {
          ...made.error,
          message: `Plan ${planId.slice(0, 12)}… cannot run on this MCU (profile ${gw.profile.name}): ${made.error.message}`,
        },
      };
    const samples = Object.fromEntries(made.value.samples);
    writeFileSync(
      join(temp, SAMPLES_FILE),
      `${JSON.stringify({ samples, hostPredictions: made.value.hostPredictions })}\n`,
    );
    rmSync(final, { recursive: true, force: true });
    renameSync(temp, final);
    return ok(undefined);
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

/** Removes the exports of plans that are neither current nor previous. */
export function pruneExports(root: AgentRoot): void {
  const dir = root.path(...GATEWAY_FILES.exports.split('/'));
  const keep = new Set([root.linked('current'), root.linked('previous')]);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) if (!keep.has(name)) rmSync(join(dir, name), { recursive: true, force: true });
}

export interface GatewayRun {
  readonly health: HealthResult;
  /** The run as telemetry records (per task, then the device's), not yet numbered. */
  readonly records: readonly NewTelemetry[];
}

/**
 * Runs the MCU on plan `planId`'s export (made again from the installed plan when missing) and checks
 * each task: accuracy within `tolerancePoints` of the host's on the same samples, and — when the app
 * sent its host predictions — the host's class on every sample (the firmware computes f32 pages one
 * rounded operation at a time, as the host build does).
 */
export async function runOnGateway(
  root: AgentRoot,
  gw: Gateway,
  planId: string,
  options: { tolerancePoints?: number; window?: number; signal?: AbortSignal } = {},
): Promise<Result<GatewayRun>> {
  const dir = exportDir(root, planId);
  if (!existsSync(join(dir, SAMPLES_FILE))) {
    const made = await exportForGateway(root, gw, planId, root.planDir(planId));
    if (!made.ok) return made;
  }
  const manifest = readMcuExport(dir);
  if (!manifest.ok) return manifest;
  const sizes = JSON.parse(readFileSync(join(dir, SAMPLES_FILE), 'utf8')) as {
    samples: Record<string, { run: number; slice: number }>;
  };
  const health = readHealthManifest(root.healthDir(root.planDir(planId)));
  if (!health.ok) return health;
  const tolerancePoints = options.tolerancePoints ?? health.value.tolerancePoints;
  const words = expandCommand(gw.config.command, commandVariables(dir, manifest.value, gw.firmware));
  if (!words.ok) return words;
  const [program, ...args] = words.value;
  const raw = await runProcess(program!, args, gw.config.timeoutMs, options.signal);
  if (!raw.ok) return raw;
  const report = parseUart(raw.value.stdout);
  if (raw.value.exitCode !== 0) {
    const said = report.ok && report.value.error ? `: ${report.value.error}` : '';
    return fail(
      'E_MCU_FIRMWARE',
      `The MCU stopped with exit code ${raw.value.exitCode} (${describeExitCode(raw.value.exitCode)})${said}.`,
      raw.value.stderr.trim() ? `Its command said: ${raw.value.stderr.trim().slice(0, 300)}` : undefined,
      { exitCode: raw.value.exitCode },
    );
  }
  if (!report.ok) return report;
  const { board, memory, done } = report.value;
  const models: HealthModelResult[] = [];
  const records: NewTelemetry[] = [];
  const time = new Date().toISOString();
  const window = options.window ?? 0;
  const required = requiredAgreement(manifest.value.valueType);
  for (const m of manifest.value.models) {
    const t = report.value.tasks.find((x) => x.name === m.name);
    if (!t) return fail('E_MCU_FIRMWARE', `The MCU reported nothing for task "${m.name}".`);
    const measured = t.n ? t.correct / t.n : 0;
    const agreement =
      m.hostPredictions.length === t.n && t.n > 0
        ? t.predictions.filter((c, i) => c === m.hostPredictions[i]).length / t.n
        : null;
    const dropPoints = (m.hostAccuracy - measured) * 100;
    models.push({
      model: m.name,
      samples: t.n,
      expected: m.hostAccuracy,
      measured,
      dropPoints,
      passed: dropPoints <= tolerancePoints + EPSILON_POINTS && (agreement === null || agreement >= required),
      sliceSamples: sizes.samples[m.name]?.slice ?? t.n,
      ...(agreement !== null ? { agreement } : {}),
      insnPerInference: t.insnPerInference,
      l2BytesPerSwitch: t.l2BytesPerSwitch,
    });
    records.push({
      time,
      kind: 'task',
      planId,
      model: m.name,
      window,
      samples: t.n,
      accuracy: measured,
      switchMs: (t.l2BytesPerSwitch / gw.config.storageBytesPerSecond) * 1000,
      inferMs: (t.insnPerInference / manifest.value.board.sysclkHz) * 1000,
      mcu: {
        insnPerInference: t.insnPerInference,
        l2BytesPerSwitch: t.l2BytesPerSwitch,
        macs: m.macs,
        agreement,
        storageBytesPerSecond: gw.config.storageBytesPerSecond,
        sysclkHz: manifest.value.board.sysclkHz,
      },
    });
  }
  const framUsed = memory.fram['used'] ?? 0;
  const l2Used = memory.l2['used'] ?? 0;
  const figures = {
    board,
    framUsedBytes: framUsed,
    framBudgetBytes: memory.fram['budget'] ?? gw.profile.l1Bytes,
    l2UsedBytes: l2Used,
    l2BudgetBytes: memory.l2['budget'] ?? gw.profile.l2Bytes,
  };
  records.push({
    time,
    kind: 'device',
    planId,
    level1ResidentBytes: framUsed,
    level2BytesRead: done?.['l2_bytes_total'] ?? 0,
    rssBytes: process.memoryUsage().rss,
    errors: 0,
    mcu: figures,
  });
  const prefixOnly = models.filter((m) => m.samples < (m.sliceSamples ?? m.samples));
  const note =
    prefixOnly.length > 0
      ? `ran the first ${Math.max(...prefixOnly.map((m) => m.samples))} samples of each health slice (of ${Math.max(...prefixOnly.map((m) => m.sliceSamples!))}): soft-float f32 under QEMU is slow; set mcu.healthSamples in agent.json (0: whole slices)`
      : 'ran every sample of each health slice';
  return ok({
    health: {
      planId,
      tolerancePoints,
      models,
      passed: models.every((m) => m.passed),
      mcu: { ...figures, weights: report.value.weights, note, wallMs: raw.value.wallMs },
    },
    records,
  });
}

/**
 * The share of samples on which the MCU must predict the host runtime's class. f32 pages: every one
 * (both compute the same weights, and the firmware's float order has agreed on every zoo sample).
 * int8 pages: the host dequantises the same codes with the same scales, but the firmware's dense layers
 * factor each page's scale out of the dot product (scale × Σ x·code), which rounds differently in the
 * last bits, so a sample on a near tie may flip: the 99.9% (on slices under 1,000 samples this
 * is still every sample).
 */
export function requiredAgreement(valueType: 'f32' | 'i8'): number {
  return valueType === 'i8' ? 0.999 : 1;
}

/** The first failing task of a gateway health check, in words. */
export function describeGatewayFailure(health: HealthResult): string | undefined {
  const bad = health.models.find((m) => !m.passed);
  if (!bad) return undefined;
  const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;
  const on = `on ${bad.samples} of its ${bad.sliceSamples ?? bad.samples} health-slice samples`;
  if (bad.agreement !== undefined && bad.agreement < 1)
    return `Model "${bad.model}" on the MCU predicted the host runtime's class on only ${Math.round(bad.agreement * bad.samples)} of ${bad.samples} samples (f32 pages must agree on every one, int8 pages on 99.9%); it measured ${pct(bad.measured)} ${on}, expected ${pct(bad.expected)}.`;
  return `Model "${bad.model}" measured ${pct(bad.measured)} on the MCU ${on}, expected ${pct(bad.expected)} (a drop of ${bad.dropPoints.toFixed(1)} points, more than the ${health.tolerancePoints} allowed).`;
}

/** Appends records to the telemetry log (the caller holds the root's lock: one writer at a time). */
export function appendTelemetry(
  root: AgentRoot,
  records: readonly NewTelemetry[],
  options: TelemetryLogOptions = {},
): Result<number> {
  const writer = TelemetryWriter.open(root.telemetryDir, options);
  if (!writer.ok) return writer;
  try {
    for (const r of records) writer.value.append(r);
    return ok(writer.value.lastSeq);
  } finally {
    writer.value.close();
  }
}
