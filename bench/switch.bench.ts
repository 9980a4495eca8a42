/**
 * Switching between models (DESIGN.md "Devices"; notes/reference-algorithm.md §7). One seeded sequence
 * of random switches, used by every variant in the same run, on the same disk:
 *   (a) paged: read the model's exclusive pages (one positioned read) and gather its weights from the
 *       resident shared pool — the WeightSep runtime;
 *   (b) load the original .onnx (weights inside) from disk and create an onnxruntime session;
 *   (c) read the original weights (a flat f32 file per model, one positioned read) into an existing
 *       weights-as-inputs session — the fair "same medium" baseline the reference never ran.
 * Cold runs drop the page cache before every switch (root only); warm runs read from the page cache.
 * Inference on a batch after each switch is timed separately to put the switch in context.
 */
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Rng } from '../shared/core/rng.ts';
import { formatBytes } from '../shared/core/units.ts';
import { convNet, flatWeights, syntheticPlan, type ConvNetSpec } from '../shared/image/testing.ts';
import { f32ToBytes } from '../shared/image/values.ts';
import { writeBundle } from '../shared/image/write.ts';
import { encodeModel } from '../shared/onnx/codec.ts';
import { loadModel } from '../shared/onnx/io.ts';
import { createSession, floatTensor, ort } from '../shared/onnx/ort.ts';
import type { Model } from '../shared/onnx/types.ts';
import { weightsAsInputs } from '../shared/onnx/weights.ts';
import { PagedRuntime } from '../shared/runtime/runtime.ts';
import { median, type BenchContext, type BenchReport, type BenchSection } from './harness.ts';

const PAGE_SIZE = 512;
const SHARED_PAGES = 128;
const EXTRA_EXCLUSIVE = 4;
const SEQUENCE_SEED = 52;
const INFERENCE_BATCH = 256;

/** The ten-task zoo when it is built, else ten generated conv nets of about 65k weights (like the reference's). */
function models(): { name: string; model: Model; source: string }[] {
  const zoo = new URL('../resources/zoo/', import.meta.url).pathname;
  const files = existsSync(zoo)
    ? readdirSync(zoo)
        .filter((f) => f.endsWith('.onnx'))
        .sort()
    : [];
  if (files.length > 0) {
    const loaded = files.map((f) => ({ f, m: loadModel(join(zoo, f)) }));
    if (loaded.every((l) => l.m.ok)) {
      return loaded.map(({ f, m }) => ({
        name: basename(f, '.onnx').replace(/[^A-Za-z0-9._-]/g, '_'),
        model: (m as { ok: true; value: Model }).value,
        source: 'zoo',
      }));
    }
  }
  return Array.from({ length: 10 }, (_, i) => {
    const spec: ConvNetSpec = {
      input: [3, 32, 32],
      convs: [16, 32, 52],
      hidden: [48 + i],
      classes: [10, 10, 43, 10, 4, 35, 10, 10, 6, 10][i]!,
    };
    return { name: `net${i}`, model: convNet(100 + i, spec, `net${i}`), source: 'generated' };
  });
}

/** Random model indices, no model twice in a row (a repeated switch would be a no-op for a real agent). */
function switchSequence(count: number, models: number): number[] {
  const rng = new Rng(SEQUENCE_SEED);
  const out: number[] = [];
  while (out.length < count) {
    const next = rng.int(models);
    if (next !== out[out.length - 1]) out.push(next);
  }
  return out;
}

/** Drops the page cache (needs root); returns false when it cannot. */
function dropCaches(): boolean {
  try {
    execFileSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '1');
    return true;
  } catch {
    return false;
  }
}

function readWhole(path: string, into: Uint8Array, bytes: number): void {
  const fd = openSync(path, 'r');
  try {
    let done = 0;
    while (done < bytes) done += readSync(fd, into, done, bytes - done, done);
  } finally {
    closeSync(fd);
  }
}

