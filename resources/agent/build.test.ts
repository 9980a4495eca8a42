/**
 * The BUILT agent (one .mjs file) run with `node` as a device runs it: a temp root laid out as
 * provisioning lays it out (bin/wsep-agent.mjs, node_modules/onnxruntime-node linked to the repo's
 * copy), plans staged as a rollout stages them (bundle files + health/), every command through its
 * JSON reply and exit code.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statfsSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTempDir } from '../../shared/core/testing-temp.ts';
import { writeNpy } from '../../shared/datasets/decode/npy.ts';
import { DEFAULT_DATA_ROOT } from '../../shared/datasets/load.ts';
import {
  AGENT_EXIT,
  decodeAgentReply,
  type ActivateResult,
  type AgentInfo,
  type AgentReply,
  type AgentStatus,
  type ApplyDeltaResult,
  type BenchResult,
  type EvalResult,
  type RunResult,
  type StagedFile,
  type StartResult,
  type StopResult,
  type TelemetryBatch,
  type TelemetryRecord,
  type VerifyResult,
} from '../../shared/fleet/protocol.ts';
import { diffBundles, writeDelta } from '../../shared/image/diff.ts';
import { sha256Hex } from '../../shared/image/hash.ts';
import {
  buildHealthSlices,
  encodeHealthManifest,
  readHealthManifest,
} from '../../shared/runtime/health-slice.ts';
import { rawSample, taskBundle } from '../../shared/runtime/testing.ts';
import { mountTmpfs, unmountAll } from '../../test/devices/tmpfs.ts';
import { buildAgent } from './build.ts';

const tmp = useTempDir('agent-built');
const root = join(tmp, 'device');
const agentFile = join(root, 'bin', 'wsep-agent.mjs');
const REPO_MODULES = new URL('../../node_modules/', import.meta.url).pathname;

interface Ran<T> {
  readonly code: number | null;
  readonly reply: AgentReply<T>;
  readonly stderr: string;
}

function agent<T>(...args: string[]): Ran<T> {
  return agentAt<T>(root, ...args);
}

function agentAt<T>(root: string, ...args: string[]): Ran<T> {
  const file = join(root, 'bin', 'wsep-agent.mjs');
  const r = spawnSync(process.execPath, [file, '--root', root, ...args, '--json'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  const decoded = decodeAgentReply(r.stdout);
  if (!decoded.ok)
    throw new Error(`${args.join(' ')}: ${decoded.error.message}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return { code: r.status, reply: decoded.value as AgentReply<T>, stderr: r.stderr };
}

function value<T>(ran: Ran<T>): T {
  if (!ran.reply.ok) throw new Error(`agent failed (exit ${ran.code}): ${ran.reply.error.message}`);
  expect(ran.code).toBe(AGENT_EXIT.ok);
  return ran.reply.value;
}

function failure<T>(ran: Ran<T>, exit: number) {
  expect(ran.code).toBe(exit);
  if (ran.reply.ok) throw new Error('expected a failure');
  return ran.reply.error;
}

/** A bundle with its health slices, as the store keeps it. */
async function plan(name: string, shift: number): Promise<{ dir: string; planId: string }> {
  const dir = join(tmp, name);
  await taskBundle(dir, (p) => ({
    ...p,
    models: p.models.map((m) => ({
      ...m,
      accuracy: { ...m.accuracy, val: { ...m.accuracy.val, before: m.accuracy.val.before + shift } },
    })),
  }));
  const built = await buildHealthSlices(dir, [DEFAULT_DATA_ROOT], join(dir, 'health'), { samples: 32 });
  if (!built.ok) throw new Error(built.error.message);
  return { dir, planId: built.value.planId };
}

function stage(from: string, planId: string): string {
  const to = join(root, 'staging', planId);
  rmSync(to, { recursive: true, force: true });
  cpSync(from, to, { recursive: true });
  return to;
}

