/**
 * The contract between the app and the device agent (`resources/agent/`): how the agent is invoked,
 * what each command answers, and its stable exit codes. The agent writes exactly one JSON line on stdout
 * with `--json`; the app parses it with `parseAgentReply`. Pure types and constants, so both sides (and
 * the store, which keeps telemetry records as they arrive) can import it without pulling in anything.
 *
 * Change it only by adding: devices in the field run older agents, so a field's meaning never changes
 * (bump AGENT_VERSION when a command or a field is added).
 */
import { fail, ok, type ErrorCode, type Result, type WsepError } from '../core/errors.ts';
// A type only: the protocol stays free of code from the runtime.
import type { HealthModelResult as RuntimeHealthModelResult } from '../runtime/health-slice.ts';

export const AGENT_VERSION = '1.1.0';

/** Stable exit codes of `wsep-agent`; a code's meaning never changes. */
export const AGENT_EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  verifyFailed: 3,
  /** The health check failed after activation (or rollback); the agent switched back by itself. */
  healthFailed: 4,
  /** A plan, a model or a previous plan that is not there. */
  notFound: 5,
  diskFull: 6,
} as const;

export type AgentExitCode = (typeof AGENT_EXIT)[keyof typeof AGENT_EXIT];

/** Where things live under the agent's root on the device (relative paths, '/'-separated). */
export const AGENT_LAYOUT = {
  /** The agent itself: `node <root>/bin/wsep-agent.mjs`. */
  agentFile: 'bin/wsep-agent.mjs',
  /** onnxruntime-node is installed here (Node resolves it from bin/ upward). */
  nodeModules: 'node_modules',
  /** `staging/<planId>/` holds a plan being uploaded; uploads write `<file>.part`, then rename. */
  staging: 'staging',
  /**
   * `staging/<planId>.delta/` holds a page delta against an installed plan (see `apply-delta`): the
   * files shared/image writeDelta writes, plus the new plan's health files under `health/`: health.json
   * and the slices whose hash the base plan's health/ lacks (the agent takes the others from there).
   */
  deltaSuffix: '.delta',
  plans: 'plans',
  current: 'current',
  previous: 'previous',
  telemetry: 'telemetry',
  workloadPid: 'run/workload.pid',
  /** Written by provisioning: `{kind}` (AgentConfig). */
  config: 'agent.json',
  /** Inside a staged or installed plan: the on-device test slices. */
  healthDir: 'health',
  healthFile: 'health/health.json',
  /**
   * An MCU gateway's files: provisioning uploads the firmware and the board and profile files; the
   * agent keeps one export (blobs + mcu.json) per installed plan in `mcu/exports/<planId>/`.
   */
  mcu: {
    firmware: 'mcu/firmware.elf',
    board: 'mcu/board.json',
    profile: 'mcu/profile.json',
    exports: 'mcu/exports',
  },
} as const;

export type DeviceKind = 'linux' | 'mcu-gateway';

/**
 * An MCU gateway's settings (`mcu` in agent.json): where provisioning put the firmware and the
 * board/profile files (relative to the root), the one command line that runs the firmware on the
 * microcontroller (a template: shared/mcu/qemu.ts MCU_COMMAND_VARIABLES), and the health check's size.
 */
export interface McuGatewayConfig {
  readonly firmware: string;
  readonly board: string;
  readonly profile: string;
  readonly command: string;
  /** Samples per task the health check runs (a prefix of each slice; 0: the whole slice). */
  readonly healthSamples: number;
  readonly timeoutMs: number;
  /** Level-2 read bandwidth the switch time is modelled with (bytes/s; stated in telemetry). */
  readonly storageBytesPerSecond: number;
}

/** `<root>/agent.json`, written by provisioning. */
export interface AgentConfig {
  readonly kind: DeviceKind;
  /** Only for kind `mcu-gateway`. */
  readonly mcu?: McuGatewayConfig;
}

/** What `info` adds on an MCU gateway: level 1 is the profile's FRAM, level 2 its flash storage. */
export interface McuGatewayInfo {
  readonly board: string;
  readonly machine: string;
  readonly cpu: string;
  readonly profile: string;
  readonly framBytes: number;
  readonly flashBytes: number;
  readonly command: string;
  /** Whether the command's program is found on the gateway (PATH or an absolute path). */
  readonly commandFound: boolean;
  readonly firmwareBytes: number;
  readonly healthSamples: number;
}

