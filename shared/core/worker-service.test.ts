import { describe, expect, it } from 'vitest';
import { WsepFailure } from './errors.ts';
import { WorkerService } from './worker-service.ts';

const fixture = new URL('./worker-service.fixture.ts', import.meta.url);

async function started(start = 0) {
  const shared = new SharedArrayBuffer(4);
  const r = await WorkerService.start(fixture, 'counter', { start, shared });
  if (!r.ok) throw new Error(r.error.message);
  return { service: r.value, shared: new Int32Array(shared) };
}

describe('WorkerService', () => {
  it('keeps state between calls, answers in call order, and shares SharedArrayBuffers', async () => {
    const { service, shared } = await started(10);
    // The slow call was sent first: calls run one after another, so it still comes first.
    const [a, b] = await Promise.all([
      service.call<number>('slowAdd', 5, 20),
      service.call<number>('add', 1),
    ]);
    expect([a, b]).toEqual([15, 16]);
    expect(shared[0]).toBe(16);
    expect(await service.call<number>('wrapped')).toBe(16);
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
    expect(await reason(service.call('nope'))).toMatch(/^E_INTERNAL: .*no method nope/);
    expect(await service.call<number>('add', 2)).toBe(2);
    await service.close();
  });

  it('rejects pending and later calls when the worker dies', async () => {
    const { service } = await started();
    await expect(service.call('exit')).rejects.toThrow(/exit code 3/);
    await expect(service.call('add', 1)).rejects.toThrow(/exit code 3/);
    await service.close();
  });

  it('returns the factory failure as a value', async () => {
    const r = await WorkerService.start(fixture, 'neverBuilds', {});
    expect(!r.ok && `${r.error.code}: ${r.error.message}`).toBe('E_NOT_FOUND: nothing to serve');
    const missing = await WorkerService.start(fixture, 'noSuchFactory', {});
    expect(!missing.ok && missing.error.message).toMatch(/no service named noSuchFactory/);
  });
});
