/**
 * The background workload: a detached agent process (the hidden `workload` command) that cycles over
 * the active plan's models, runs each on its health slice in small batches, and appends telemetry. It
 * re-reads `current` every cycle, so an activation or a rollback takes effect without a restart.
 *
 * `start` spawns it and writes `run/workload.pid` (the pid alone, as systemd's PIDFile= expects; the
 * file's time is when it started); `stop` signals it and waits until it has exited. A pid whose
 * process is gone, a zombie, or another program (pid reuse) counts as not running.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { ok, type Result } from '../../../shared/core/errors.ts';
import type { StartResult, StopResult, WorkloadStatus } from '../../../shared/fleet/protocol.ts';
import type { Split } from '../../../shared/datasets/types.ts';
import { healthInputs, readHealthSlices, type HealthSlices } from '../../../shared/runtime/health-slice.ts';
import { PagedRuntime } from '../../../shared/runtime/runtime.ts';
import { writeFileSynced } from '../../../shared/core/durable-fs.ts';
import { gatewayOf } from './activation.ts';
import { appendTelemetry, runOnGateway, type Gateway } from './gateway.ts';
import type { AgentRoot } from './layout.ts';
import { withRootLock } from './lock.ts';
import { TelemetryWriter, type NewTelemetry, type TelemetryLogOptions } from './telemetry-log.ts';

export const DEFAULT_INTERVAL_MS = 5000;
/** Samples per inference call: small, so one model never holds the CPU for long. */
const BATCH = 16;
const STOP_WAIT_MS = 10_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether `pid` is a live (not zombie) agent workload process. */
function isWorkload(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (thrown) {
    return (thrown as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ..."; Z is a zombie (exited, not yet reaped by its parent).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmdline.includes('workload');
  } catch {
    return true; // no /proc (not Linux): trust kill(pid, 0)
  }
}

export function readWorkload(root: AgentRoot): WorkloadStatus | null {
  let text: string;
  let startedAt: string;
  try {
    text = readFileSync(root.pidFile, 'utf8');
    startedAt = statSync(root.pidFile).mtime.toISOString();
  } catch {
    return null;
  }
  const pid = Number(text.trim());
  if (!Number.isSafeInteger(pid) || pid <= 0) return null;
  return { running: isWorkload(pid), pid, startedAt };
}

export interface WorkloadOptions extends TelemetryLogOptions {
  readonly intervalMs?: number;
}

export function workloadArgs(options: WorkloadOptions): string[] {
  const args: string[] = [];
  if (options.intervalMs !== undefined) args.push('--interval-ms', String(options.intervalMs));
  if (options.capBytes !== undefined) args.push('--telemetry-cap', String(options.capBytes));
  if (options.keepSegments !== undefined) args.push('--telemetry-keep', String(options.keepSegments));
  return args;
}

/** Starts the loop in a detached process running `agentFile` (this very agent). */
export function startWorkload(
  root: AgentRoot,
  agentFile: string,
  options: WorkloadOptions,
): Result<StartResult> {
  root.ensure();
  const running = readWorkload(root);
  if (running?.running) return ok({ pid: running.pid, startedAt: running.startedAt, alreadyRunning: true });
  const log = openSync(root.path('run', 'workload.log'), 'a');
  try {
    const child = spawn(
      process.execPath,
      [...process.execArgv, agentFile, '--root', root.root, 'workload', ...workloadArgs(options)],
      { detached: true, stdio: ['ignore', log, log] },
    );
    child.unref();
    const pid = child.pid!;
    writePidFile(root, pid);
    return ok({ pid, startedAt: statSync(root.pidFile).mtime.toISOString(), alreadyRunning: false });
  } finally {
    closeSync(log);
  }
}

export function writePidFile(root: AgentRoot, pid: number): void {
  const temp = `${root.pidFile}.${process.pid}.tmp`;
  writeFileSynced(temp, Buffer.from(`${pid}\n`));
  renameSync(temp, root.pidFile);
}

export async function stopWorkload(root: AgentRoot): Promise<Result<StopResult>> {
  const state = readWorkload(root);
  if (!state?.running) {
    rmSync(root.pidFile, { force: true });
    return ok({ pid: null, stopped: false });
  }
  process.kill(state.pid, 'SIGTERM');
  const deadline = Date.now() + STOP_WAIT_MS;
  while (isWorkload(state.pid) && Date.now() < deadline) await sleep(25);
  if (isWorkload(state.pid)) {
    process.kill(state.pid, 'SIGKILL');
    while (isWorkload(state.pid)) await sleep(25);
  }
  rmSync(root.pidFile, { force: true });
  return ok({ pid: state.pid, stopped: true });
}

interface OpenPlan {
  readonly planId: string;
  readonly runtime: PagedRuntime;
  readonly health: HealthSlices;
  /** Each model's slice as model input, decoded once per opened plan. */
  readonly inputs: ReadonlyMap<string, Split>;
}

async function openPlan(root: AgentRoot, planId: string): Promise<OpenPlan | string> {
  const dir = root.planDir(planId);
  const health = readHealthSlices(root.healthDir(dir));
  if (!health.ok) return health.error.message;
  const runtime = await PagedRuntime.open(dir, { sessions: 'lazy' });
  if (!runtime.ok) return runtime.error.message;
  const inputs = healthInputs(runtime.value, health.value);
  if (!inputs.ok) {
    await runtime.value.close();
    return inputs.error.message;
  }
  return { planId, runtime: runtime.value, health: health.value, inputs: inputs.value };
}

/** The loop itself (the hidden `workload` command); returns when SIGTERM or SIGINT arrives. */
export async function runWorkload(
  root: AgentRoot,
  options: WorkloadOptions,
): Promise<Result<{ windows: number }>> {
  const gw = gatewayOf(root);
  if (!gw.ok) return gw;
  if (gw.value) return runGatewayWorkload(root, gw.value, options);
  const writer = TelemetryWriter.open(root.telemetryDir, options);
  if (!writer.ok) return writer;
  // The loop names itself in the pid file, so `status` and `stop` also see a loop systemd started.
  writePidFile(root, process.pid);
  const log = writer.value;
  const interval = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  let stopping = false;
  let wake: (() => void) | undefined;
  const stop = (): void => {
    stopping = true;
    wake?.();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  let open: OpenPlan | undefined;
  let window = 0;
  let errors = 0;
  const now = (): string => new Date().toISOString();
  // A full disk must not stop the loop: the record is dropped and counted, the next one may fit.
  const append = (record: NewTelemetry): void => {
    try {
      log.append(record);
    } catch (thrown) {
      errors++;
      process.stderr.write(`${now()} cannot append telemetry: ${(thrown as Error).message}\n`);
    }
  };
  try {
    while (!stopping) {
      const planId = root.linked('current');
      if (open && open.planId !== planId) {
        await open.runtime.close();
        open = undefined;
      }
      if (planId && !open) {
        const opened = await openPlan(root, planId);
        if (typeof opened === 'string') {
          errors++;
          process.stderr.write(`${now()} cannot open plan ${planId}: ${opened}\n`);
        } else open = opened;
      }
      if (open) {
        let bytesRead = 0;
        for (const m of open.health.manifest.models) {
          if (stopping) break;
          const slice = open.inputs.get(m.model)!;
          const switched = await open.runtime.switchTo(m.model);
          if (!switched.ok) {
            errors++;
            continue;
          }
          bytesRead += switched.value.bytesRead;
          const t0 = performance.now();
          const predicted = await open.runtime.predict(slice, BATCH);
          const inferMs = performance.now() - t0;
          if (!predicted.ok) {
            errors++;
            continue;
          }
          append({
            time: now(),
            kind: 'task',
            planId: open.planId,
            model: m.model,
            window,
            samples: slice.n,
            accuracy: predicted.value.accuracy,
            switchMs: switched.value.totalMs,
            inferMs,
          });
        }
        const memory = open.runtime.memory();
        append({
          time: now(),
          kind: 'device',
          planId: open.planId,
          level1ResidentBytes: memory.level1.total,
          level2BytesRead: bytesRead,
          rssBytes: memory.rss,
          errors,
        });
        errors = 0;
        window++;
      }
      if (!stopping)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, interval);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
    }
  } finally {
    await open?.runtime.close();
    log.close();
    if (readWorkload(root)?.pid === process.pid) rmSync(root.pidFile, { force: true });
  }
  return ok({ windows: window });
}

/**
 * The loop on an MCU gateway: every interval, the microcontroller runs the active plan's export once
 * (each task on its health-slice prefix) and the UART report is appended as telemetry. The log is
 * opened per cycle under the root's lock, because an activation writes its health run there too; a
 * stop kills a running MCU by its pid (the abort signal) before the loop exits.
 */
async function runGatewayWorkload(
  root: AgentRoot,
  gw: Gateway,
  options: WorkloadOptions,
): Promise<Result<{ windows: number }>> {
  writePidFile(root, process.pid);
  const interval = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  const controller = new AbortController();
  let stopping = false;
  let wake: (() => void) | undefined;
  const stop = (): void => {
    stopping = true;
    controller.abort();
    wake?.();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  let window = 0;
  let errors = 0;
  const now = (): string => new Date().toISOString();
  const pause = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  try {
    while (!stopping) {
      const planId = root.linked('current');
      if (planId) {
        const ran = await runOnGateway(root, gw, planId, { window, signal: controller.signal });
        if (stopping) break;
        if (!ran.ok) {
          errors++;
          process.stderr.write(`${now()} the MCU run of plan ${planId} failed: ${ran.error.message}\n`);
        } else {
          const records = ran.value.records.map((r) => (r.kind === 'device' ? { ...r, errors } : r));
          for (;;) {
            const written = await withRootLock(root, async () => appendTelemetry(root, records, options));
            if (written.ok) {
              errors = 0;
              window++;
              break;
            }
            if (written.error.code !== 'E_DEVICE' || stopping) {
              errors++;
              process.stderr.write(`${now()} cannot append telemetry: ${written.error.message}\n`);
              break;
            }
            await pause(200); // an activation holds the lock; its health run ends soon
          }
        }
      }
      if (!stopping) await pause(interval);
    }
  } finally {
    if (readWorkload(root)?.pid === process.pid) rmSync(root.pidFile, { force: true });
  }
  return ok({ windows: window });
}
