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
import type { ProgressSink } from '../shared/core/progress.ts';
import { formatBytes } from '../shared/core/units.ts';
import { dataRoots } from '../shared/datasets/roots.ts';
import { withDevice } from '../shared/fleet/device-link.ts';
import { archivedPlan } from '../shared/fleet/plan-archive.ts';
import { provisionDevice } from '../shared/fleet/provision.ts';
import { runRollout } from '../shared/fleet/rollout.ts';
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

/**
 * The staging phase of a rollout, from its progress events: from the first device's 'staging' to the
 * last device's 'verifying' (the upload, or the delta's upload and rebuild on the device).
 */
function stagingTimer(): { sink: ProgressSink; ms: () => number } {
  let first = Infinity;
  let last = 0;
  return {
    sink: (e) => {
      if (e.stage !== 'rollout') return;
      if (e.message === 'staging') first = Math.min(first, performance.now());
      if (e.message === 'verifying') last = Math.max(last, performance.now());
    },
    ms: () => (last > first ? last - first : NaN),
  };
}

async function telemetryRate(
  store: FleetStore,
  names: readonly string[],
  seconds: number,
): Promise<{ rows: number; ms: number }> {
  const devices = names.map((n) => unwrap(store.getDevice(n)));
  await Promise.all(devices.map((d) => withDevice(d, {}, (_c, agent) => agent.start(10)).then(unwrap)));
  try {
    await new Promise((r) => setTimeout(r, seconds * 1000));
  } finally {
    await Promise.all(devices.map((d) => withDevice(d, {}, (_c, agent) => agent.stop()).then(unwrap)));
  }
  const pulled = unwrap(await pullTelemetry(store, names));
  return { rows: pulled.inserted, ms: pulled.wallMs };
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
      const fullPhases = stagingTimer();
      const full = unwrap(
        await runRollout(
          store,
          { bundleDir: plan1, to: 'bench', waves: '100%', roots, concurrency: 3 },
          { progress: fullPhases.sink },
        ),
      );
      if (full.state !== 'succeeded') throw new Error(`full rollout ${full.state}: ${full.reason}`);
      ctx.log('rollout, page delta…');
      const deltaPhases = stagingTimer();
      const delta = unwrap(
        await runRollout(
          store,
          { bundleDir: plan2.dir, to: 'bench', waves: '100%', roots, concurrency: 3 },
          { progress: deltaPhases.sink },
        ),
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
        `| … of which staging (upload with per-file hashes) | ${(fullPhases.ms() / 1000).toFixed(2)} s | | |`,
        `| wsep rollout, page delta (same steps) | ${(delta.wallMs / 1000).toFixed(2)} s | ${formatBytes(delta.bytesSent)} | ${perDevice(delta.bytesSent)} |`,
        `| … of which staging (delta upload, rebuild and check on the device) | ${(deltaPhases.ms() / 1000).toFixed(2)} s | | |`,
        `| scp -r of the same plan copy (copy only, median of ${rounds}) | ${(scpMs / 1000).toFixed(2)} s | ${formatBytes(copyBytes * devices.length)} | ${formatBytes(copyBytes)} |`,
        '',
        `Delta bytes ÷ full bytes: ${(delta.bytesSent / full.bytesSent).toFixed(3)}; delta bytes ÷ the bundle alone: ${(delta.bytesSent / (copy.bundleBytes * devices.length)).toFixed(3)}. Full rollout wall ÷ scp wall: ${(full.wallMs / scpMs).toFixed(2)}x, its staging alone ÷ scp: ${(fullPhases.ms() / scpMs).toFixed(2)}x (the rollout also verifies every hash and runs the health check on each device). Telemetry pull: ${telemetry.rows} rows in ${(telemetry.ms / 1000).toFixed(2)} s, ${Math.round(rowsPerSecond)} rows/s into SQLite.`,
      ].join('\n');
      return {
        markdown,
        figures: {
          fullWallMs: full.wallMs,
          fullBytes: full.bytesSent,
          deltaWallMs: delta.wallMs,
          deltaBytes: delta.bytesSent,
          fullStagingMs: fullPhases.ms(),
          deltaStagingMs: deltaPhases.ms(),
          scpWallMs: scpMs,
          scpBytes: copyBytes * devices.length,
          deltaOverFullBytes: delta.bytesSent / full.bytesSent,
          fullOverScpWall: full.wallMs / scpMs,
          telemetryRows: telemetry.rows,
          telemetryRowsPerSecond: rowsPerSecond,
        },
      };
    } finally {
      killWorkloads(agentRoots);
      await stopAllSshDevices();
      rmSync(work, { recursive: true, force: true });
    }
  },
};
