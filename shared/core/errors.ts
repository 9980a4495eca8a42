/**
 * Errors are values: every engine entry point returns a `Result`, so the CLI, the app and the device
 * agent can show a failure as it is, without parsing stack traces. Inside a module, code may throw a
 * `WsepFailure` and convert at the boundary with `attempt`.
 */

/** Stable, machine-readable error codes. Add codes here; never reuse one for another meaning. */
export type ErrorCode =
  | 'E_USAGE'
  | 'E_IO'
  | 'E_NOT_FOUND'
  | 'E_ONNX_NOT_ONNX'
  | 'E_ONNX_TRUNCATED'
  | 'E_ONNX_EXTERNAL_DATA'
  | 'E_ONNX_DTYPE'
  | 'E_ONNX_UNSUPPORTED_OP'
  | 'E_ONNX_DYNAMIC_SHAPE'
  | 'E_ONNX_INVALID'
  | 'E_ORT'
  | 'E_AUTODIFF_NO_RULE'
  | 'E_AUTODIFF'
  | 'E_DATASET'
  | 'E_DATA_MISMATCH'
  | 'E_BUDGET'
  | 'E_PLAN'
  | 'E_BUNDLE'
  | 'E_BUNDLE_CORRUPT'
  | 'E_RUNTIME'
  | 'E_CANCELLED'
  // The fleet (shared/fleet, the device agent): SSH, devices and rollouts.
  | 'E_SSH_CONNECT'
  | 'E_SSH_AUTH'
  | 'E_SSH_HOST_UNKNOWN'
  | 'E_SSH_HOST_CHANGED'
  | 'E_SSH_LOST'
  | 'E_DISK_FULL'
  | 'E_DEVICE'
  | 'E_HEALTH'
  | 'E_STORE'
  | 'E_ROLLOUT'
  // The Cortex-M firmware (shared/mcu): export, build and the emulated run.
  | 'E_MCU_UNSUPPORTED'
  | 'E_MCU_BLOB'
  | 'E_MCU_TOOLCHAIN'
  | 'E_MCU_FIRMWARE'
  | 'E_MCU_TIMEOUT'
  | 'E_INTERNAL';

export interface WsepError {
  readonly code: ErrorCode;
  /** One sentence a user can act on: what is wrong, and where. */
  readonly message: string;
  /** What to do about it, when there is something to say. */
  readonly hint?: string;
  /** Structured facts for machines (e.g. the list of unsupported operators). */
  readonly details?: unknown;
}

export type Result<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: WsepError };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(
  code: ErrorCode,
  message: string,
  hint?: string,
  details?: unknown,
): Result<T> {
  return { ok: false, error: makeError(code, message, hint, details) };
}

export function makeError(code: ErrorCode, message: string, hint?: string, details?: unknown): WsepError {
  const error: { code: ErrorCode; message: string; hint?: string; details?: unknown } = { code, message };
  if (hint !== undefined) error.hint = hint;
  if (details !== undefined) error.details = details;
  return error;
}

/** An exception that carries a `WsepError`; thrown inside modules, caught by `attempt`. */
export class WsepFailure extends Error {
  readonly error: WsepError;
  constructor(error: WsepError) {
    super(error.message);
    this.name = 'WsepFailure';
    this.error = error;
  }
}

export function raise(code: ErrorCode, message: string, hint?: string, details?: unknown): never {
  throw new WsepFailure(makeError(code, message, hint, details));
}

/** Unwraps a result or throws its error as a `WsepFailure` (for code that already runs inside `attempt`). */
export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw new WsepFailure(result.error);
}

/** Converts anything thrown into a `WsepError`; unknown exceptions become `E_INTERNAL`. */
export function toError(thrown: unknown, fallback: ErrorCode = 'E_INTERNAL'): WsepError {
  if (thrown instanceof WsepFailure) return thrown.error;
  if (isAbortError(thrown)) return makeError('E_CANCELLED', 'The operation was cancelled.');
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  return makeError(fallback, message);
}

function isAbortError(thrown: unknown): boolean {
  return thrown instanceof Error && thrown.name === 'AbortError';
}

export function attempt<T>(fn: () => T, fallback: ErrorCode = 'E_INTERNAL'): Result<T> {
  try {
    return ok(fn());
  } catch (thrown) {
    return { ok: false, error: toError(thrown, fallback) };
  }
}

export async function attemptAsync<T>(
  fn: () => Promise<T>,
  fallback: ErrorCode = 'E_INTERNAL',
): Promise<Result<T>> {
  try {
    return ok(await fn());
  } catch (thrown) {
    return { ok: false, error: toError(thrown, fallback) };
  }
}

/** Throws E_CANCELLED when the signal has fired; call between units of long work. */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) raise('E_CANCELLED', 'The operation was cancelled.');
}
