/**
 * Rolling the ten-task zoo plan out to three real sshd devices on loopback (test/devices harness), in
 * the same run as OpenSSH's own `scp -r` of the same files to the same devices:
 *   (a) `wsep rollout`, full: the plan copy (bundle + health slices) over SFTP with per-file hashes,
 *       then verify, activate and the on-device health check — wall time and payload bytes;
 *   (b) `wsep rollout` of a second plan with a tenth of its pages changed: a page delta;
 *   (c) `scp -r` of the same plan copy to the three devices at once (pinned host keys), the baseline;
 *   (d) telemetry pull: rows per second from three devices' workload logs into SQLite.
 * Ratios, not absolute targets: loopback has no network cost, so the bytes say what a real link pays.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unwrap } from '../shared/core/errors.ts';
import { formatBytes } from '../shared/core/units.ts';
import { dataRoots } from '../shared/datasets/roots.ts';
import { withDevice } from '../shared/fleet/device-link.ts';
import { archivedPlan } from '../shared/fleet/plan-archive.ts';
import { provisionDevice } from '../shared/fleet/provision.ts';
import { ROLLOUT_PHASES, type RolloutPhase } from '../shared/fleet/phase-times.ts';
import { runRollout, type RolloutReport } from '../shared/fleet/rollout.ts';
import type { FleetStore } from '../shared/fleet/store/store.ts';
import { pullTelemetry } from '../shared/fleet/telemetry-pull.ts';
import { makeClientKey } from '../test/devices/client-key.ts';
import {
  changedPlan,
  killWorkloads,
  makeZooPlan,
  openStore,
  preinstallRuntime,
  register,
  REPO,
  startDevices,
} from '../test/devices/fleet-fixture.ts';
import { stopAllSshDevices, type SshDevice } from '../test/devices/sshd-device.ts';
import { median, type BenchContext, type BenchReport, type BenchSection } from './harness.ts';

const ADDRESSES = ['127.0.0.20', '127.0.0.21', '127.0.0.22'];

function run(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} exited ${code}: ${err}`)),
    );
  });
}

/** `scp -r` of `dir` to every device at once, each pinned to its host key; milliseconds. */
async function scpToAll(
  devices: readonly SshDevice[],
  dir: string,
  work: string,
  round: number,
): Promise<number> {
  const t0 = performance.now();
  await Promise.all(
    devices.map((d) => {
      const known = join(work, `known_hosts-${d.address}`);
      const key = readFileSync(d.hostPublicKeyPath, 'utf8').trim().split(' ').slice(0, 2).join(' ');
      writeFileSync(known, `[${d.address}]:${d.port} ${key}\n`);
      return run('scp', [
        '-r',
        '-q',
        '-i',
        d.clientKeyPath,
        '-P',
        String(d.port),
        '-o',
        `UserKnownHostsFile=${known}`,
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        'BatchMode=yes',
        dir,
        `${d.user}@${d.address}:${d.root}/scp-${round}`,
      ]);
    }),
  );
  return performance.now() - t0;
}

const PHASE_LABEL: Record<RolloutPhase, string> = {
  connect: 'connect (TCP, key exchange, login)',
  status: 'agent status (+ files of an interrupted upload)',
  upload: 'SFTP upload',
  activate: 'activate (verify, delta rebuild, install, switch, health check)',
  reconcile: 'reconcile after a failure',
};

function meanPhase(r: RolloutReport, phase: RolloutPhase): number {
  return r.devices.reduce((sum, d) => sum + (d.phaseMs[phase] ?? 0), 0) / Math.max(1, r.devices.length);
}

/** Mean milliseconds per device for each phase either rollout ran. */
function phaseRows(full: RolloutReport, delta: RolloutReport): string[] {
  const mean = (r: RolloutReport, phase: RolloutPhase): number | null => {
    const values = r.devices.map((d) => d.phaseMs[phase]).filter((v): v is number => v !== undefined);
    return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / r.devices.length;
  };
  const cell = (v: number | null) => (v === null ? '' : `${(v / 1000).toFixed(2)} s`);
  return ROLLOUT_PHASES.flatMap((phase) => {
    const f = mean(full, phase);
    const d = mean(delta, phase);
    return f === null && d === null ? [] : [`| ${PHASE_LABEL[phase]} | ${cell(f)} | ${cell(d)} |`];
  });
}

