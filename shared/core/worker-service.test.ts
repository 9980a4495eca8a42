import { describe, expect, it } from 'vitest';
import { WsepFailure } from './errors.ts';
import { WorkerService } from './worker-service.ts';
import { COUNTER, NEVER_BUILDS, NO_SUCH_FACTORY } from './worker-service.fixture.ts';

async function started(start = 0) {
  const shared = new SharedArrayBuffer(4);
  const r = await WorkerService.start(COUNTER, { start, shared });
  if (!r.ok) throw new Error(r.error.message);
  return { service: r.value, shared: new Int32Array(shared) };
}

describe('WorkerService', () => {
  it('keeps state between calls, answers in call order, and shares SharedArrayBuffers', async () => {
    const { service, shared } = await started(10);
    // The slow call was sent first: calls run one after another, so it still comes first.
    const [a, b] = await Promise.all([service.call('slowAdd', 5, 20), service.call('add', 1)]);
    expect([a, b]).toEqual([15, 16]);
    expect(shared[0]).toBe(16);
    expect(await service.call('wrapped')).toBe(16);
    await service.close();
  });

  it('turns failed Results, throws and unknown methods into rejected calls; the service lives on', async () => {
    const { service } = await started();
    const reason = async (p: Promise<unknown>) => {
      try {
        await p;
        return 'resolved';
      } catch (e) {
        return e instanceof WsepFailure ? `${e.error.code}: ${e.error.message}` : String(e);
      }
    };
    expect(await reason(service.call('refuse'))).toBe('E_DATA_MISMATCH: refused on purpose');
    expect(await reason(service.call('explode'))).toBe('E_INTERNAL: boom');
    // @ts-expect-error -- the counter has no method "nope": the call does not compile, and at run time it fails.
    expect(await reason(service.call('nope'))).toMatch(/^E_INTERNAL: .*no method nope/);
    // What arrives over the wire is unchecked: Object.prototype's members are not methods.
    const untyped = service as unknown as { call(method: string): Promise<unknown> };
    expect(await reason(untyped.call('constructor'))).toMatch(/no method constructor/);
    expect(await service.call('add', 2)).toBe(2);
    await service.close();
  });

  it('rejects pending and later calls when the worker dies', async () => {
    const { service } = await started();
    await expect(service.call('exit')).rejects.toThrow(/exit code 3/);
    await expect(service.call('add', 1)).rejects.toThrow(/exit code 3/);
    await service.close();
  });

  it('returns the factory failure as a value', async () => {
    const r = await WorkerService.start(NEVER_BUILDS, {});
    expect(!r.ok && `${r.error.code}: ${r.error.message}`).toBe('E_NOT_FOUND: nothing to serve');
    const missing = await WorkerService.start(NO_SUCH_FACTORY, {
      start: 0,
      shared: new SharedArrayBuffer(4),
    });
    expect(!missing.ok && missing.error.message).toMatch(/no service named noSuchFactory/);
  });

  it('closes with a no-argument method of the service', async () => {
    const { service, shared } = await started(1);
    await service.close('wrapped');
    expect(shared[0]).toBe(0); // wrapped() reads, it does not write
    await expect(service.call('add', 1)).rejects.toThrow(/closed/);
  });
});
