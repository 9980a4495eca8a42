/**
 * Provisioning a registered device: check its Node.js, upload the agent (built on demand) and its
 * agent.json, ask `wsep-agent info`, install onnxruntime-node from the app's own copy when the agent
 * cannot load one (only the device's architecture is sent), and record the device's capacities.
 * Every provisioning is audited, whatever its outcome.
 */
import { fail, ok, type Result, type WsepError } from '../core/errors.ts';
import { noProgress, type ProgressSink } from '../core/progress.ts';
import type { AgentClient } from './agent-client.ts';
import { ensureAgentFile } from './agent-file.ts';
import { connectDevice, agentOf, isUnreachable, namingDevice, type LinkOptions } from './device-link.ts';
import { onnxruntimeFiles } from './onnxruntime-files.ts';
import { boardFile, DEFAULT_BOARD, mcuProfilePath, readBoard, resolveMcuProfile } from '../mcu/board.ts';
import { buildFirmware } from '../mcu/build.ts';
import { AGENT_LAYOUT, type AgentConfig, type AgentInfo, type McuGatewayConfig } from './protocol.ts';
import type { SshConnection } from './ssh/connection.ts';
import type { FleetStore } from './store/store.ts';
import type { Device } from './store/types.ts';

/** The oldest Node.js the agent runs on (its build targets node18). */
export const MIN_NODE_MAJOR = 18;

export interface ProvisionOptions extends LinkOptions {
  readonly progress?: ProgressSink;
  /** Install onnxruntime-node even when the agent can load one (e.g. to replace a broken copy). */
  readonly reinstallRuntime?: boolean;
  /** MCU gateways only: the board, the profile and the gateway's settings (agent.json `mcu`). */
  readonly mcu?: McuProvisionOptions;
}

export interface McuProvisionOptions {
  /** A board under resources/firmware/boards (default mps2-an385). */
  readonly board?: string;
  /** A profile name under resources/firmware/profiles, or a .json path (default: the board's name). */
  readonly profile?: string;
  /** Settings written into agent.json's `mcu` (the rest take the agent's defaults). */
  readonly config?: Partial<
    Pick<McuGatewayConfig, 'command' | 'healthSamples' | 'timeoutMs' | 'storageBytesPerSecond'>
  >;
}

export interface ProvisionResult {
  readonly device: string;
  readonly info: AgentInfo;
  readonly nodeVersion: string;
  readonly agentBytes: number;
  /** MCU gateways: bytes of the firmware image, board.json and profile.json sent. */
  readonly firmwareBytes: number;
  /** Whether onnxruntime-node was sent to the device, and its bytes. */
  readonly runtimeInstalled: boolean;
  readonly runtimeBytes: number;
  /** Payload bytes uploaded in all. */
  readonly bytesSent: number;
}

/** The remote path of a file relative to the agent's root. */
export function underRoot(root: string, rel: string): string {
  return `${root.endsWith('/') ? root.slice(0, -1) : root}/${rel}`;
}

interface NodeFacts {
  readonly version: string;
  readonly arch: string;
  readonly platform: string;
}

const NODE_PROBE =
  'process.stdout.write(JSON.stringify({version:process.version,arch:process.arch,platform:process.platform}))';

/** Runs the device's Node.js once: its version (≥ 18), architecture and platform. */
async function checkNode(
  connection: SshConnection,
  device: Device,
  signal?: AbortSignal,
): Promise<Result<NodeFacts>> {
  const ran = await connection.exec([device.nodePath, '-e', NODE_PROBE], {
    timeoutMs: 30_000,
    ...(signal ? { signal } : {}),
  });
  if (!ran.ok) return ran;
  const hint = `Install Node.js ${MIN_NODE_MAJOR} or newer on the device, or give its path with wsep devices add --node <path>.`;
  if (ran.value.code !== 0) {
    const said = ran.value.stderr.toString('utf8').trim().split('\n').slice(-1)[0] ?? '';
    return fail(
      'E_DEVICE',
      `Device "${device.name}": "${device.nodePath}" could not run there (exit ${ran.value.code}${said ? `: ${said}` : ''}).`,
      hint,
    );
  }
  let facts: NodeFacts;
  try {
    facts = JSON.parse(ran.value.stdout.toString('utf8')) as NodeFacts;
  } catch {
    return fail('E_DEVICE', `Device "${device.name}": "${device.nodePath}" is not Node.js.`, hint);
  }
  const major = Number(/^v(\d+)\./.exec(String(facts.version))?.[1] ?? NaN);
  if (!(major >= MIN_NODE_MAJOR)) {
    return fail(
      'E_DEVICE',
      `Device "${device.name}" runs Node.js ${String(facts.version)}, but the agent needs ${MIN_NODE_MAJOR} or newer.`,
      hint,
    );
  }
  return ok(facts);
}

