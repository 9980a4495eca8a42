/**
 * The committed zoo: every model in resources/zoo runs in plain onnxruntime-node (the .onnx file as
 * it is, weights inside) and scores exactly the test accuracy zoo.json records.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { loadTask } from '../datasets/load.ts';
import { readZooManifest } from './build.ts';

const dir = new URL('../../resources/zoo', import.meta.url).pathname;
const manifest = readZooManifest(dir);

describe('the committed zoo', () => {
  it('has ten models with a manifest', () => {
    expect(manifest.ok && manifest.value.models.length).toBe(10);
  });

  it.each(manifest.ok ? manifest.value.models.map((m) => [m.task, m] as const) : [])(
    '%s matches zoo.json in plain onnxruntime',
    async (_task, entry) => {
      const session = await ort.InferenceSession.create(readFileSync(join(dir, entry.file)), {
        intraOpNumThreads: 1,
      });
      const data = loadTask(entry.task);
      if (!data.ok) throw new Error(data.error.message);
      const test = data.value.test;
      const sample = data.value.inputShape.reduce((a, b) => a * b, 1);
      let correct = 0;
      for (let start = 0; start < test.n; start += 256) {
        const n = Math.min(256, test.n - start);
        const x = new ort.Tensor('float32', test.x.subarray(start * sample, (start + n) * sample), [
          n,
          ...data.value.inputShape,
        ]);
        const out = await session.run({ [session.inputNames[0]!]: x });
        const logits = out[session.outputNames[0]!]!.data as Float32Array;
        const classes = logits.length / n;
        for (let i = 0; i < n; i++) {
          let best = 0;
          for (let c = 1; c < classes; c++)
            if (logits[i * classes + c]! > logits[i * classes + best]!) best = c;
          if (best === test.y[start + i]) correct++;
        }
      }
      await session.release();
      expect(correct / test.n).toBe(entry.testAccuracy);
      expect(entry.weights).toBeGreaterThanOrEqual(60_000);
      expect(entry.weights).toBeLessThanOrEqual(75_000);
    },
  );
});
