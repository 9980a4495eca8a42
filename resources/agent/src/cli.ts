/**
 * The agent's command line: `wsep-agent --root <root> <command> [args] [--json]`. With --json, stdout is
 * exactly one reply line (protocol.ts) and the exit code is one of AGENT_EXIT; without it, a short text
 * for a person at the device's shell. Returns what to print instead of printing, so tests can run
 * commands in-process and main.ts alone touches the process.
 */
import { existsSync } from 'node:fs';
import { dirname, basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { fail, ok, type Result, type WsepError } from '../../../shared/core/errors.ts';
import { formatBytes } from '../../../shared/core/units.ts';
import {
  AGENT_EXIT,
  AGENT_VERSION,
  type ActivateResult,
  type AgentCommand,
  type AgentInfo,
  type AgentReply,
  type AgentStatus,
  type BenchResult,
  type HealthResult,
  type RunResult,
  type StagedFile,
  type TelemetryBatch,
  type VerifyResult,
} from '../../../shared/fleet/protocol.ts';
import { activate, rollback } from './activation.ts';
import { bench } from './bench.ts';
import { info, status } from './device-info.ts';
import { asDiskFull, exitCodeFor, thrownError } from './exit-codes.ts';
import { evaluateActive, runModel } from './inference.ts';
import { AgentRoot, checkPlanId } from './layout.ts';
import { withRootLock } from './lock.ts';
import { applyStagedDelta, stagedFiles, verifyPlan } from './staging.ts';
import { readTelemetry } from './telemetry-log.ts';
import { runWorkload, startWorkload, stopWorkload, type WorkloadOptions } from './workload.ts';

type Command = AgentCommand | 'workload';

interface CommandSpec {
  readonly args: readonly string[];
  readonly flags: readonly string[];
  readonly summary: string;
}

const WORKLOAD_FLAGS = ['interval-ms', 'telemetry-cap', 'telemetry-keep'];

const COMMANDS: Readonly<Record<Command, CommandSpec>> = {
  info: { args: [], flags: [], summary: 'the device: kind, memory, disk, versions, plans' },
  status: {
    args: [],
    flags: ['plan'],
    summary: 'plans, uploads, the workload, the telemetry position, busy (with --plan: its upload files)',
  },
  files: { args: ['planId'], flags: [], summary: 'complete files of an upload with their hashes' },
  'apply-delta': {
    args: ['planId'],
    flags: ['base'],
    summary: 'rebuild a staged plan from an installed one and a delta',
  },
  verify: { args: ['planId'], flags: [], summary: 'check every hash of a staged or installed plan' },
  activate: {
    args: ['planId'],
    flags: ['tolerance', 'base'],
    summary: 'switch to a plan, health-checked (rolls back by itself); --base: apply its delta first',
  },
  rollback: { args: [], flags: ['tolerance'], summary: 'switch back to the previous plan, health-checked' },
  eval: { args: [], flags: ['tolerance'], summary: 'the active plan on its on-device test slices' },
  run: { args: ['model'], flags: ['input', 'top'], summary: 'classify one input file with one model' },
  bench: { args: [], flags: ['rounds'], summary: 'paged switching vs loading models, on this device' },
  telemetry: { args: [], flags: ['since', 'limit'], summary: 'telemetry records after a cursor' },
  start: { args: [], flags: WORKLOAD_FLAGS, summary: 'start the workload loop in the background' },
  stop: { args: [], flags: [], summary: 'stop the workload loop' },
  workload: { args: [], flags: WORKLOAD_FLAGS, summary: '(the loop itself; started by start)' },
};

const STRING_FLAGS = [
  'root',
  'plan',
  'base',
  'tolerance',
  'input',
  'top',
  'rounds',
  'since',
  'limit',
  ...WORKLOAD_FLAGS,
];

export interface AgentOutput {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export const usageText = (): string =>
  [
    `wsep-agent ${AGENT_VERSION}: runs WeightSep plans on this device.`,
    'Usage: node wsep-agent.mjs --root <root> <command> [args] [--json]',
    ...Object.entries(COMMANDS)
      .filter(([name]) => name !== 'workload')
      .map(
        ([name, s]) =>
          `  ${[name, ...s.args.map((a) => `<${a}>`), ...s.flags.map((f) => `[--${f} …]`)].join(' ')}  — ${s.summary}`,
      ),
  ].join('\n');

/** The root when --root is absent: the folder above bin/ when the agent runs from <root>/bin/. */
function defaultRoot(): string | undefined {
  if (process.env.WSEP_AGENT_ROOT) return process.env.WSEP_AGENT_ROOT;
  const here = dirname(fileURLToPath(import.meta.url));
  return basename(here) === 'bin' ? dirname(here) : undefined;
}

const usage = (message: string): Result<never> =>
  fail('E_USAGE', message, 'Run wsep-agent --help for the commands.');

function whole(flag: string, text: string | undefined, min: number): Result<number | undefined> {
  if (text === undefined) return ok(undefined);
  const n = Number(text);
  return Number.isSafeInteger(n) && n >= min
    ? ok(n)
    : usage(`--${flag} must be a whole number ≥ ${min}, got "${text}".`);
}

function points(text: string | undefined): Result<number | undefined> {
  if (text === undefined) return ok(undefined);
  const n = Number(text);
  return text.trim() !== '' && Number.isFinite(n) && n >= 0 && n <= 100
    ? ok(n)
    : usage(`--tolerance must be a number of points from 0 to 100, got "${text}".`);
}

interface Parsed {
  readonly command: Command;
  readonly json: boolean;
  readonly root: AgentRoot;
  readonly args: readonly string[];
  readonly flags: Readonly<Record<string, string | undefined>>;
}

function parse(argv: readonly string[]): Result<Parsed | 'help' | 'version'> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
        ...Object.fromEntries(STRING_FLAGS.map((f) => [f, { type: 'string' as const }])),
      },
    });
  } catch (thrown) {
    return usage(`${(thrown as Error).message.replace(/\.$/, '')}.`);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) return ok('help');
  if (values.version) return ok('version');
  const [name, ...args] = parsed.positionals;
  if (name === undefined) return usage('No command given.');
  if (!(name in COMMANDS)) return usage(`"${name}" is not a wsep-agent command.`);
  const command = name as Command;
  const spec = COMMANDS[command];
  if (args.length !== spec.args.length)
    return usage(
      `${command} takes ${spec.args.length === 0 ? 'no arguments' : spec.args.map((a) => `<${a}>`).join(' ')}, got ${args.length}.`,
    );
  const stray = STRING_FLAGS.filter(
    (f) => f !== 'root' && values[f] !== undefined && !spec.flags.includes(f),
  );
  if (stray.length > 0) return usage(`${command} does not take --${stray[0]}.`);
  const rootText = (values.root as string | undefined) ?? defaultRoot();
  if (rootText === undefined || rootText === '')
    return usage('No --root given (the folder the agent keeps plans in).');
  const flags: Record<string, string | undefined> = {};
  for (const f of spec.flags) flags[f] = values[f] as string | undefined;
  return ok({ command, json: values.json === true, root: new AgentRoot(resolve(rootText)), args, flags });
}

