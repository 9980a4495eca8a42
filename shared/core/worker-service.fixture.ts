/** Services used by worker-service.test.ts and service-calls.test.ts. */
import { fail, ok, type Result } from './errors.ts';
import { serviceRef } from './worker-service.ts';

/** The counter's interface: what callers of the service see (answers unwrapped from Results). */
export interface Counter {
  add(n: number): number;
  slowAdd(n: number, ms: number): Promise<number>;
  refuse(): Result<number>;
  wrapped(): Result<number>;
  explode(): never;
  exit(): never;
}

/** A counter that lives in the worker; `total` sums into a SharedArrayBuffer the caller also sees. */
export async function counter(input: { start: number; shared: SharedArrayBuffer }): Promise<Result<Counter>> {
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

export async function neverBuilds(_input: object): Promise<Result<Counter>> {
  return fail('E_NOT_FOUND', 'nothing to serve');
}

const HERE = new URL(import.meta.url);
export const COUNTER = serviceRef(HERE, { counter });
export const NEVER_BUILDS = serviceRef(HERE, { neverBuilds });
/** A reference whose export does not exist, to test that failure (the types are the counter's). */
export const NO_SUCH_FACTORY = { ...COUNTER, exportName: 'noSuchFactory' };
