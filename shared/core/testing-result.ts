/** For tests: the error of a result that must have failed (the value side is `unwrap`, errors.ts). */
import type { Result, WsepError } from './errors.ts';

export function failureOf<T>(result: Result<T>): WsepError {
  if (result.ok) throw new Error('expected a failure, got a value');
  return result.error;
}