function workloadOptions(flags: Parsed['flags']): Result<WorkloadOptions> {
  const interval = whole('interval-ms', flags['interval-ms'], 10);
  if (!interval.ok) return interval;
  const cap = whole('telemetry-cap', flags['telemetry-cap'], 256);
  if (!cap.ok) return cap;
  const keep = whole('telemetry-keep', flags['telemetry-keep'], 1);
  if (!keep.ok) return keep;
  return ok({
    ...(interval.value !== undefined ? { intervalMs: interval.value } : {}),
    ...(cap.value !== undefined ? { capBytes: cap.value } : {}),
    ...(keep.value !== undefined ? { keepSegments: keep.value } : {}),
  });
}

async function dispatch(p: Parsed): Promise<Result<unknown>> {
  const { root, args, flags } = p;
  root.ensure();
  const tolerance = points(flags.tolerance);
  if (!tolerance.ok) return tolerance;
  switch (p.command) {
    case 'info':
      return info(root);
    case 'status':
      return status(root, flags.plan);
    case 'files':
      return stagedFiles(root, args[0]!);
    case 'apply-delta': {
      if (flags.base === undefined)
        return usage('apply-delta needs --base <basePlanId>, the installed plan the delta was made from.');
      const base = flags.base;
      return withRootLock(root, () => applyStagedDelta(root, args[0]!, base));
    }
    case 'verify':
      return verifyPlan(root, args[0]!);
    case 'activate': {
      // With --base, one command (one lock, one session) rebuilds the plan from its delta and activates
      // it; a delta already applied (an earlier attempt) is not there any more, and is not needed.
      const base = flags.base;
      const id = checkPlanId(args[0]!);
      if (!id.ok) return id;
      return withRootLock(root, async () => {
        if (base !== undefined && existsSync(root.deltaDir(args[0]!))) {
          const applied = await applyStagedDelta(root, args[0]!, base);
          if (!applied.ok) return applied;
        }
        return activate(root, args[0]!, tolerance.value);
      });
    }
    case 'rollback':
      return withRootLock(root, () => rollback(root, tolerance.value));
    case 'eval':
      return evaluateActive(root, tolerance.value);
    case 'run': {
      if (flags.input === undefined)
        return usage('run needs --input <file> (a .npy, .png, .jpg or .csv sample).');
      const top = whole('top', flags.top, 1);
      if (!top.ok) return top;
      return runModel(root, args[0]!, resolve(flags.input), top.value);
    }
    case 'bench': {
      const rounds = whole('rounds', flags.rounds, 1);
      if (!rounds.ok) return rounds;
      return bench(root, rounds.value);
    }
    case 'telemetry': {
      const since = whole('since', flags.since, 0);
      if (!since.ok) return since;
      const limit = whole('limit', flags.limit, 1);
      if (!limit.ok) return limit;
      return readTelemetry(root.telemetryDir, since.value ?? 0, limit.value);
    }
    case 'start': {
      const options = workloadOptions(flags);
      if (!options.ok) return options;
      return startWorkload(root, fileURLToPath(import.meta.url), options.value);
    }
    case 'stop':
      return stopWorkload(root);
    case 'workload': {
      const options = workloadOptions(flags);
      if (!options.ok) return options;
      return runWorkload(root, options.value);
    }
  }
}

