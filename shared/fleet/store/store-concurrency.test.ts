import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unwrap } from '../../core/errors.ts';
import { testTempDir } from '../../core/testing-temp.ts';
import { runInWorker } from '../../core/worker-job.ts';
import { openFleetStore } from './store.ts';
import { newDevice } from './testing.ts';

const fixture = new URL('./store-worker.fixture.ts', import.meta.url);

describe('the store shared by the main thread and a worker thread', () => {
  it('sees each side’s writes, with both writing at the same time and nothing lost', async () => {
    const path = join(testTempDir('store-worker'), 'fleet.db');
    const store = unwrap(openFleetStore(path));
    try {
      unwrap(store.addDevice(newDevice('shared $(dev)', { tags: ['from-main'] })));
      const count = 200;
      const worker = runInWorker<
        { path: string; device: string; count: number },
        { seenTags: string[]; written: number }
      >(fixture, 'writeFromWorker', { path, device: 'shared $(dev)', count });
      for (let i = 0; i < count; i += 1) {
        unwrap(store.audit({ action: 'main.write', target: 'shared $(dev)', outcome: 'ok', detail: { i } }));
        if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      const result = unwrap(await worker);
      expect(result).toEqual({ seenTags: ['from-main'], written: count });
      const entries = unwrap(store.listAudit({ limit: 10 * count }));
      expect(entries.filter((e) => e.action === 'worker.write')).toHaveLength(count);
      expect(entries.filter((e) => e.action === 'main.write')).toHaveLength(count);
    } finally {
      store.close();
    }
  });
});