export type AgentCommand =
  | 'info'
  | 'status'
  | 'files'
  | 'apply-delta'
  | 'verify'
  | 'activate'
  | 'rollback'
  | 'eval'
  | 'run'
  | 'bench'
  | 'telemetry'
  | 'start'
  | 'stop';

/**
 * The argv that runs an agent command on a device: `node <root>/bin/wsep-agent.mjs --root <root>
 * <command> [args] --json`. The app quotes it with `remoteCommand` (shared/fleet/ssh/quote.ts).
 */
export function agentArgv(
  nodePath: string,
  root: string,
  command: AgentCommand,
  args: readonly string[] = [],
): string[] {
  const base = root.endsWith('/') && root.length > 1 ? root.slice(0, -1) : root;
  return [nodePath, `${base}/${AGENT_LAYOUT.agentFile}`, '--root', root, command, ...args, '--json'];
}

export interface AgentInfo {
  readonly agentVersion: string;
  readonly kind: DeviceKind;
  /** process.arch, e.g. 'arm64', 'x64'. */
  readonly arch: string;
  /** process.platform, e.g. 'linux'. */
  readonly platform: string;
  /** process.version, e.g. 'v20.11.0'. */
  readonly nodeVersion: string;
  /** onnxruntime-node's version, or null when it cannot be loaded from the root's node_modules. */
  readonly onnxruntime: string | null;
  readonly root: string;
  /** Main memory (MemTotal); on a Jetson the GPU shares it, so this is level 1. */
  readonly level1Bytes: number;
  /** MemAvailable. */
  readonly level1FreeBytes: number;
  /** Size of the file system holding the root (level 2: eMMC or disk). */
  readonly level2Bytes: number;
  /** Bytes available to the agent on that file system. */
  readonly level2FreeBytes: number;
  readonly activePlan: string | null;
  readonly previousPlan: string | null;
  /** On an MCU gateway: the board, its memories and the command that runs it. */
  readonly mcu?: McuGatewayInfo;
}

export interface WorkloadStatus {
  readonly running: boolean;
  readonly pid: number;
  /** ISO 8601 time the loop was started. */
  readonly startedAt: string;
}

export interface AgentStatus {
  readonly activePlan: string | null;
  readonly previousPlan: string | null;
  /** Plan ids installed under plans/ (at most current and previous). */
  readonly plans: readonly string[];
  /** Plan ids with a folder under staging/ (uploads in progress or not yet activated). */
  readonly staged: readonly string[];
  /** null when no loop was ever started or its pid file is gone; running false when its process is gone. */
  readonly workload: WorkloadStatus | null;
  /** lastSeq: the last telemetry record's seq (0 when none was written). */
  readonly telemetry: { readonly lastSeq: number };
  /**
   * An activate, rollback or apply-delta holds the root's lock right now (agent ≥ 1.1.0; absent from
   * older agents). A cancelled rollout's activation finishes on the device; the app waits for this.
   */
  readonly busy?: boolean;
  /** With `status --plan <planId>` (agent ≥ 1.1.0): what `files <planId>` answers, in the same command. */
  readonly files?: { readonly planId: string; readonly files: readonly StagedFile[] };
}