interface VariantResult {
  readonly switchMs: number[];
  readonly inferMs: number[];
  readonly infer1Ms: number[];
  readonly bytesRead: number[];
}

interface Variant {
  readonly id: string;
  readonly label: string;
  /** Switches to model i (timed); returns the bytes it read from disk. */
  switchTo(i: number): Promise<number>;
  /** Runs the active model on a batch of `batch` samples (timed separately). */
  infer(batch: number): Promise<void>;
}

/**
 * Runs the sequence with the variants interleaved step by step (in a rotating order), so that load
 * from other processes on a shared machine falls on all variants alike.
 */
async function runInterleaved(
  variants: readonly Variant[],
  sequence: readonly number[],
  cold: boolean,
): Promise<Map<string, VariantResult>> {
  const results = new Map(
    variants.map((v) => [v.id, { switchMs: [], inferMs: [], infer1Ms: [], bytesRead: [] } as VariantResult]),
  );
  for (const [step, i] of sequence.entries()) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(step + k) % variants.length]!;
      const r = results.get(v.id)!;
      if (cold) dropCaches();
      const t0 = performance.now();
      r.bytesRead.push(await v.switchTo(i));
      const t1 = performance.now();
      await v.infer(1);
      const t2 = performance.now();
      await v.infer(INFERENCE_BATCH);
      const t3 = performance.now();
      r.switchMs.push(t1 - t0);
      r.infer1Ms.push(t2 - t1);
      r.inferMs.push(t3 - t2);
    }
  }
  return results;
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

