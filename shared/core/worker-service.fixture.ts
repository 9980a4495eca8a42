/** Services used by worker-service.test.ts. */
import { fail, ok, type Result } from './errors.ts';

/** A counter that lives in the worker; `total` sums into a SharedArrayBuffer the caller also sees. */
export async function counter(input: { start: number; shared: SharedArrayBuffer }): Promise<Result<object>> {
  let value = input.start;
  const view = new Int32Array(input.shared);
  return ok({
    add: (n: number) => {
      value += n;
      view[0] = value;
      return value;
    },
    slowAdd: async (n: number, ms: number) => {
      await new Promise((r) => setTimeout(r, ms));
      value += n;
      return value;
    },
    refuse: () => fail('E_DATA_MISMATCH', 'refused on purpose'),
    wrapped: () => ok(value),
    explode: () => {
      throw new Error('boom');
    },
    exit: () => process.exit(3),
  });
}

export async function neverBuilds(): Promise<Result<object>> {
  return fail('E_NOT_FOUND', 'nothing to serve');
}