/** A complete file under `staging/<planId>/` (`.part` files are left out). */
export interface StagedFile {
  /** Relative to the plan folder, '/'-separated, e.g. 'exclusive/mnist.bin'. */
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface ApplyDeltaResult {
  readonly planId: string;
  readonly basePlanId: string;
  /** Files of the rebuilt bundle (health files included). */
  readonly files: number;
  readonly bytes: number;
}

export interface VerifyResult {
  readonly planId: string;
  /** Where the plan was found: staged (not yet activated) or installed. */
  readonly location: 'staging' | 'plans';
  /** Files checked (bundle and health files) and their bytes. */
  readonly files: number;
  readonly bytes: number;
  /** Models with a health slice. */
  readonly healthModels: number;
}

/**
 * One model's health result: the runtime's (shared/runtime/health-slice.ts, what a Linux agent
 * measures) and, on an MCU gateway, what the firmware adds. `passed` on a gateway also needs every
 * sample to agree with the host.
 */
export interface HealthModelResult extends RuntimeHealthModelResult {
  /** MCU gateway: samples in the whole slice (`samples` is the prefix that ran). */
  readonly sliceSamples?: number;
  /** MCU gateway: fraction of samples where the firmware predicts the host runtime's class. */
  readonly agreement?: number;
  readonly insnPerInference?: number;
  readonly l2BytesPerSwitch?: number;
}

/** MCU gateway: the run behind a health check or an eval (the memory map from the firmware's UART). */
export interface McuRunFigures {
  readonly board: string;
  readonly weights: string;
  /** Says when only a prefix of each slice ran, and how large. */
  readonly note: string;
  readonly framUsedBytes: number;
  readonly framBudgetBytes: number;
  readonly l2UsedBytes: number;
  readonly l2BudgetBytes: number;
  readonly wallMs: number;
}

export interface HealthResult {
  readonly planId: string;
  readonly tolerancePoints: number;
  readonly models: readonly HealthModelResult[];
  readonly passed: boolean;
  readonly mcu?: McuRunFigures;
}

/**
 * `activate` and `rollback`. On a failed health check the agent exits 4 with an E_HEALTH error whose
 * `details` is this object (rolledBack true, reason set), so the app learns what was measured.
 */
export interface ActivateResult {
  /** The plan that was asked for. */
  readonly planId: string;
  /** The plan `current` pointed at before (null on a first activation). */
  readonly previous: string | null;
  /** What `current` points at now. */
  readonly active: string | null;
  /** null when nothing was checked (the plan was already current). */
  readonly health: HealthResult | null;
  readonly rolledBack: boolean;
  /** Why it rolled back: which model, expected vs measured. */
  readonly reason?: string;
  /** True when the plan was already current (activation was a no-op). */
  readonly unchanged: boolean;
}

/** `eval`: the active plan on its on-device slices (the health check without any switching). */
export type EvalResult = HealthResult;

export interface RunClassScore {
  readonly index: number;
  readonly label: string;
  /** Softmax probability, 0..1. */
  readonly score: number;
}

export interface RunResult {
  readonly planId: string;
  readonly model: string;
  readonly predicted: RunClassScore;
  readonly top: readonly RunClassScore[];
  readonly switchMs: number;
  readonly runMs: number;
}

export interface BenchModelResult {
  readonly model: string;
  /** Median time of the paged runtime's switchTo (one read of exclusive pages + gather). */
  readonly switchMs: number;
  /** Median time to load the model from storage: read its graph and full weights, create a session. */
  readonly loadMs: number;
  /** Bytes one switch reads from level 2. */
  readonly switchBytesRead: number;
  /** Bytes one load reads from storage. */
  readonly loadBytesRead: number;
}

export interface BenchResult {
  readonly planId: string;
  readonly rounds: number;
  readonly models: readonly BenchModelResult[];
  /** Medians over all models and rounds. */
  readonly switchMs: number;
  readonly loadMs: number;
}

export interface TaskTelemetry {
  readonly seq: number;
  /** ISO 8601, UTC. */
  readonly time: string;
  readonly kind: 'task';
  readonly planId: string;
  readonly model: string;
  /** Index of the window (one cycle over the plan's models) this record closes. */
  readonly window: number;
  readonly samples: number;
  /** Accuracy over the window's samples, 0..1. */
  readonly accuracy: number;
  readonly switchMs: number;
  readonly inferMs: number;
  /**
   * MCU gateway: counted by the firmware. switchMs and inferMs are then modelled, not timed: level-2
   * bytes at `storageBytesPerSecond`, and instructions at the board's clock (one per cycle).
   */
  readonly mcu?: {
    readonly insnPerInference: number;
    readonly l2BytesPerSwitch: number;
    readonly macs: number;
    readonly agreement: number | null;
    readonly storageBytesPerSecond: number;
    readonly sysclkHz: number;
  };
}

export interface DeviceTelemetry {
  readonly seq: number;
  readonly time: string;
  readonly kind: 'device';
  readonly planId: string;
  /** The paged runtime's level-1 total (MemoryAccount.level1.total). */
  readonly level1ResidentBytes: number;
  /** Bytes read from level 2 by switches since the previous device record. */
  readonly level2BytesRead: number;
  readonly rssBytes: number;
  /** Errors since the previous device record. */
  readonly errors: number;
  /** MCU gateway: the memory map the firmware printed (level 1 = FRAM, level 2 = flash). */
  readonly mcu?: {
    readonly board: string;
    readonly framUsedBytes: number;
    readonly framBudgetBytes: number;
    readonly l2UsedBytes: number;
    readonly l2BudgetBytes: number;
  };
}

export type TelemetryRecord = TaskTelemetry | DeviceTelemetry;

export interface TelemetryBatch {
  /** Records with seq > the cursor asked for, in order. */
  readonly records: readonly TelemetryRecord[];
  /** The last seq returned (the cursor asked for when none was). Pass it as `--since` next time. */
  readonly cursor: number;
  /** Records after the cursor that were rotated away before they could be read. */
  readonly lost: number;
  /**
   * More records are waiting (the batch hit its limit). A cursor beyond the device's last record (its
   * telemetry folder was wiped) returns nothing: compare with AgentStatus.telemetry.lastSeq.
   */
  readonly more: boolean;
}

export interface StartResult {
  readonly pid: number;
  readonly startedAt: string;
  /** A loop was already running; nothing was started. */
  readonly alreadyRunning: boolean;
}

export interface StopResult {
  /** The pid that was stopped, or null when no loop was running. */
  readonly pid: number | null;
  readonly stopped: boolean;
}

export type AgentReply<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: WsepError };