export const switchSection: BenchSection = {
  id: 'switch',
  title: 'Switching between models: paged runtime vs loading models',
  async run(ctx: BenchContext): Promise<BenchReport> {
    const switches = ctx.quick ? 12 : 50;
    const work = mkdtempSync(join(tmpdir(), 'wsep-bench-switch-'));
    try {
      const zoo = models();
      const plan = syntheticPlan(zoo, {
        pageSize: PAGE_SIZE,
        sharedPageCount: SHARED_PAGES,
        extraExclusive: EXTRA_EXCLUSIVE,
        seed: 7,
      });
      const bundleDir = join(work, 'bundle');
      const written = await writeBundle(plan, bundleDir);
      if (!written.ok) throw new Error(written.error.message);
      // The baselines' files, on the same disk: original models and their raw weights.
      const onnxPaths: string[] = [];
      const rawPaths: string[] = [];
      const rawBytes: number[] = [];
      for (const z of zoo) {
        const onnx = join(work, `${z.name}.onnx`);
        writeFileSync(onnx, encodeModel(z.model));
        onnxPaths.push(onnx);
        const raw = join(work, `${z.name}.f32`);
        const bytes = f32ToBytes(flatWeights(z.model).flat);
        writeFileSync(raw, bytes);
        rawPaths.push(raw);
        rawBytes.push(bytes.byteLength);
      }
      const sequence = switchSequence(switches, zoo.length);
      const inputs = plan.models.map((m) => {
        const rng = new Rng(9);
        const x = new Float32Array(INFERENCE_BATCH * m.inputShape.reduce((a, b) => a * b, 1));
        for (let k = 0; k < x.length; k++) x[k] = rng.normal();
        return floatTensor(x, [INFERENCE_BATCH, ...m.inputShape]);
      });
      const singles = inputs.map((t, i) =>
        floatTensor((t.data as Float32Array).slice(0, (t.data as Float32Array).length / INFERENCE_BATCH), [
          1,
          ...plan.models[i]!.inputShape,
        ]),
      );
      const inputOf = (i: number, batch: number): ort.Tensor => (batch === 1 ? singles[i]! : inputs[i]!);

      // Opening the runtime: sessions eagerly (the default) vs lazily.
      const t0 = performance.now();
      const lazy = await PagedRuntime.open(bundleDir, { sessions: 'lazy' });
      const lazyOpenMs = performance.now() - t0;
      if (!lazy.ok) throw new Error(lazy.error.message);
      await lazy.value.close();
      const t1 = performance.now();
      const opened = await PagedRuntime.open(bundleDir);
      const eagerOpenMs = performance.now() - t1;
      if (!opened.ok) throw new Error(opened.error.message);
      const rt = opened.value;

      let active = 0;
      const pagedParts = { readMs: [] as number[], gatherMs: [] as number[] };
      const paged: Variant = {
        id: 'paged',
        label: '(a) paged: read exclusive pages + gather',
        async switchTo(i) {
          const s = await rt.switchTo(plan.models[i]!.name);
          if (!s.ok) throw new Error(s.error.message);
          active = i;
          pagedParts.readMs.push(s.value.readMs);
          pagedParts.gatherMs.push(s.value.gatherMs);
          return s.value.bytesRead;
        },
        async infer(batch) {
          const out = await rt.run(inputOf(active, batch).data as Float32Array, batch);
          if (!out.ok) throw new Error(out.error.message);
        },
      };

      let onnxSession: ort.InferenceSession | undefined;
      const onnxLoad: Variant = {
        id: 'onnx',
        label: '(b) load the .onnx and create a session',
        async switchTo(i) {
          const bytes = readFileSync(onnxPaths[i]!);
          const session = await createSession(bytes);
          if (!session.ok) throw new Error(session.error.message);
          const previous = onnxSession;
          onnxSession = session.value;
          active = i;
          void previous?.release(); // the old session's teardown is not part of the next switch
          return bytes.byteLength;
        },
        async infer(batch) {
          const m = plan.models[active]!;
          await onnxSession!.run({ [m.inputName]: inputOf(active, batch) });
        },
      };

      // (c): one weights-as-inputs session per model, created up front like the paged runtime's.
      const rawSessions: ort.InferenceSession[] = [];
      for (const z of zoo) {
        const s = await createSession(weightsAsInputs(z.model).model);
        if (!s.ok) throw new Error(s.error.message);
        rawSessions.push(s.value);
      }
      const rawBuffer = new Uint8Array(new ArrayBuffer(Math.max(...rawBytes)));
      const rawF32 = new Float32Array(rawBuffer.buffer);
      const rawFeeds = plan.models.map((m) =>
        Object.fromEntries(
          m.tensors.map((t) => [t.name, floatTensor(rawF32.subarray(t.offset, t.offset + t.length), t.dims)]),
        ),
      );
      const rawRead: Variant = {
        id: 'raw',
        label: '(c) read raw weights into an existing session',
        async switchTo(i) {
          readWhole(rawPaths[i]!, rawBuffer, rawBytes[i]!);
          active = i;
          return rawBytes[i]!;
        },
        async infer(batch) {
          const m = plan.models[active]!;
          await rawSessions[active]!.run({ ...rawFeeds[active]!, [m.inputName]: inputOf(active, batch) });
        },
      };

      const variants = [paged, onnxLoad, rawRead];
      const canDrop = dropCaches();
      const parts: string[] = [];
      const figures: Record<string, number> = {};
      const modes: { mode: 'warm' | 'cold'; results: Map<string, VariantResult> }[] = [];
      for (const mode of canDrop ? (['warm', 'cold'] as const) : (['warm'] as const)) {
        if (mode === 'warm')
          await runInterleaved(variants, sequence.slice(0, Math.min(10, sequence.length)), false); // warm-up: JIT and page cache
        ctx.log(`${mode}: ${sequence.length} switches × ${variants.length} variants`);
        pagedParts.readMs.length = 0;
        pagedParts.gatherMs.length = 0;
        const results = await runInterleaved(variants, sequence, mode === 'cold');
        parts.push(
          `${mode}: read ${ms(median(pagedParts.readMs))} ms + gather ${ms(median(pagedParts.gatherMs))} ms (medians)`,
        );
        figures[`${mode}_paged_read_median_ms`] = median(pagedParts.readMs);
        figures[`${mode}_paged_gather_median_ms`] = median(pagedParts.gatherMs);
        modes.push({ mode, results });
      }

      const mem = rt.memory();
      await rt.close();
      await onnxSession?.release();
      for (const s of rawSessions) await s.release();

      Object.assign(figures, {
        switches,
        models: zoo.length,
        l1_bytes: mem.level1.total,
        shared_bytes: mem.level1.sharedPages,
        open_eager_ms: eagerOpenMs,
        open_lazy_ms: lazyOpenMs,
        cold_available: canDrop ? 1 : 0,
      });
      const rows: string[] = [];
      for (const { mode, results } of modes) {
        const a = results.get('paged')!;
        for (const v of variants) {
          const r = results.get(v.id)!;
          const total = sum(r.switchMs);
          const factor = total / sum(a.switchMs);
          figures[`${mode}_${v.id}_total_ms`] = total;
          figures[`${mode}_${v.id}_median_ms`] = median(r.switchMs);
          figures[`${mode}_${v.id}_infer_median_ms`] = median(r.inferMs);
          figures[`${mode}_${v.id}_infer1_median_ms`] = median(r.infer1Ms);
          if (v.id !== 'paged') figures[`${mode}_${v.id}_over_paged`] = factor;
          rows.push(
            `| ${mode} | ${v.label} | ${ms(total)} | ${ms(median(r.switchMs))} | ${ms(Math.min(...r.switchMs))}–${ms(Math.max(...r.switchMs))} | ${formatBytes(sum(r.bytesRead) / r.bytesRead.length)} | ${v.id === 'paged' ? '1' : factor.toFixed(1)}x | ${ms(median(r.infer1Ms))} | ${ms(median(r.inferMs))} |`,
          );
        }
      }
      const perModel = plan.models.map((m) => m.exclusivePages.length / PAGE_SIZE);
      const markdown = [
        `${zoo.length} models (${zoo[0]!.source === 'zoo' ? 'the zoo' : `generated conv nets of ${Math.min(...plan.models.map((m) => m.weightCount))}–${Math.max(...plan.models.map((m) => m.weightCount))} weights`}), page size ${PAGE_SIZE}, ${SHARED_PAGES} shared pages, ${perModel.reduce((x, y) => x + y, 0)} exclusive pages in all (${Math.min(...perModel)}–${Math.max(...perModel)} per model).`,
        `One seeded sequence of ${switches} random switches (seed ${SEQUENCE_SEED}, no model twice in a row), the same for every variant, all files on the same disk.`,
        canDrop
          ? 'Cold: the page cache is dropped (`sync; echo 1 > /proc/sys/vm/drop_caches`) before every switch, untimed; warm: after a 10-switch warm-up, files come from the page cache.'
          : 'Warm only: the page cache could not be dropped here (not root), so every read comes from the page cache.',
        `The variants run interleaved, switch by switch, in a rotating order (the machine is shared, so load falls on all alike). After each switch the model runs one sample, then a batch of ${INFERENCE_BATCH} (medians), for context.`,
        '',
        `| cache | variant | total switch ms | median ms | range ms | read per switch | total vs paged | infer 1 ms | infer ${INFERENCE_BATCH} ms |`,
        '|---|---|---|---|---|---|---|---|---|',
        ...rows,
        '',
        `Paged switch, split: ${parts.join('; ')}.`,
        `Opening the runtime: ${ms(eagerOpenMs)} ms with every session created up front (the default), ${ms(lazyOpenMs)} ms lazily (then each model's first switch pays for its session). Level 1 held ${formatBytes(mem.level1.total)} (shared pool ${formatBytes(mem.level1.sharedPages)}); RSS ${formatBytes(mem.rss)}.`,
        "Unlike the reference's 52x (different random sequences; exclusive pages in host RAM; a TF checkpoint restore as baseline), all three variants here read from the same disk on the same sequence; (c) isolates what paging saves over reading whole weight vectors into an existing session.",
      ].join('\n');
      return { markdown, figures };
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
};