/** Runs one agent command line; never throws. */
export async function runAgent(argv: readonly string[]): Promise<AgentOutput> {
  const parsed = parse(argv);
  const json = argv.includes('--json');
  if (parsed.ok && parsed.value === 'help')
    return { exitCode: AGENT_EXIT.ok, stdout: `${usageText()}\n`, stderr: '' };
  if (parsed.ok && parsed.value === 'version')
    return { exitCode: AGENT_EXIT.ok, stdout: `${AGENT_VERSION}\n`, stderr: '' };
  let result: Result<unknown>;
  let where = 'the agent root';
  if (!parsed.ok) result = parsed;
  else {
    const p = parsed.value as Parsed;
    where = p.root.root;
    try {
      result = await dispatch(p);
    } catch (thrown) {
      result = { ok: false, error: thrownError(thrown, where) };
    }
    if (!result.ok) result = { ok: false, error: asDiskFull(result.error, where) };
  }
  if (result.ok) {
    const command = (parsed as { value: Parsed }).value.command;
    return json
      ? {
          exitCode: AGENT_EXIT.ok,
          stdout: `${JSON.stringify({ ok: true, value: result.value } satisfies AgentReply<unknown>)}\n`,
          stderr: '',
        }
      : { exitCode: AGENT_EXIT.ok, stdout: `${human(command, result.value)}\n`, stderr: '' };
  }
  const error: WsepError = result.error;
  const exitCode = exitCodeFor(error);
  return json
    ? {
        exitCode,
        stdout: `${JSON.stringify({ ok: false, error } satisfies AgentReply<unknown>)}\n`,
        stderr: '',
      }
    : {
        exitCode,
        stdout: '',
        stderr: `wsep-agent: ${error.message}${error.hint ? `\n  ${error.hint}` : ''}\n`,
      };
}

const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;
const id = (planId: string | null): string => (planId ? planId.slice(0, 12) : 'none');

