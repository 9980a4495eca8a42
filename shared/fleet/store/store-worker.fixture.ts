/** A job for store-concurrency.test.ts: the store opened and written from a worker thread. */
import { ok, type Result } from '../../core/errors.ts';
import { openFleetStore } from './store.ts';

export async function writeFromWorker(input: {
  path: string;
  device: string;
  count: number;
}): Promise<Result<{ seenTags: readonly string[]; written: number }>> {
  const opened = openFleetStore(input.path);
  if (!opened.ok) return opened;
  const store = opened.value;
  try {
    // The main thread registered the device before starting this job: its write must be visible here.
    const device = store.getDevice(input.device);
    if (!device.ok) return device;
    for (let i = 0; i < input.count; i += 1) {
      const entry = store.audit({
        action: 'worker.write',
        target: input.device,
        outcome: 'ok',
        detail: { i },
      });
      if (!entry.ok) return entry;
      if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    return ok({ seenTags: device.value.tags, written: input.count });
  } finally {
    store.close();
  }
}