async function waitFor<T>(what: string, probe: () => T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = probe();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let A: { dir: string; planId: string };
let B: { dir: string; planId: string };
let built: { bytes: number };

beforeAll(async () => {
  const out = await buildAgent(join(tmp, 'build', 'wsep-agent.mjs'));
  if (!out.ok) throw new Error(out.error.message);
  built = out.value;
  mkdirSync(join(root, 'bin'), { recursive: true });
  copyFileSync(out.value.file, agentFile);
  A = await plan('plan-a', 0);
  B = await plan('plan-b', 0.001);
});

afterAll(async () => {
  await unmountAll();
  // Never leave a workload running, whatever failed.
  const pid = Number(
    existsSync(join(root, 'run', 'workload.pid'))
      ? readFileSync(join(root, 'run', 'workload.pid'), 'utf8')
      : 0,
  );
  if (pid > 0)
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
});

describe('the built agent', () => {
  it('is one file that loads without onnxruntime and says so', () => {
    expect(built.bytes).toBeGreaterThan(10_000);
    expect(built.bytes).toBeLessThan(4 * 1024 * 1024);
    const v = value(agent<AgentInfo>('info'));
    expect(v.onnxruntime).toBeNull();
    expect(v).toMatchObject({
      kind: 'linux',
      activePlan: null,
      previousPlan: null,
      platform: process.platform,
    });
    expect(v.level1Bytes).toBeGreaterThan(v.level1FreeBytes);
    expect(v.level2Bytes).toBeGreaterThan(0);
  });

  it('reports onnxruntime once node_modules holds it, as provisioning installs it', () => {
    mkdirSync(join(root, 'node_modules'), { recursive: true });
    for (const pkg of ['onnxruntime-node', 'onnxruntime-common'])
      symlinkSync(join(REPO_MODULES, pkg), join(root, 'node_modules', pkg));
    writeFileSync(join(root, 'agent.json'), JSON.stringify({ kind: 'linux' }));
    const v = value(agent<AgentInfo>('info'));
    expect(v.onnxruntime).toMatch(/^\d+\.\d+\.\d+/);
    expect(v.kind).toBe('linux');
    // A gateway whose firmware and board files never arrived says so, pointing at provisioning.
    writeFileSync(join(root, 'agent.json'), JSON.stringify({ kind: 'mcu-gateway' }));
    const missing = failure(agent('info'), AGENT_EXIT.failed);
    expect(missing.code).toBe('E_DEVICE');
    expect(missing.hint).toMatch(/wsep devices provision/);
    writeFileSync(join(root, 'agent.json'), JSON.stringify({ kind: 'mcu-gateway', mcu: { command: 7 } }));
    expect(failure(agent('info'), AGENT_EXIT.failed).message).toContain('"command" is not a string');
    rmSync(join(root, 'agent.json'));
  });

  it('answers usage errors, unknown plans and an empty root with their exit codes', () => {
    expect(failure(agent('frobnicate'), AGENT_EXIT.usage).code).toBe('E_USAGE');
    expect(failure(agent('verify', '../../etc'), AGENT_EXIT.usage).code).toBe('E_USAGE');
    expect(failure(agent('activate', A.planId, '--tolerance', 'lots'), AGENT_EXIT.usage).code).toBe(
      'E_USAGE',
    );
    expect(failure(agent('verify', A.planId), AGENT_EXIT.notFound).code).toBe('E_NOT_FOUND');
    expect(failure(agent('rollback'), AGENT_EXIT.notFound).code).toBe('E_NOT_FOUND');
    expect(failure(agent('eval'), AGENT_EXIT.notFound).code).toBe('E_NOT_FOUND');
    const human = spawnSync(process.execPath, [agentFile, '--root', root, 'status'], { encoding: 'utf8' });
    expect(human.status).toBe(0);
    expect(human.stdout).toContain('active plan none');
  });

  it('lists complete staged files with their hashes, leaving out unfinished uploads', () => {
    const dir = stage(A.dir, A.planId);
    writeFileSync(join(dir, 'exclusive', 'next.bin.part'), 'half');
    const files = value(agent<StagedFile[]>('files', A.planId));
    const manifest = files.find((f) => f.path === 'manifest.json')!;
    expect(manifest.sha256).toBe(sha256Hex(readFileSync(join(A.dir, 'manifest.json'))));
    expect(files.some((f) => f.path === 'health/health.json')).toBe(true);
    expect(files.some((f) => f.path.endsWith('.part'))).toBe(false);
    expect(value(agent<StagedFile[]>('files', B.planId))).toEqual([]);
    // status --plan answers the same in the command a rollout runs anyway.
    const s = value(agent<AgentStatus>('status', '--plan', A.planId));
    expect(s.files).toEqual({ planId: A.planId, files });
    expect(s.busy).toBe(false);
    expect(value(agent<AgentStatus>('status')).files).toBeUndefined();
    expect(failure(agent('status', '--plan', 'not-a-plan'), AGENT_EXIT.usage).code).toBe('E_USAGE');
  });

  it('says busy while a live process holds the lock, and not once its holder is gone', async () => {
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      mkdirSync(join(root, 'run'), { recursive: true });
      writeFileSync(join(root, 'run', 'agent.lock'), `${holder.pid}\n`);
      expect(value(agent<AgentStatus>('status')).busy).toBe(true);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('exit', r));
    }
    expect(value(agent<AgentStatus>('status')).busy).toBe(false);
    rmSync(join(root, 'run', 'agent.lock'), { force: true });
  });

  it('verifies a staged plan, and refuses a corrupted one with exit 3', () => {
    const v = value(agent<VerifyResult>('verify', A.planId));
    expect(v).toMatchObject({ planId: A.planId, location: 'staging', healthModels: 2 });
    const dir = stage(B.dir, B.planId);
    const shared = join(dir, 'shared.bin');
    const bytes = readFileSync(shared);
    bytes[7] = bytes[7]! ^ 0xff;
    writeFileSync(shared, bytes);
    const error = failure(agent('verify', B.planId), AGENT_EXIT.verifyFailed);
    expect(error.code).toBe('E_BUNDLE_CORRUPT');
    expect(error.message).toContain('shared.bin');
    expect(failure(agent('activate', B.planId), AGENT_EXIT.verifyFailed).code).toBe('E_BUNDLE_CORRUPT');
    rmSync(dir, { recursive: true });
  });

  it('activates a plan after its health check, and evaluates and runs it', () => {
    const v = value(agent<ActivateResult>('activate', A.planId));
    expect(v).toMatchObject({
      planId: A.planId,
      active: A.planId,
      previous: null,
      rolledBack: false,
      unchanged: false,
    });
    expect(v.health?.passed).toBe(true);
    expect(v.health?.models.map((m) => m.model)).toEqual(['digits8x8', 'wall_following']);
    const s = value(agent<AgentStatus>('status'));
    expect(s).toMatchObject({ activePlan: A.planId, previousPlan: null, plans: [A.planId], staged: [] });
    expect(value(agent<ActivateResult>('activate', A.planId)).unchanged).toBe(true);

    const e = value(agent<EvalResult>('eval'));
    expect(e.passed).toBe(true);
    for (const m of e.models) expect(m.measured).toBe(m.expected);

    const sample = rawSample('digits8x8', 'test', 0);
    const input = join(tmp, 'sample.npy');
    writeFileSync(input, writeNpy({ dtype: 'float32', shape: sample.storedShape, values: sample.values }));
    const r = value(agent<RunResult>('run', 'digits8x8', '--input', input, '--top', '3'));
    expect(r.top).toHaveLength(3);
    expect(r.top[0]).toEqual(r.predicted);
    expect(r.top[0]!.score).toBeGreaterThanOrEqual(r.top[1]!.score);
    expect(failure(agent('run', 'nope', '--input', input), AGENT_EXIT.notFound).message).toContain('"nope"');
  });

  it('runs the workload in the background and serves its telemetry by cursor', async () => {
    const started = value(agent<StartResult>('start', '--interval-ms', '20'));
    expect(started.alreadyRunning).toBe(false);
    expect(value(agent<StartResult>('start')).alreadyRunning).toBe(true);
    await waitFor('six telemetry records', () => {
      const s = value(agent<AgentStatus>('status'));
      return s.telemetry.lastSeq >= 6 ? s : undefined;
    });
    const first = value(agent<TelemetryBatch>('telemetry', '--since', '0', '--limit', '4'));
    expect(first.records.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(first).toMatchObject({ cursor: 4, lost: 0, more: true });
    const rest = value(agent<TelemetryBatch>('telemetry', '--since', String(first.cursor)));
    expect(rest.records[0]!.seq).toBe(5);
    const records: TelemetryRecord[] = [...first.records, ...rest.records];
    const task = records.find((r) => r.kind === 'task' && r.model === 'wall_following');
    const device = records.find((r) => r.kind === 'device');
    expect(task).toMatchObject({ planId: A.planId, samples: 32 });
    expect(device).toMatchObject({ planId: A.planId, errors: 0 });
    if (device?.kind === 'device') expect(device.level1ResidentBytes).toBeGreaterThan(0);
  });

  it('rolls back by itself when the health check fails, naming the model (exit 4)', () => {
    const dir = stage(B.dir, B.planId);
    const health = readHealthManifest(join(dir, 'health'));
    if (!health.ok) throw new Error(health.error.message);
    const raised = {
      ...health.value,
      models: health.value.models.map((m, i) =>
        i === 0 ? { ...m, expectedAccuracy: m.expectedAccuracy + 0.1 } : m,
      ),
    };
    writeFileSync(join(dir, 'health', 'health.json'), encodeHealthManifest(raised));
    const error = failure(agent('activate', B.planId), AGENT_EXIT.healthFailed);
    expect(error.code).toBe('E_HEALTH');
    expect(error.message).toContain('"digits8x8"');
    expect(error.details).toMatchObject({ planId: B.planId, active: A.planId, rolledBack: true });
    const s = value(agent<AgentStatus>('status'));
    expect(s).toMatchObject({ activePlan: A.planId, plans: [A.planId], staged: [B.planId] });
    rmSync(dir, { recursive: true });
  });

  it('rebuilds a plan from the active one and a page delta, and the workload follows the switch', async () => {
    const delta = await diffBundles(A.dir, B.dir);
    if (!delta.ok) throw new Error(delta.error.message);
    const deltaDir = join(root, 'staging', `${B.planId}.delta`);
    const written = writeDelta(delta.value, deltaDir);
    if (!written.ok) throw new Error(written.error.message);
    // Only health.json travels: the slices are the same tasks' as the base plan's, found there by hash.
    mkdirSync(join(deltaDir, 'health'));
    copyFileSync(join(B.dir, 'health', 'health.json'), join(deltaDir, 'health', 'health.json'));
    const applied = value(agent<ApplyDeltaResult>('apply-delta', B.planId, '--base', A.planId));
    expect(applied).toMatchObject({ planId: B.planId, basePlanId: A.planId, files: 11 });
    expect(existsSync(deltaDir)).toBe(false);
    expect(value(agent<VerifyResult>('verify', B.planId)).location).toBe('staging');

    const v = value(agent<ActivateResult>('activate', B.planId, '--tolerance', '0'));
    expect(v).toMatchObject({ active: B.planId, previous: A.planId, rolledBack: false });
    const s = value(agent<AgentStatus>('status'));
    expect(s).toMatchObject({ activePlan: B.planId, previousPlan: A.planId, staged: [] });
    expect([...s.plans].sort()).toEqual([A.planId, B.planId].sort());

    let cursor = 0;
    await waitFor('a record of the new plan', () => {
      const batch = value(agent<TelemetryBatch>('telemetry', '--since', String(cursor)));
      cursor = batch.cursor;
      return batch.records.find((r) => r.planId === B.planId);
    });
    const stopped = value(agent<StopResult>('stop'));
    expect(stopped.stopped).toBe(true);
    expect(value(agent<AgentStatus>('status')).workload).toBeNull();
    expect(value(agent<StopResult>('stop'))).toEqual({ pid: null, stopped: false });
    // Every record, read once, in order, nothing lost.
    const all = value(agent<TelemetryBatch>('telemetry', '--since', '0', '--limit', '100000'));
    expect(all.lost).toBe(0);
    expect(all.records.map((r) => r.seq)).toEqual(all.records.map((_, i) => i + 1));
  });

  it('rolls back to the previous plan and forward again', () => {
    const back = value(agent<ActivateResult>('rollback'));
    expect(back).toMatchObject({ planId: A.planId, active: A.planId, previous: B.planId });
    expect(back.health?.passed).toBe(true);
    const forward = value(agent<ActivateResult>('rollback'));
    expect(forward).toMatchObject({ active: B.planId, previous: A.planId });
  });

  it('benches paged switching against loading each model from storage', () => {
    const b = value(agent<BenchResult>('bench', '--rounds', '3'));
    expect(b).toMatchObject({ planId: B.planId, rounds: 3 });
    expect(b.models.map((m) => m.model)).toEqual(['digits8x8', 'wall_following']);
    for (const m of b.models) {
      expect(m.switchMs).toBeGreaterThan(0);
      expect(m.loadMs).toBeGreaterThan(0);
      expect(m.loadBytesRead).toBeGreaterThan(m.switchBytesRead);
    }
    expect(existsSync(join(root, 'run', `bench-${process.pid}`))).toBe(false);
  });
});