function healthLines(h: HealthResult): string[] {
  return h.models.map(
    (m) =>
      `  ${m.passed ? 'ok  ' : 'FAIL'} ${m.model}: ${pct(m.measured)} on ${m.samples} samples (expected ${pct(m.expected)}, drop ${m.dropPoints.toFixed(1)} points, allowed ${h.tolerancePoints})`,
  );
}

/** Text for a person at the device. */
function human(command: Command, value: unknown): string {
  switch (command) {
    case 'info': {
      const v = value as AgentInfo;
      return [
        `wsep-agent ${v.agentVersion} (${v.kind}) on ${v.platform}/${v.arch}, Node ${v.nodeVersion}, onnxruntime ${v.onnxruntime ?? 'not installed'}`,
        `level 1 (memory): ${formatBytes(v.level1FreeBytes)} free of ${formatBytes(v.level1Bytes)}`,
        `level 2 (disk under ${v.root}): ${formatBytes(v.level2FreeBytes)} free of ${formatBytes(v.level2Bytes)}`,
        `active plan ${id(v.activePlan)}, previous ${id(v.previousPlan)}`,
      ].join('\n');
    }
    case 'status': {
      const v = value as AgentStatus;
      const w = v.workload;
      return [
        `active plan ${id(v.activePlan)}, previous ${id(v.previousPlan)}`,
        `installed: ${v.plans.map(id).join(', ') || 'none'}; staged: ${v.staged.map(id).join(', ') || 'none'}`,
        `workload: ${w ? `${w.running ? 'running' : 'not running'} (pid ${w.pid}, started ${w.startedAt})` : 'never started'}`,
        `telemetry: last record ${v.telemetry.lastSeq}`,
        ...(v.busy ? ['busy: a plan change (activate, rollback, apply-delta) is under way'] : []),
      ].join('\n');
    }
    case 'files':
      return (
        (value as StagedFile[])
          .map((f) => `${f.sha256.slice(0, 16)} ${String(f.bytes).padStart(10)} ${f.path}`)
          .join('\n') || 'No files staged.'
      );
    case 'verify': {
      const v = value as VerifyResult;
      return `Plan ${id(v.planId)} (${v.location}) verifies: ${v.files} files, ${formatBytes(v.bytes)}, health slices for ${v.healthModels} models.`;
    }
    case 'activate':
    case 'rollback': {
      const v = value as ActivateResult;
      if (v.unchanged) return `Plan ${id(v.planId)} is already active.`;
      return [
        `Plan ${id(v.active)} is active (previous ${id(v.previous)}); health check passed:`,
        ...(v.health ? healthLines(v.health) : []),
      ].join('\n');
    }
    case 'eval': {
      const v = value as HealthResult;
      return [
        `Plan ${id(v.planId)}: ${v.passed ? 'every model within tolerance' : 'a model below its expected accuracy'}`,
        ...healthLines(v),
      ].join('\n');
    }
    case 'run': {
      const v = value as RunResult;
      return [
        `${v.model}: ${v.predicted.label} (${pct(v.predicted.score)}); switch ${v.switchMs.toFixed(2)} ms, run ${v.runMs.toFixed(2)} ms`,
        ...v.top.map((s) => `  ${s.label}: ${pct(s.score)}`),
      ].join('\n');
    }
    case 'bench': {
      const v = value as BenchResult;
      return [
        `Plan ${id(v.planId)}, ${v.rounds} rounds (medians): paged switch ${v.switchMs.toFixed(3)} ms, load from storage ${v.loadMs.toFixed(3)} ms`,
        ...v.models.map(
          (m) =>
            `  ${m.model}: switch ${m.switchMs.toFixed(3)} ms (${formatBytes(m.switchBytesRead)} read), load ${m.loadMs.toFixed(3)} ms (${formatBytes(m.loadBytesRead)} read)`,
        ),
      ].join('\n');
    }
    case 'telemetry': {
      const v = value as TelemetryBatch;
      return [
        ...v.records.map((r) => JSON.stringify(r)),
        `cursor ${v.cursor}, lost ${v.lost}${v.more ? ', more waiting' : ''}`,
      ].join('\n');
    }
    default:
      return JSON.stringify(value, null, 2);
  }
}
