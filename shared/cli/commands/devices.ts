/**
 * `wsep devices add|list|show|accept-key|provision|remove`: the device registry. Adding a device
 * probes its SSH host key and shows the fingerprint, but trusts nothing: `accept-key` pins it after
 * the user compared it (with --fingerprint, only when it is exactly that key). Provisioning uploads
 * the agent and records what it reports.
 */
import { userInfo } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { fail, ok, type Result } from '../../core/errors.ts';
import { formatBytes } from '../../core/units.ts';
import { provisionDevice, type McuProvisionOptions } from '../../fleet/provision.ts';
import { probeHostKey } from '../../fleet/ssh/connection.ts';
import { isFingerprint } from '../../fleet/ssh/host-key.ts';
import { describeMcuFigures, mcuFigures } from '../../fleet/mcu-telemetry.ts';
import type { FleetStore } from '../../fleet/store/store.ts';
import { DEVICE_KINDS, type Device, type DeviceKind } from '../../fleet/store/types.ts';
import type { ParsedArgs } from '../args.ts';
import { progressSink, type Command, type CommandContext } from '../command.ts';
import { JSON_OPTION, STORE_OPTION, json, shortId, table, withStore } from './fleet-cli.ts';

/** Where the agent lives on a device when --root is not given. */
export const DEFAULT_DEVICE_ROOT = '/opt/wsep';

const USAGE =
  'wsep devices add <name> --host <h> --key <path> [--port 22] [--user u] [--root dir] [--node path] [--kind linux|mcu-gateway] [--tag t1,t2 | --tag t1 --tag t2]\n' +
  '       wsep devices accept-key <name> [--fingerprint SHA256:…]\n' +
  '       wsep devices provision <name> [--board b] [--profile p] [--mcu-command line] [--health-samples n]\n' +
  '       wsep devices list [--tag t] | show <name> | remove <name>';

