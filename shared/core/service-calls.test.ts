/**
 * Typed service calls: the channel map comes from the service's interface, so the compiler rejects a
 * wrong method, argument or answer. The `@ts-expect-error` lines are the type-level tests: if one of
 * them stopped being an error, `tsc` (npm run typecheck) would fail on the unused directive.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { fail, ok, type Result } from './errors.ts';
import {
  dispatch,
  type Answer,
  type ChannelsOf,
  type MethodName,
  type NoArgChannel,
  type ServiceClient,
  type ServiceHandlers,
} from './service-calls.ts';
import type { Counter } from './worker-service.fixture.ts';
import type { WorkerService } from './worker-service.ts';

type CounterChannels = ChannelsOf<Counter>;

/** Compiled, never run: each statement is a type-level assertion. */
function typeLevel(client: ServiceClient<CounterChannels>, worker: WorkerService<CounterChannels>): void {
  expectTypeOf(client.call('add', 1)).toEqualTypeOf<Promise<number>>();
  expectTypeOf(client.call('slowAdd', 1, 5)).toEqualTypeOf<Promise<number>>();
  // A method returning Result<number> answers number: the Result is unwrapped, its error rejects.
  expectTypeOf(client.call('wrapped')).toEqualTypeOf<Promise<number>>();
  expectTypeOf<MethodName<Counter>>().toEqualTypeOf<
    'add' | 'slowAdd' | 'refuse' | 'wrapped' | 'explode' | 'exit'
  >();
  expectTypeOf<NoArgChannel<CounterChannels>>().toEqualTypeOf<'refuse' | 'wrapped' | 'explode' | 'exit'>();
  expectTypeOf<Answer<Promise<Result<string[]>>>>().toEqualTypeOf<string[]>();

  // @ts-expect-error -- no such method
  void client.call('subtract', 1);
  // @ts-expect-error -- wrong argument type
  void client.call('add', '1');
  // @ts-expect-error -- missing argument
  void client.call('slowAdd', 1);
  // @ts-expect-error -- too many arguments
  void client.call('add', 1, 2);
  // @ts-expect-error -- the answer is a number, not a string
  const wrongAnswer: Promise<string> = client.call('add', 1);
  void wrongAnswer;
  // @ts-expect-error -- close() calls a method without arguments; add needs one
  void worker.close('add');

  const handlers: ServiceHandlers<CounterChannels> = {
    add: (n) => n + 1,
    slowAdd: async (n, ms) => n + ms,
    refuse: () => fail('E_USAGE', 'no'),
    wrapped: () => ok(1),
    explode: () => {
      throw new Error('boom');
    },
    exit: () => process.exit(1),
  };
  void handlers;
  const wrongHandlers: ServiceHandlers<CounterChannels> = {
    ...handlers,
    // @ts-expect-error -- a handler answering a string where the channel answers a number
    add: (n: number) => String(n),
  };
  void wrongHandlers;
}
void typeLevel;

describe('dispatch', () => {
  const service = {
    double: (n: number) => n * 2,
    later: async (s: string) => `${s}!`,
    checked: (n: number) => (n > 0 ? ok(n) : fail('E_USAGE', `n must be positive, got ${n}.`)),
    thrower: () => {
      throw new Error('boom');
    },
  };

  it('answers with the value, awaited, and unwraps a returned Result', async () => {
    expect(await dispatch(service, 'double', [4])).toEqual({ ok: true, value: 8 });
    expect(await dispatch(service, 'later', ['hi'])).toEqual({ ok: true, value: 'hi!' });
    expect(await dispatch(service, 'checked', [3])).toEqual({ ok: true, value: 3 });
  });

  it('turns a failed Result, a throw and an unknown or inherited method into a failed Result', async () => {
    const failed = await dispatch(service, 'checked', [-1]);
    expect(!failed.ok && failed.error.code).toBe('E_USAGE');
    const thrown = await dispatch(service, 'thrower', []);
    expect(!thrown.ok && `${thrown.error.code}: ${thrown.error.message}`).toBe('E_INTERNAL: boom');
    for (const method of ['nope', 'toString', 'constructor', '__proto__']) {
      const r = await dispatch(service, method, []);
      expect(!r.ok && r.error.message, method).toBe(`The service has no method ${method}.`);
    }
  });

  it('calls methods of class instances with their own this', async () => {
    class Box {
      private value = 5;
      read(): number {
        return this.value;
      }
    }
    expect(await dispatch(new Box(), 'read', [])).toEqual({ ok: true, value: 5 });
  });
});
