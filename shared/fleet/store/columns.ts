/**
 * Reading the JSON columns back: each is parsed and checked against its shape, so a row edited by hand
 * or damaged on disk becomes an E_STORE naming the table, the row and the column instead of a wrong
 * value further on.
 */
import { raise, type ErrorCode, type WsepError } from '../../core/errors.ts';
import type { DeviceCapacities, JsonObject, PlanHealth, StepAccuracy } from './types.ts';

/** Where a column value came from, for the message. */
export interface ColumnAt {
  readonly table: string;
  readonly row: string;
  readonly column: string;
}

function corrupt(at: ColumnAt, problem: string): never {
  raise(
    'E_STORE',
    `The fleet store's ${at.table} row ${at.row} has an unreadable ${at.column} column: ${problem}.`,
    'The store was edited or damaged; remove that row (or restore the file from a backup).',
    at,
  );
}

function parse(at: ColumnAt, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return corrupt(at, 'it is not JSON');
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isFiniteNumber = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value);

export function readJsonObject(at: ColumnAt, text: string): JsonObject {
  const value = parse(at, text);
  if (!isObject(value)) corrupt(at, 'it is not a JSON object');
  return value;
}

export function readCapacities(at: ColumnAt, text: string | null): DeviceCapacities | null {
  if (text === null) return null;
  const value = parse(at, text);
  if (
    !isObject(value) ||
    !isFiniteNumber(value['level1Bytes']) ||
    !isFiniteNumber(value['level2Bytes']) ||
    typeof value['arch'] !== 'string' ||
    typeof value['agentVersion'] !== 'string' ||
    !(typeof value['onnxruntime'] === 'string' || value['onnxruntime'] === null)
  ) {
    return corrupt(at, 'it is not {level1Bytes, level2Bytes, arch, agentVersion, onnxruntime}');
  }
  return {
    level1Bytes: value['level1Bytes'],
    level2Bytes: value['level2Bytes'],
    arch: value['arch'],
    agentVersion: value['agentVersion'],
    onnxruntime: value['onnxruntime'],
  };
}

/** The same check for input: a problem description, or null. */
export function capacitiesProblem(value: unknown): string | null {
  try {
    readCapacities({ table: 'input', row: '', column: 'capacities' }, JSON.stringify(value));
    return null;
  } catch {
    return 'capacities must be {level1Bytes, level2Bytes (numbers), arch, agentVersion (text), onnxruntime (text or null)}';
  }
}

export function readHealth(at: ColumnAt, text: string): PlanHealth {
  const value = parse(at, text);
  const problem = healthProblem(value);
  if (problem !== null) corrupt(at, problem);
  return value as PlanHealth;
}

export function healthProblem(value: unknown): string | null {
  if (!isObject(value) || !isFiniteNumber(value['tolerancePoints']) || !Array.isArray(value['models'])) {
    return 'it is not {tolerancePoints, models: [...]}';
  }
  for (const [i, model] of value['models'].entries()) {
    if (
      !isObject(model) ||
      typeof model['model'] !== 'string' ||
      !Number.isSafeInteger(model['samples']) ||
      !isFiniteNumber(model['expectedAccuracy'])
    ) {
      return `models[${i}] is not {model, samples, expectedAccuracy}`;
    }
  }
  return null;
}

export function readWaves(at: ColumnAt, text: string): number[] {
  const value = parse(at, text);
  const problem = wavesProblem(value);
  if (problem !== null) corrupt(at, problem);
  return value as number[];
}

/** Waves are cumulative fractions: increasing, in (0, 1], the last one 1. */
export function wavesProblem(value: unknown): string | null {
  if (!Array.isArray(value) || value.length === 0) return 'waves must be a non-empty list of fractions';
  let previous = 0;
  for (const wave of value) {
    if (!isFiniteNumber(wave) || wave <= previous || wave > 1) {
      return 'waves must be increasing fractions above 0 and at most 1';
    }
    previous = wave;
  }
  return previous === 1 ? null : 'the last wave must be 1 (every device)';
}

export function readMeasured(at: ColumnAt, text: string | null): StepAccuracy[] | null {
  if (text === null) return null;
  const value = parse(at, text);
  const problem = measuredProblem(value);
  if (problem !== null) corrupt(at, problem);
  return value as StepAccuracy[];
}

export function measuredProblem(value: unknown): string | null {
  if (!Array.isArray(value)) return 'measured accuracy must be a list';
  for (const [i, entry] of value.entries()) {
    if (
      !isObject(entry) ||
      typeof entry['model'] !== 'string' ||
      !Number.isSafeInteger(entry['samples']) ||
      !isFiniteNumber(entry['expectedAccuracy']) ||
      !isFiniteNumber(entry['measuredAccuracy'])
    ) {
      return `measured[${i}] is not {model, samples, expectedAccuracy, measuredAccuracy}`;
    }
  }
  return null;
}

export function readError(at: ColumnAt, text: string | null): WsepError | null {
  if (text === null) return null;
  const value = parse(at, text);
  if (errorProblem(value) !== null) corrupt(at, 'it is not {code, message, hint?, details?}');
  return value as WsepError;
}

export function errorProblem(value: unknown): string | null {
  if (!isObject(value) || typeof value['code'] !== 'string' || typeof value['message'] !== 'string') {
    return 'an error must be {code, message, hint?, details?}';
  }
  if (value['hint'] !== undefined && typeof value['hint'] !== 'string') return 'an error hint must be text';
  return null;
}

/** Drops members that are undefined, so the stored JSON equals what a reader gets back. */
export function errorJson(error: WsepError): string {
  const out: { code: ErrorCode; message: string; hint?: string; details?: unknown } = {
    code: error.code,
    message: error.message,
  };
  if (error.hint !== undefined) out.hint = error.hint;
  if (error.details !== undefined) out.details = error.details;
  return JSON.stringify(out);
}
