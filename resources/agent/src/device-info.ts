/**
 * What the device is and what it holds: `info` (kind, capacities, versions; recorded by provisioning)
 * and `status` (plans, uploads, the workload, the telemetry position; read before and after a rollout).
 */
import { readFileSync, statfsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { totalmem, freemem } from 'node:os';
import { fail, ok, type Result } from '../../../shared/core/errors.ts';
import {
  AGENT_VERSION,
  type AgentConfig,
  type AgentInfo,
  type AgentStatus,
  type DeviceKind,
} from '../../../shared/fleet/protocol.ts';
import { gatewayInfo } from './gateway.ts';
import { parseGatewayConfig } from './gateway-config.ts';
import type { AgentRoot } from './layout.ts';
import { lockHeld } from './lock.ts';
import { stagedFiles } from './staging.ts';
import { lastTelemetrySeq } from './telemetry-log.ts';
import { readWorkload } from './workload.ts';

/** MemTotal and MemAvailable from /proc/meminfo (os.totalmem/freemem elsewhere). */
function memory(): { total: number; available: number } {
  try {
    const text = readFileSync('/proc/meminfo', 'utf8');
    const kib = (key: string): number | undefined => {
      const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
      return m ? Number(m[1]) * 1024 : undefined;
    };
    const total = kib('MemTotal');
    const available = kib('MemAvailable') ?? kib('MemFree');
    if (total !== undefined && available !== undefined) return { total, available };
  } catch {
    // not Linux: fall through
  }
  return { total: totalmem(), available: freemem() };
}

function disk(path: string): { total: number; available: number } {
  // statfs is in Node ≥ 18.15; an older Node reports 0 rather than failing `info`.
  if (typeof statfsSync !== 'function') return { total: 0, available: 0 };
  const s = statfsSync(path);
  return { total: s.blocks * s.bsize, available: s.bavail * s.bsize };
}

/** onnxruntime-node's version when it loads (native binding included) from the agent's folder upward. */
export function onnxruntimeVersion(): string | null {
  try {
    const require = createRequire(import.meta.url);
    require('onnxruntime-node');
    return (require('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    return null;
  }
}

export function readConfig(root: AgentRoot): Result<AgentConfig> {
  let text: string;
  try {
    text = readFileSync(root.configFile, 'utf8');
  } catch {
    return ok({ kind: 'linux' }); // not provisioned by the app (e.g. installed by hand): a Linux device
  }
  try {
    const { kind, mcu } = JSON.parse(text) as { kind?: unknown; mcu?: unknown };
    if (kind === 'linux') return ok({ kind: 'linux' });
    if (kind === 'mcu-gateway') {
      const config = parseGatewayConfig(mcu, root.configFile);
      return config.ok ? ok({ kind: kind as DeviceKind, mcu: config.value }) : config;
    }
  } catch {
    // reported below
  }
  return fail(
    'E_DEVICE',
    `${root.configFile} is not a valid agent configuration (a JSON object with kind "linux" or "mcu-gateway").`,
    'Provision the device again (wsep devices provision), which rewrites it.',
  );
}

export function info(root: AgentRoot): Result<AgentInfo> {
  const config = readConfig(root);
  if (!config.ok) return config;
  if (config.value.kind === 'mcu-gateway') return gatewayInfo(root, config.value.mcu!);
  const mem = memory();
  const fs = disk(root.root);
  return ok({
    agentVersion: AGENT_VERSION,
    kind: config.value.kind,
    arch: process.arch,
    platform: process.platform,
    nodeVersion: process.version,
    onnxruntime: onnxruntimeVersion(),
    root: root.root,
    level1Bytes: mem.total,
    level1FreeBytes: mem.available,
    level2Bytes: fs.total,
    level2FreeBytes: fs.available,
    activePlan: root.linked('current'),
    previousPlan: root.linked('previous'),
  });
}

/**
 * `status [--plan <planId>]`. With a plan id it also answers what `files <planId>` would (the
 * complete files of its upload with their hashes), so a rollout needs one command, not two, before it
 * sends anything: every remote command costs a session setup on the device.
 */
export async function status(root: AgentRoot, planId?: string): Promise<Result<AgentStatus>> {
  const files = planId === undefined ? undefined : await stagedFiles(root, planId);
  if (files && !files.ok) return files;
  return ok({
    activePlan: root.linked('current'),
    previousPlan: root.linked('previous'),
    plans: root.installedPlans(),
    staged: root.stagedPlans(),
    workload: readWorkload(root),
    telemetry: { lastSeq: lastTelemetrySeq(root.telemetryDir) },
    busy: lockHeld(root),
    ...(files ? { files: { planId: planId!, files: files.value } } : {}),
  });
}