async function telemetryRate(
  store: FleetStore,
  names: readonly string[],
  seconds: number,
): Promise<{ rows: number; ms: number; connectMs: number; fetchMs: number; storeMs: number }> {
  const devices = names.map((n) => unwrap(store.getDevice(n)));
  await Promise.all(devices.map((d) => withDevice(d, {}, (_c, agent) => agent.start(10)).then(unwrap)));
  try {
    await new Promise((r) => setTimeout(r, seconds * 1000));
  } finally {
    await Promise.all(devices.map((d) => withDevice(d, {}, (_c, agent) => agent.stop()).then(unwrap)));
  }
  const pulled = unwrap(await pullTelemetry(store, names));
  const mean = (f: (d: (typeof pulled.devices)[number]) => number) =>
    pulled.devices.reduce((s, d) => s + f(d), 0) / Math.max(1, pulled.devices.length);
  return {
    rows: pulled.inserted,
    ms: pulled.wallMs,
    connectMs: mean((d) => d.wallMs - d.fetchMs - d.storeMs),
    fetchMs: mean((d) => d.fetchMs),
    storeMs: pulled.devices.reduce((s, d) => s + d.storeMs, 0),
  };
}

export const fleetSection: BenchSection = {
  id: 'fleet',
  title: 'Fleet rollout to three sshd devices',
  async run(ctx: BenchContext): Promise<BenchReport> {
    const work = mkdtempSync(join(tmpdir(), 'wsep-bench-fleet-'));
    let agentRoots: string[] = [];
    try {
      const clientKey = makeClientKey(join(work, 'client'));
      const devices = await startDevices(join(work, 'devices'), ADDRESSES, clientKey);
      agentRoots = devices.map((d) => d.root);
      const store = openStore(join(work, 'store'));
      const names = devices.map((_, i) => `bench-${i + 1}`);
      for (const [i, d] of devices.entries()) {
        preinstallRuntime(d);
        register(store, d, names[i]!, { tags: ['bench'] });
        unwrap(await provisionDevice(store, names[i]!));
      }
      ctx.log('planning the ten zoo tasks (few steps)…');
      const plan1 = ctx.option('plan') ?? makeZooPlan(join(work, 'plan1'));
      const plan2 = await changedPlan(plan1, join(work, 'plan2'));
      const roots = dataRoots(undefined, REPO);

      ctx.log('rollout, full…');
      const full = unwrap(
        await runRollout(store, { bundleDir: plan1, to: 'bench', waves: '100%', roots, concurrency: 3 }),
      );
      if (full.state !== 'succeeded') throw new Error(`full rollout ${full.state}: ${full.reason}`);
      ctx.log('rollout, page delta…');
      const delta = unwrap(
        await runRollout(store, { bundleDir: plan2.dir, to: 'bench', waves: '100%', roots, concurrency: 3 }),
      );
      if (delta.state !== 'succeeded') throw new Error(`delta rollout ${delta.state}: ${delta.reason}`);
      const copy = unwrap(archivedPlan(store, full.planId));
      const copyBytes = copy.bundleBytes + copy.healthBytes;

      ctx.log('scp -r of the same plan copy…');
      const rounds = ctx.quick ? 1 : 5;
      const scpTimes: number[] = [];
      for (let r = 0; r < rounds; r++) scpTimes.push(await scpToAll(devices, copy.dir, work, r));
      const scpMs = median(scpTimes);

      ctx.log('telemetry pull…');
      const telemetry = await telemetryRate(store, names, ctx.quick ? 2 : 6);
      const rowsPerSecond = telemetry.ms > 0 ? (telemetry.rows * 1000) / telemetry.ms : 0;
      store.close();

      const perDevice = (bytes: number) => formatBytes(bytes / devices.length);
      const markdown = [
        `Ten-task zoo plan (bundle ${formatBytes(copy.bundleBytes)} + health slices ${formatBytes(copy.healthBytes)}) to ${devices.length} sshd devices on loopback, concurrency 3; the second plan has ${plan2.changedPages} of ${plan2.totalPages} pages changed.`,
        '',
        '| what | wall time | payload sent | per device |',
        '|---|---:|---:|---:|',
        `| wsep rollout, full (upload, verify, activate, health check) | ${(full.wallMs / 1000).toFixed(2)} s | ${formatBytes(full.bytesSent)} | ${perDevice(full.bytesSent)} |`,
        `| … of which on this machine first (check the bundle, cut health slices) | ${(full.prepareMs / 1000).toFixed(2)} s | | |`,
        `| … of which devices, connect to last answer | ${((full.wallMs - full.prepareMs) / 1000).toFixed(2)} s | | |`,
        `| wsep rollout, page delta (same steps) | ${(delta.wallMs / 1000).toFixed(2)} s | ${formatBytes(delta.bytesSent)} | ${perDevice(delta.bytesSent)} |`,
        `| … of which on this machine first | ${(delta.prepareMs / 1000).toFixed(2)} s | | |`,
        `| … of which devices, connect to last answer | ${((delta.wallMs - delta.prepareMs) / 1000).toFixed(2)} s | | |`,
        `| scp -r of the same plan copy (copy only, median of ${rounds}) | ${(scpMs / 1000).toFixed(2)} s | ${formatBytes(copyBytes * devices.length)} | ${formatBytes(copyBytes)} |`,
        '',
        'Per device, mean of the three (devices run in parallel, so these overlap in wall time):',
        '',
        '| phase | full | delta |',
        '|---|---:|---:|',
        ...phaseRows(full, delta),
        '',
        `Delta bytes ÷ full bytes: ${(delta.bytesSent / full.bytesSent).toFixed(3)}; delta bytes ÷ the bundle alone: ${(delta.bytesSent / (copy.bundleBytes * devices.length)).toFixed(3)}. Full rollout wall ÷ scp wall: ${(full.wallMs / scpMs).toFixed(2)}x, its upload alone ÷ scp: ${(meanPhase(full, 'upload') / scpMs).toFixed(2)}x (the rollout also verifies every hash and runs the health check on each device). Telemetry pull: ${telemetry.rows} rows in ${(telemetry.ms / 1000).toFixed(2)} s, ${Math.round(rowsPerSecond)} rows/s into SQLite; per device ${(telemetry.connectMs / 1000).toFixed(2)} s connecting and ${(telemetry.fetchMs / 1000).toFixed(2)} s in the agent's \`telemetry\` command (one batch), while the store's transactions took ${telemetry.storeMs.toFixed(0)} ms for all rows (${Math.round((telemetry.rows * 1000) / Math.max(1, telemetry.storeMs))} rows/s): the rate is the SSH and Node start-up, not SQLite.`,
      ].join('\n');
      return {
        markdown,
        figures: {
          fullWallMs: full.wallMs,
          fullBytes: full.bytesSent,
          deltaWallMs: delta.wallMs,
          deltaBytes: delta.bytesSent,
          ...Object.fromEntries(
            ROLLOUT_PHASES.flatMap((phase) => [
              [`full_${phase}Ms`, meanPhase(full, phase)],
              [`delta_${phase}Ms`, meanPhase(delta, phase)],
            ]),
          ),
          fullPrepareMs: full.prepareMs,
          deltaPrepareMs: delta.prepareMs,
          scpWallMs: scpMs,
          scpBytes: copyBytes * devices.length,
          deltaOverFullBytes: delta.bytesSent / full.bytesSent,
          fullOverScpWall: full.wallMs / scpMs,
          telemetryRows: telemetry.rows,
          telemetryRowsPerSecond: rowsPerSecond,
          telemetryStoreMs: telemetry.storeMs,
        },
      };
    } finally {
      killWorkloads(agentRoots);
      await stopAllSshDevices();
      rmSync(work, { recursive: true, force: true });
    }
  },
};