const bad = (why: string): Result<never> =>
  fail(
    'E_DEVICE',
    `The device agent's answer is not one JSON reply line: ${why}.`,
    'Check that the agent on the device is the one this app provisioned (wsep devices provision again).',
  );

/**
 * Reads the agent's stdout (with `--json`: one JSON line, an optional trailing newline) into a reply.
 * Anything else — no line, two lines, not JSON, not `{ok, value}` or `{ok, error}` — is E_DEVICE.
 */
export function decodeAgentReply(stdout: string): Result<AgentReply<unknown>> {
  const text = stdout.endsWith('\n') ? stdout.slice(0, -1) : stdout;
  if (text.trim() === '') return bad('it printed nothing');
  if (text.includes('\n')) return bad('it printed more than one line');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return bad(`it is not JSON (${JSON.stringify(text.slice(0, 80))})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return bad('it is not an object');
  const reply = json as Record<string, unknown>;
  const keys = Object.keys(reply).sort().join(',');
  if (reply.ok === true && keys === 'ok,value') return ok({ ok: true, value: reply.value });
  if (reply.ok === false && keys === 'error,ok') {
    const e = reply.error;
    if (typeof e !== 'object' || e === null || Array.isArray(e)) return bad('its error is not an object');
    const { code, message, hint, details } = e as Record<string, unknown>;
    if (typeof code !== 'string' || !/^E_[A-Z0-9_]+$/.test(code)) return bad('its error has no code');
    if (typeof message !== 'string' || message === '') return bad('its error has no message');
    if (hint !== undefined && typeof hint !== 'string') return bad('its error hint is not text');
    const error: { code: ErrorCode; message: string; hint?: string; details?: unknown } = {
      code: code as ErrorCode,
      message,
    };
    if (hint !== undefined) error.hint = hint;
    if (details !== undefined) error.details = details;
    return ok({ ok: false, error });
  }
  return bad('it is neither {ok:true, value} nor {ok:false, error}');
}

/** As `decodeAgentReply`, with the agent's own error passed on as the failure. */
export function parseAgentReply(stdout: string): Result<unknown> {
  const reply = decodeAgentReply(stdout);
  if (!reply.ok) return reply;
  return reply.value.ok ? ok(reply.value.value) : { ok: false, error: reply.value.error };
}

/** The exit code's name, for messages ('healthFailed'), or undefined for a code the protocol lacks. */
export function agentExitName(code: number): keyof typeof AGENT_EXIT | undefined {
  return (Object.keys(AGENT_EXIT) as (keyof typeof AGENT_EXIT)[]).find((k) => AGENT_EXIT[k] === code);
}