/**
 * An MCU gateway's firmware, built here with arm-none-eabi-gcc for the board (shared/mcu build), and
 * the board and profile files the agent reads: the gateway needs no toolchain, only the MCU command.
 */
async function uploadGatewayFiles(
  connection: SshConnection,
  device: Device,
  options: McuProvisionOptions,
  signal?: AbortSignal,
): Promise<Result<number>> {
  const board = readBoard(options.board ?? DEFAULT_BOARD);
  if (!board.ok) return board;
  const profilePath = mcuProfilePath(options.profile ?? board.value.board, process.cwd());
  const profile = resolveMcuProfile(profilePath, process.cwd());
  if (!profile.ok) return profile;
  const elf = buildFirmware(board.value);
  if (!elf.ok) return elf;
  const sigOpt = signal ? { signal } : {};
  let sent = 0;
  for (const [local, remote] of [
    [elf.value, AGENT_LAYOUT.mcu.firmware],
    [boardFile(board.value.board), AGENT_LAYOUT.mcu.board],
    [profilePath, AGENT_LAYOUT.mcu.profile],
  ] as const) {
    const up = await connection.upload(local, underRoot(device.root, remote), sigOpt);
    if (!up.ok) return up;
    sent += up.value.bytes;
  }
  return ok(sent);
}

/** Sends onnxruntime-node (device architecture only) and onnxruntime-common into `<root>/node_modules/`. */
async function installRuntime(
  connection: SshConnection,
  device: Device,
  arch: string,
  progress: ProgressSink,
  signal?: AbortSignal,
): Promise<Result<number>> {
  const files = onnxruntimeFiles(arch);
  if (!files.ok) return { ok: false, error: namingDevice(device.name, files.error) };
  let sent = 0;
  for (const [i, f] of files.value.entries()) {
    const remote = underRoot(device.root, `${AGENT_LAYOUT.nodeModules}/${f.remote}`);
    const up = await connection.upload(f.local, remote, signal ? { signal } : {});
    if (!up.ok) return up;
    sent += up.value.bytes;
    progress({
      stage: 'provision',
      task: device.name,
      step: i + 1,
      total: files.value.length,
      fraction: 0.3 + (0.6 * (i + 1)) / files.value.length,
      message: `onnxruntime-node ${f.remote}`,
    });
  }
  return ok(sent);
}