function text(args: ParsedArgs, name: string): string | undefined {
  const v = args.options[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Every --tag given (the option repeats), each split at commas; empty ones dropped, duplicates once. */
function tagsOf(args: ParsedArgs): string[] {
  const v = args.options['tag'];
  const given = Array.isArray(v) ? (v as readonly string[]) : typeof v === 'string' ? [v] : [];
  return [...new Set(given.flatMap((t) => t.split(',')).filter((t) => t !== ''))];
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'root';
  }
}

function describeDevice(d: Device): string {
  const caps = d.capacities;
  return [
    `${d.name} (${d.kind})`,
    `  ssh ${d.user}@${d.host}:${d.port}, key ${d.keyPath}`,
    `  host key ${d.hostKeyFingerprint ?? 'not accepted'}${d.probedHostKeyFingerprint ? ` (presented: ${d.probedHostKeyFingerprint}, waiting for accept-key)` : ''}`,
    `  agent root ${d.root}, node ${d.nodePath}`,
    `  status ${d.status}${d.statusReason ? ` (${d.statusReason})` : ''}, last seen ${d.lastSeen ?? 'never'}`,
    `  plans: active ${shortId(d.activePlan)}, previous ${shortId(d.previousPlan)}`,
    caps
      ? d.kind === 'mcu-gateway'
        ? `  capacities: FRAM (level 1) ${formatBytes(caps.level1Bytes)}, flash (level 2) ${formatBytes(caps.level2Bytes)}, gateway ${caps.arch}, agent ${caps.agentVersion}`
        : `  capacities: level 1 ${formatBytes(caps.level1Bytes)}, level 2 ${formatBytes(caps.level2Bytes)}, ${caps.arch}, agent ${caps.agentVersion}, onnxruntime ${caps.onnxruntime ?? 'missing'}`
      : '  capacities: unknown (not provisioned)',
    `  tags ${d.tags.length > 0 ? d.tags.map((t) => JSON.stringify(t)).join(', ') : '—'}`,
  ].join('\n');
}

type Sub = (store: FleetStore, args: ParsedArgs, ctx: CommandContext) => Promise<Result<number>>;

const add: Sub = async (store, args, ctx) => {
  const name = args.positionals[1];
  const host = text(args, 'host');
  const key = text(args, 'key');
  if (name === undefined || host === undefined || key === undefined)
    return fail('E_USAGE', 'wsep devices add needs a name, --host and --key.', `Usage: ${USAGE}`);
  const kind = text(args, 'kind') ?? 'linux';
  if (!(DEVICE_KINDS as readonly string[]).includes(kind))
    return fail('E_USAGE', `--kind must be one of ${DEVICE_KINDS.join(', ')}, got "${kind}".`);
  const port = Number(args.options['port'] ?? 22);
  const user = text(args, 'user') ?? osUser();
  const tags = tagsOf(args);
  const probe = await probeHostKey({ host, port, user, connectTimeoutMs: 10_000 }, { signal: ctx.signal });
  const added = store.addDevice({
    name,
    kind: kind as DeviceKind,
    host,
    port,
    user,
    keyPath: isAbsolute(key) ? key : resolve(ctx.cwd, key),
    root: text(args, 'root') ?? DEFAULT_DEVICE_ROOT,
    nodePath: text(args, 'node') ?? 'node',
    probedHostKeyFingerprint: probe.ok ? probe.value.fingerprint : null,
    tags,
  });
  if (!added.ok) return added;
  store.audit({
    action: 'device.add',
    target: name,
    outcome: 'ok',
    detail: { host, port, user, presented: probe.ok ? probe.value.fingerprint : null },
  });
  if (json(args)) {
    ctx.out(
      JSON.stringify(
        { device: added.value, probe: probe.ok ? probe.value : { error: probe.error } },
        null,
        2,
      ),
    );
    return ok(0);
  }
  ctx.out(`Registered device "${name}".`);
  if (probe.ok) {
    ctx.out(`Its host key is ${probe.value.keyType} ${probe.value.fingerprint}.`);
    ctx.out(
      `Compare it with the device (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub there), then run: wsep devices accept-key ${JSON.stringify(name)}`,
    );
  } else {
    ctx.out(`Its host key could not be read yet: ${probe.error.message}`);
    ctx.out(`When it is reachable, run: wsep devices accept-key ${JSON.stringify(name)}`);
  }
  return ok(0);
};

const acceptKey: Sub = async (store, args, ctx) => {
  const name = args.positionals[1];
  if (name === undefined)
    return fail('E_USAGE', 'wsep devices accept-key needs a device name.', `Usage: ${USAGE}`);
  const given = text(args, 'fingerprint');
  if (given !== undefined && !isFingerprint(given))
    return fail(
      'E_USAGE',
      `--fingerprint "${given}" is not a SHA256:… fingerprint.`,
      'Copy it as ssh-keygen -lf prints it.',
    );
  const found = store.getDevice(name);
  if (!found.ok) return found;
  const device = found.value;
  // Look again: the key accepted must be the one the device presents now.
  const probe = await probeHostKey(device, { signal: ctx.signal });
  const presented = probe.ok ? probe.value.fingerprint : device.probedHostKeyFingerprint;
  if (presented === null) {
    return fail(
      probe.ok ? 'E_DEVICE' : probe.error.code,
      `Device "${name}" has presented no host key yet${probe.ok ? '' : ` (${probe.error.message})`}.`,
      'Make the device reachable and run accept-key again.',
    );
  }
  const shown = device.probedHostKeyFingerprint;
  if (presented === device.hostKeyFingerprint && (given === undefined || given === presented)) {
    ctx.out(
      json(args)
        ? JSON.stringify(device, null, 2)
        : `Device "${name}" already has host key ${presented} accepted.`,
    );
    return ok(0);
  }
  if (given !== undefined && given !== presented) {
    store.audit({
      action: 'device.accept-key',
      target: name,
      outcome: 'refused',
      detail: { given, presented },
    });
    return fail(
      'E_SSH_HOST_CHANGED',
      `Device "${name}" presents ${presented}, not the fingerprint you gave (${given}); nothing was accepted.`,
      'Check the fingerprint on the device itself; a different key may mean something else answers at that address.',
      { given, presented },
    );
  }
  if (given === undefined && shown !== presented) {
    // The user has not seen this key (first look, or it changed since): show it, accept nothing.
    store.updateDevice(name, { probedHostKeyFingerprint: presented });
    const was = device.hostKeyFingerprint ? ` (the accepted key is ${device.hostKeyFingerprint})` : '';
    return fail(
      'E_SSH_HOST_UNKNOWN',
      `Device "${name}" presents host key ${presented}${was}, which you have not been shown before; nothing was accepted.`,
      `Compare it with the device, then run wsep devices accept-key ${JSON.stringify(name)} --fingerprint ${presented}.`,
      { presented },
    );
  }
  const accepted = store.acceptHostKey(name, presented);
  if (!accepted.ok) return accepted;
  store.audit({
    action: 'device.accept-key',
    target: name,
    outcome: 'ok',
    detail: { fingerprint: presented, replaced: device.hostKeyFingerprint },
  });
  ctx.out(
    json(args)
      ? JSON.stringify(accepted.value, null, 2)
      : `Accepted host key ${presented} for device "${name}".`,
  );
  return ok(0);
};

const list: Sub = async (store, args, ctx) => {
  const tags = tagsOf(args);
  const listed = store.listDevices(tags.length === 1 ? { tag: tags[0]! } : {});
  if (!listed.ok) return listed;
  // Several tags: devices with any of them.
  const devices = {
    value: tags.length > 1 ? listed.value.filter((d) => d.tags.some((t) => tags.includes(t))) : listed.value,
  };
  if (json(args)) {
    ctx.out(JSON.stringify(devices.value, null, 2));
    return ok(0);
  }
  if (devices.value.length === 0) {
    ctx.out('No devices registered. Add one with wsep devices add <name> --host <h> --key <path>.');
    return ok(0);
  }
  ctx.out(
    table([
      ['name', 'kind', 'address', 'status', 'active plan', 'last seen', 'tags'],
      ...devices.value.map((d) => [
        d.name,
        d.kind,
        `${d.user}@${d.host}:${d.port}`,
        d.status,
        shortId(d.activePlan),
        d.lastSeen ?? 'never',
        d.tags.join(','),
      ]),
    ]),
  );
  return ok(0);
};

const show: Sub = async (store, args, ctx) => {
  const name = args.positionals[1];
  if (name === undefined) return fail('E_USAGE', 'wsep devices show needs a device name.', `Usage: ${USAGE}`);
  const device = store.getDevice(name);
  if (!device.ok) return device;
  const rollouts = store.listRollouts({ device: name, limit: 5 });
  if (!rollouts.ok) return rollouts;
  if (json(args)) {
    ctx.out(JSON.stringify({ device: device.value, rollouts: rollouts.value }, null, 2));
    return ok(0);
  }
  ctx.out(describeDevice(device.value));
  const summary = store.telemetrySummary(device.value.name);
  const mcu = summary.ok ? mcuFigures(summary.value) : null;
  if (mcu) ctx.out(`  MCU (latest telemetry): ${describeMcuFigures(mcu)}`);
  if (rollouts.value.length > 0) {
    ctx.out('  recent rollouts:');
    for (const r of rollouts.value)
      ctx.out(
        `    #${r.id} plan ${shortId(r.planId)} ${r.state}${r.reason ? ` — ${r.reason}` : ''} (${r.startedAt})`,
      );
  }
  return ok(0);
};

/** The MCU gateway's provisioning flags (--board, --profile, --mcu-command, --health-samples). */
function mcuOptionsOf(args: ParsedArgs): Result<McuProvisionOptions | undefined> {
  const board = text(args, 'board');
  const profile = text(args, 'profile');
  const command = text(args, 'mcu-command');
  const samples = args.options['health-samples'];
  if (board === undefined && profile === undefined && command === undefined && samples === undefined) {
    return ok(undefined);
  }
  if (samples !== undefined && (typeof samples !== 'number' || !Number.isInteger(samples) || samples < 0)) {
    return fail(
      'E_USAGE',
      `--health-samples must be a whole number ≥ 0 (0: whole slices), got ${String(samples)}.`,
    );
  }
  const config = {
    ...(command !== undefined ? { command } : {}),
    ...(typeof samples === 'number' ? { healthSamples: samples } : {}),
  };
  return ok({
    ...(board !== undefined ? { board } : {}),
    ...(profile !== undefined ? { profile } : {}),
    ...(Object.keys(config).length > 0 ? { config } : {}),
  });
}

const provision: Sub = async (store, args, ctx) => {
  const name = args.positionals[1];
  if (name === undefined)
    return fail('E_USAGE', 'wsep devices provision needs a device name.', `Usage: ${USAGE}`);
  const mcu = mcuOptionsOf(args);
  if (!mcu.ok) return mcu;
  if (mcu.value !== undefined) {
    const device = store.getDevice(name);
    if (!device.ok) return device;
    if (device.value.kind !== 'mcu-gateway') {
      return fail(
        'E_USAGE',
        `Device "${name}" is a ${device.value.kind} device; --board, --profile, --mcu-command and --health-samples are for MCU gateways.`,
        'Leave them out, or register the device with --kind mcu-gateway.',
      );
    }
  }
  const done = await provisionDevice(store, name, {
    signal: ctx.signal,
    progress: progressSink(ctx),
    ...(mcu.value ? { mcu: mcu.value } : {}),
  });
  if (!done.ok) return done;
  const r = done.value;
  if (json(args)) ctx.out(JSON.stringify(r, null, 2));
  else
    ctx.out(
      [
        `Provisioned device "${name}": agent ${r.info.agentVersion} on Node ${r.nodeVersion} (${r.info.arch}), onnxruntime ${r.info.onnxruntime ?? 'missing'}${r.runtimeInstalled ? ` (installed, ${formatBytes(r.runtimeBytes)})` : ''}.`,
        `  level 1 ${formatBytes(r.info.level1Bytes)} (${formatBytes(r.info.level1FreeBytes)} free), level 2 ${formatBytes(r.info.level2Bytes)} (${formatBytes(r.info.level2FreeBytes)} free); ${formatBytes(r.bytesSent)} sent.`,
      ].join('\n'),
    );
  return ok(0);
};

const remove: Sub = async (store, args, ctx) => {
  const name = args.positionals[1];
  if (name === undefined)
    return fail('E_USAGE', 'wsep devices remove needs a device name.', `Usage: ${USAGE}`);
  const removed = store.removeDevice(name);
  if (!removed.ok) return removed;
  store.audit({ action: 'device.remove', target: name, outcome: 'ok' });
  ctx.out(
    json(args) ? JSON.stringify({ removed: name }) : `Removed device "${name}" (its rollout history stays).`,
  );
  return ok(0);
};

const SUBCOMMANDS: Record<string, Sub> = {
  add,
  'accept-key': acceptKey,
  list,
  show,
  provision,
  remove,
};

export const devicesCommand: Command = {
  name: 'devices',
  summary: 'Register, trust, provision and list fleet devices.',
  usage: USAGE,
  description: [
    'add probes the device’s SSH host key and shows its fingerprint; nothing is trusted until accept-key, which pins it (with --fingerprint only if the device presents exactly that key). A device whose key later changes is refused until you accept the new key.',
    'provision checks Node.js (18 or newer) on the device, uploads the agent and, when the device lacks it, onnxruntime-node for the device’s architecture from this app’s own copy.',
    'Device names and tags may hold any printable characters; they are data and never reach a shell unquoted.',
  ].join('\n'),
  positionals: { min: 1, max: 2, names: '<add|list|show|accept-key|provision|remove> [name]' },
  options: [
    { name: 'host', kind: 'string', value: 'host', description: 'add: the device’s host name or address.' },
    { name: 'port', kind: 'number', value: 'n', description: 'add: its SSH port (default 22).' },
    { name: 'user', kind: 'string', value: 'name', description: 'add: the SSH user (default: yours).' },
    { name: 'key', kind: 'string', value: 'path', description: 'add: your SSH private key for the device.' },
    {
      name: 'root',
      kind: 'string',
      value: 'dir',
      description: `add: the agent’s folder on the device (default ${DEFAULT_DEVICE_ROOT}).`,
    },
    {
      name: 'node',
      kind: 'string',
      value: 'path',
      description: 'add: Node.js on the device (default node).',
    },
    {
      name: 'kind',
      kind: 'string',
      value: 'kind',
      description: 'add: linux or mcu-gateway (default linux).',
    },
    {
      name: 'tag',
      kind: 'strings',
      value: 'tags',
      description:
        'add: tags, comma-separated or the option repeated; list: only devices with one of these tags.',
    },
    {
      name: 'board',
      kind: 'string',
      value: 'name',
      description: 'provision, MCU gateways: the board under resources/firmware/boards (default mps2-an385).',
    },
    {
      name: 'profile',
      kind: 'string',
      value: 'name|file.json',
      description: 'provision, MCU gateways: the memory profile (FRAM and flash sizes; default the board’s).',
    },
    {
      name: 'mcu-command',
      kind: 'string',
      value: 'line',
      description:
        'provision, MCU gateways: the command line that starts the MCU ({elf}, {fram}, {storage}, … see resources/agent/README.md; default QEMU).',
    },
    {
      name: 'health-samples',
      kind: 'number',
      value: 'n',
      description:
        'provision, MCU gateways: samples per task in the health check (default 8; 0: whole slices).',
    },
    {
      name: 'fingerprint',
      kind: 'string',
      value: 'SHA256:…',
      description: 'accept-key: accept only this host key.',
    },
    STORE_OPTION,
    JSON_OPTION,
  ],
  async run(args, ctx) {
    const sub = SUBCOMMANDS[args.positionals[0]!];
    if (!sub)
      return fail(
        'E_USAGE',
        `wsep devices: unknown sub-command "${args.positionals[0]}".`,
        `Usage: ${USAGE}`,
      );
    return withStore(args, ctx, (store) => sub(store, args, ctx));
  },
};
