/**
 * Typed calls of the device agent (`wsep-agent`) over an SSH connection. Every call is one remote
 * command built from an argv by `remoteCommand` (plan ids, paths and model names are data, never
 * code); the agent answers with one JSON line (protocol.ts) and a stable exit code. Failures come
 * back as values that name the device, so a rollout can record and show them as they are.
 */
import { fail, makeError, ok, type ErrorCode, type Result, type WsepError } from '../core/errors.ts';
import {
  AGENT_EXIT,
  agentArgv,
  agentExitName,
  decodeAgentReply,
  type ActivateResult,
  type AgentCommand,
  type AgentInfo,
  type AgentStatus,
  type ApplyDeltaResult,
  type BenchResult,
  type EvalResult,
  type RunResult,
  type StagedFile,
  type StartResult,
  type StopResult,
  type TelemetryBatch,
  type VerifyResult,
} from './protocol.ts';
import type { SshConnection } from './ssh/connection.ts';

/** Where the agent lives on a device, and the device's name for messages. */
export interface AgentEndpoint {
  readonly device: string;
  /** The Node.js program on the device ('node' unless the device says otherwise). */
  readonly nodePath: string;
  /** The agent's root folder on the device. */
  readonly root: string;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

/** The part of an SSH connection the client needs (a real `SshConnection`; tests pass the same). */
export type AgentTransport = Pick<SshConnection, 'exec'>;

/** Exit codes the shell gives when the program itself could not run. */
const SHELL_NOT_FOUND = 127;

/** The message a failed agent call carries: the agent's own words, prefixed with the device. */
function onDevice(device: string, error: WsepError, exitCode: number): WsepError {
  const details =
    error.details === undefined ? { device, exitCode } : { device, exitCode, agent: error.details };
  return makeError(error.code, `Device "${device}": ${error.message}`, error.hint, details);
}

/** A failure when stdout was not a reply: the exit code and stderr say what went wrong. */
function unanswered(
  endpoint: AgentEndpoint,
  command: AgentCommand,
  code: number,
  stderr: string,
  why: string,
): WsepError {
  const tail = stderr.trim().split('\n').slice(-3).join(' ').slice(0, 300);
  const where = `Device "${endpoint.device}"`;
  if (code === SHELL_NOT_FOUND) {
    return makeError(
      'E_DEVICE',
      `${where}: the program "${endpoint.nodePath}" was not found there${tail ? ` (${tail})` : ''}.`,
      'Install Node.js 18 or newer on the device, or register its path with wsep devices add --node <path>.',
      { device: endpoint.device, exitCode: code },
    );
  }
  if (/Cannot find module|ERR_MODULE_NOT_FOUND/.test(stderr) && /wsep-agent/.test(stderr)) {
    return makeError(
      'E_DEVICE',
      `${where}: the agent is not installed under ${endpoint.root}.`,
      `Run wsep devices provision ${JSON.stringify(endpoint.device)}.`,
      { device: endpoint.device, exitCode: code },
    );
  }
  const named = agentExitName(code);
  const errorCode: ErrorCode = code === AGENT_EXIT.diskFull ? 'E_DISK_FULL' : 'E_DEVICE';
  return makeError(
    errorCode,
    `${where}: wsep-agent ${command} exited with code ${code}${named ? ` (${named})` : ''} and ${why}${tail ? `: ${tail}` : '.'}`,
    'Run wsep devices provision again so the device has the agent this app expects.',
    { device: endpoint.device, exitCode: code },
  );
}

export class AgentClient {
  constructor(
    private readonly transport: AgentTransport,
    readonly endpoint: AgentEndpoint,
  ) {}

  /** Runs one agent command and returns its value (typed by the caller's protocol type). */
  async call<T>(
    command: AgentCommand,
    args: readonly string[] = [],
    options: CallOptions = {},
  ): Promise<Result<T>> {
    const argv = agentArgv(this.endpoint.nodePath, this.endpoint.root, command, args);
    const ran = await this.transport.exec(argv, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    });
    if (!ran.ok) return ran;
    const { code } = ran.value;
    const stdout = ran.value.stdout.toString('utf8');
    const stderr = ran.value.stderr.toString('utf8');
    const reply = decodeAgentReply(stdout);
    if (!reply.ok) {
      const why = stdout.trim() === '' ? 'printed no answer' : 'printed something that is not its answer';
      return { ok: false, error: unanswered(this.endpoint, command, code, stderr, why) };
    }
    if (reply.value.ok) {
      if (code !== AGENT_EXIT.ok)
        return {
          ok: false,
          error: unanswered(this.endpoint, command, code, stderr, 'yet answered success'),
        };
      return ok(reply.value.value as T);
    }
    return { ok: false, error: onDevice(this.endpoint.device, reply.value.error, code) };
  }

  info(options?: CallOptions): Promise<Result<AgentInfo>> {
    return this.call<AgentInfo>('info', [], options);
  }

  status(options?: CallOptions): Promise<Result<AgentStatus>> {
    return this.call<AgentStatus>('status', [], options);
  }