describe.runIf(process.getuid?.() === 0)('the built agent on a full disk', () => {
  it('answers exit 6 (E_DISK_FULL) when a delta does not fit, and keeps the device on its plan', async () => {
    const small = join(tmp, 'small-device');
    await mountTmpfs(small, 2 * 1024 * 1024);
    mkdirSync(join(small, 'bin'));
    copyFileSync(agentFile, join(small, 'bin', 'wsep-agent.mjs'));
    mkdirSync(join(small, 'node_modules'));
    for (const pkg of ['onnxruntime-node', 'onnxruntime-common'])
      symlinkSync(join(REPO_MODULES, pkg), join(small, 'node_modules', pkg));
    cpSync(A.dir, join(small, 'staging', A.planId), { recursive: true });
    expect(value(agentAt<ActivateResult>(small, 'activate', A.planId)).active).toBe(A.planId);
    const delta = await diffBundles(A.dir, B.dir);
    if (!delta.ok) throw new Error(delta.error.message);
    const deltaDir = join(small, 'staging', `${B.planId}.delta`);
    if (!writeDelta(delta.value, deltaDir).ok) throw new Error('cannot write the delta');
    cpSync(join(B.dir, 'health'), join(deltaDir, 'health'), { recursive: true });
    // Fill the disk to within a few KiB, as a device whose eMMC filled up.
    const { bavail, bsize } = statfsSync(small);
    writeFileSync(join(small, 'filler'), Buffer.alloc(Math.max(0, bavail * bsize - 8192)));
    const error = failure(agentAt(small, 'apply-delta', B.planId, '--base', A.planId), AGENT_EXIT.diskFull);
    expect(error.code).toBe('E_DISK_FULL');
    expect(error.message).toContain(small);
    expect(error.hint).toMatch(/Free space/);
    rmSync(join(small, 'filler'));
    const s = value(agentAt<AgentStatus>(small, 'status'));
    expect(s).toMatchObject({ activePlan: A.planId, staged: [] });
    expect(readdirSync(join(small, 'staging')).filter((n) => n.startsWith('.'))).toEqual([]);
  });
});
