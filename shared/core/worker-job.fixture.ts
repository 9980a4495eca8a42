/** Jobs used by worker-job.test.ts. */
import { fail, ok, type Result } from './errors.ts';
import type { JobContext } from './worker-job.ts';

export async function countTo(
  input: { n: number; delayMs: number },
  ctx: JobContext,
): Promise<Result<Float32Array>> {
  const out = new Float32Array(input.n);
  for (let i = 0; i < input.n; i++) {
    if (ctx.signal.aborted) return fail('E_CANCELLED', 'The operation was cancelled.');
    out[i] = i;
    ctx.progress({ stage: 'train', step: i + 1, total: input.n, fraction: (i + 1) / input.n });
    await new Promise((r) => setTimeout(r, input.delayMs));
  }
  return ok(out);
}

export async function explode(): Promise<Result<number>> {
  throw new Error('boom');
}