  /**
   * Status and the complete files of `planId`'s upload in one command (`status --plan`). An agent
   * older than 1.1.0 refuses the flag as a usage error; then it is asked twice, as before.
   */
  async statusWithFiles(
    planId: string,
    options?: CallOptions,
  ): Promise<Result<AgentStatus & { files: NonNullable<AgentStatus['files']> }>> {
    const asked = await this.call<AgentStatus>('status', ['--plan', planId], options);
    if (asked.ok && asked.value.files?.planId === planId)
      return ok({ ...asked.value, files: asked.value.files });
    if (asked.ok || asked.error.code === 'E_USAGE') {
      const status = asked.ok ? asked : await this.status(options);
      if (!status.ok) return status;
      const files = await this.files(planId, options);
      if (!files.ok) return files;
      return ok({ ...status.value, files: { planId, files: files.value } });
    }
    return asked;
  }

  /** Complete files under staging/<planId>/ with their hashes (what an interrupted upload left). */
  files(planId: string, options?: CallOptions): Promise<Result<StagedFile[]>> {
    return this.call<StagedFile[]>('files', [planId], options);
  }

  applyDelta(planId: string, basePlanId: string, options?: CallOptions): Promise<Result<ApplyDeltaResult>> {
    return this.call<ApplyDeltaResult>('apply-delta', [planId, '--base', basePlanId], options);
  }

  verify(planId: string, options?: CallOptions): Promise<Result<VerifyResult>> {
    return this.call<VerifyResult>('verify', [planId], options);
  }

  /** Activates with the health check; a failed check comes back as E_HEALTH with the ActivateResult in details.agent. */
  activate(planId: string, tolerancePoints?: number, options?: CallOptions): Promise<Result<ActivateResult>> {
    const args = tolerancePoints === undefined ? [planId] : [planId, '--tolerance', String(tolerancePoints)];
    return this.call<ActivateResult>('activate', args, options);
  }

  /**
   * `activate <planId> --base <basePlanId>`: rebuilds the plan from the delta uploaded to
   * staging/<planId>.delta/ (skipped when already rebuilt) and activates it, in one command. An agent
   * older than 1.1.0 refuses --base as a usage error; then apply-delta and activate run one by one.
   */
  async activateDelta(
    planId: string,
    basePlanId: string,
    tolerancePoints?: number,
    options?: CallOptions,
  ): Promise<Result<ActivateResult>> {
    const tolerance = tolerancePoints === undefined ? [] : ['--tolerance', String(tolerancePoints)];
    const both = await this.call<ActivateResult>(
      'activate',
      [planId, '--base', basePlanId, ...tolerance],
      options,
    );
    if (both.ok || both.error.code !== 'E_USAGE') return both;
    const applied = await this.applyDelta(planId, basePlanId, options);
    if (!applied.ok) return applied;
    return this.activate(planId, tolerancePoints, options);
  }

  rollback(options?: CallOptions): Promise<Result<ActivateResult>> {
    return this.call<ActivateResult>('rollback', [], options);
  }

  eval(options?: CallOptions): Promise<Result<EvalResult>> {
    return this.call<EvalResult>('eval', [], options);
  }

  run(model: string, inputPath: string, options?: CallOptions): Promise<Result<RunResult>> {
    return this.call<RunResult>('run', [model, '--input', inputPath], options);
  }

  bench(rounds?: number, options?: CallOptions): Promise<Result<BenchResult>> {
    return this.call<BenchResult>('bench', rounds === undefined ? [] : ['--rounds', String(rounds)], options);
  }

  telemetry(since: number, limit?: number, options?: CallOptions): Promise<Result<TelemetryBatch>> {
    const args = ['--since', String(since), ...(limit === undefined ? [] : ['--limit', String(limit)])];
    return this.call<TelemetryBatch>('telemetry', args, options);
  }

  start(intervalMs?: number, options?: CallOptions): Promise<Result<StartResult>> {
    return this.call<StartResult>(
      'start',
      intervalMs === undefined ? [] : ['--interval-ms', String(intervalMs)],
      options,
    );
  }

  stop(options?: CallOptions): Promise<Result<StopResult>> {
    return this.call<StopResult>('stop', [], options);
  }
}

/** The ActivateResult a failed health check carries (agent exit 4), when the error has one. */
export function healthFailureOf(error: WsepError): ActivateResult | undefined {
  if (error.code !== 'E_HEALTH') return undefined;
  const details = error.details as { agent?: unknown } | undefined;
  const agent = details?.agent as Partial<ActivateResult> | undefined;
  if (agent && typeof agent === 'object' && typeof agent.planId === 'string') return agent as ActivateResult;
  return undefined;
}

/** A failure for a device answer that lacks what the protocol promises. */
export function malformed(device: string, what: string): Result<never> {
  return fail(
    'E_DEVICE',
    `Device "${device}": the agent's answer lacks ${what}.`,
    'Run wsep devices provision again so the device has the agent this app expects.',
  );
}