async function provisionOn(
  connection: SshConnection,
  agent: AgentClient,
  device: Device,
  options: ProvisionOptions,
): Promise<Result<ProvisionResult>> {
  const progress = options.progress ?? noProgress;
  const signal = options.signal;
  const report = (fraction: number, message: string) =>
    progress({ stage: 'provision', task: device.name, step: 0, fraction, message });
  report(0.05, 'checking Node.js');
  const node = await checkNode(connection, device, signal);
  if (!node.ok) return node;
  report(0.1, 'building the agent');
  const file = await ensureAgentFile();
  if (!file.ok) return file;
  report(0.15, 'uploading the agent');
  const sigOpt = signal ? { signal } : {};
  const agentUp = await connection.upload(file.value, underRoot(device.root, AGENT_LAYOUT.agentFile), sigOpt);
  if (!agentUp.ok) return agentUp;
  let firmwareBytes = 0;
  let config: AgentConfig = { kind: device.kind };
  if (device.kind === 'mcu-gateway') {
    report(0.18, 'building and uploading the MCU firmware');
    const sent = await uploadGatewayFiles(connection, device, options.mcu ?? {}, signal);
    if (!sent.ok) return sent;
    firmwareBytes = sent.value;
    const settings = options.mcu?.config;
    config = { kind: device.kind, ...(settings ? { mcu: settings as McuGatewayConfig } : {}) };
  }
  const configUp = await connection.uploadBuffer(
    Buffer.from(`${JSON.stringify(config)}\n`),
    underRoot(device.root, AGENT_LAYOUT.config),
    sigOpt,
  );
  if (!configUp.ok) return configUp;
  report(0.25, 'asking the agent');
  let info = await agent.info(sigOpt);
  if (!info.ok) return info;
  if (device.kind === 'mcu-gateway' && info.value.mcu && !info.value.mcu.commandFound) {
    const program = info.value.mcu.command.trim().split(/\s+/)[0];
    return fail(
      'E_DEVICE',
      `Device "${device.name}": the MCU command's program "${program}" is not found on the gateway.`,
      "Install it there (qemu-system-arm for the emulated board), or set the gateway's command line (mcu.command in its agent.json).",
    );
  }
  let runtimeBytes = 0;
  // An MCU gateway runs the models on the microcontroller: it needs no onnxruntime.
  const needsRuntime =
    device.kind !== 'mcu-gateway' && (info.value.onnxruntime === null || options.reinstallRuntime === true);
  if (needsRuntime) {
    const installed = await installRuntime(connection, device, node.value.arch, progress, signal);
    if (!installed.ok) return installed;
    runtimeBytes = installed.value;
    info = await agent.info(sigOpt);
    if (!info.ok) return info;
    if (info.value.onnxruntime === null) {
      return fail(
        'E_DEVICE',
        `Device "${device.name}": the agent still cannot load onnxruntime-node after it was installed under ${underRoot(device.root, AGENT_LAYOUT.nodeModules)}.`,
        `Check that the device's C library suits onnxruntime-node's linux-${node.value.arch} build (glibc), then provision again.`,
      );
    }
  }
  report(1, 'provisioned');
  return ok({
    device: device.name,
    info: info.value,
    nodeVersion: node.value.version,
    agentBytes: agentUp.value.bytes,
    firmwareBytes,
    runtimeInstalled: needsRuntime,
    runtimeBytes,
    bytesSent: connection.bytesSent,
  });
}

function recordFailure(store: FleetStore, device: string, error: WsepError): void {
  if (isUnreachable(error)) store.markOffline(device, error.message);
  store.audit({
    action: 'device.provision',
    target: device,
    outcome: error.code === 'E_CANCELLED' ? 'cancelled' : 'failed',
    detail: { error: { code: error.code, message: error.message } },
  });
}

/** Provisions the device named `name` and records what its agent reports. */
export async function provisionDevice(
  store: FleetStore,
  name: string,
  options: ProvisionOptions = {},
): Promise<Result<ProvisionResult>> {
  const found = store.getDevice(name);
  if (!found.ok) return found;
  const device = found.value;
  const connection = await connectDevice(device, options);
  if (!connection.ok) {
    recordFailure(store, name, connection.error);
    return connection;
  }
  let result: Result<ProvisionResult>;
  try {
    result = await provisionOn(connection.value, agentOf(connection.value, device), device, options);
  } finally {
    await connection.value.close();
  }
  if (!result.ok) {
    const error = namingDevice(name, result.error);
    recordFailure(store, name, error);
    return { ok: false, error };
  }
  const info = result.value.info;
  const recorded = recordInfo(store, name, info);
  if (!recorded.ok) return recorded;
  store.audit({
    action: 'device.provision',
    target: name,
    outcome: 'ok',
    detail: {
      agentVersion: info.agentVersion,
      node: result.value.nodeVersion,
      arch: info.arch,
      onnxruntime: info.onnxruntime,
      runtimeInstalled: result.value.runtimeInstalled,
      bytesSent: result.value.bytesSent,
    },
  });
  return result;
}

/** Stores what `info` says: capacities, plans, and that the device was seen. */
export function recordInfo(store: FleetStore, name: string, info: AgentInfo): Result<Device> {
  const seen = store.markSeen(name);
  if (!seen.ok) return seen;
  const plans = store.setDevicePlans(name, info.activePlan, info.previousPlan);
  if (!plans.ok) return plans;
  return store.updateDevice(name, {
    capacities: {
      level1Bytes: info.level1Bytes,
      level2Bytes: info.level2Bytes,
      arch: info.arch,
      agentVersion: info.agentVersion,
      onnxruntime: info.onnxruntime,
    },
    status: 'provisioned',
    statusReason: null,
  });
}
