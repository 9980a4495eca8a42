/**
 * The paged runtime (DESIGN.md "Devices"): level 1 holds the shared pages and the page tables; level 2
 * (disk) holds each model's exclusive pages. Every model has one ORT session over its weight-free graph,
 * so switching to a model is one positioned read of its exclusive file plus one gather of its weights
 * into a preallocated buffer — never a model load.
 *
 * Only the active model's weights are materialised: all models share one weight buffer of the largest
 * model's size (their feeds are views into it), so level 1 grows with max n_k, not Σ n_k.
 *
 * i8 bundles stay int8 in level 1 (shared codes and scales) and in the exclusive read buffer; the
 * gather dequantises into the float32 weight buffer ORT takes (image/gather.ts gatherStoredInto).
 */
import { createHash } from 'node:crypto';
import { fail, ok, type Result } from '../core/errors.ts';
import type { Preprocessing, Split } from '../datasets/types.ts';
import { createSession, floatTensor, ort, type SessionOptions } from '../onnx/ort.ts';
import { gatherRuns, gatherStoredInto, type GatherRuns } from '../image/gather.ts';
import { F32_BYTES } from '../image/manifest.ts';
import { heldBytes, type StoredPages } from '../image/pages.ts';
import { readResidentBundle, type ReadOptions } from '../image/read.ts';
import type { TaskAccuracy, ValueType } from '../image/plan.ts';
import { HOST_IS_LITTLE_ENDIAN } from '../image/values.ts';
import { ExclusiveFiles } from './l2.ts';
import { ByteLru } from './lru.ts';
import type { Level1Parts } from './memory.ts';

export interface RuntimeOptions {
  /** Level-1 bytes for keeping recently used models' exclusive pages (LRU); 0 (default) disables the cache. */
  readonly exclusiveCacheBytes?: number;
  /**
   * 'eager' (default) creates every model's session at open, so no switch ever pays for one; 'lazy'
   * creates a session on the first switch to its model (faster open, one slow first switch per model).
   */
  readonly sessions?: 'eager' | 'lazy';
  /** Check each read of exclusive pages against the manifest's SHA-256 (default false: checked at open). */
  readonly verifyReads?: boolean;
  readonly session?: SessionOptions;
  /** Cancels the bundle's verification at open (E_CANCELLED); 'verify' progress while it hashes. */
  readonly signal?: ReadOptions['signal'];
  readonly progress?: ReadOptions['progress'];
}

export interface SwitchStats {
  readonly model: string;
  readonly fromCache: boolean;
  /** Bytes read from level 2 by this switch (0 on a cache hit). */
  readonly bytesRead: number;
  readonly readMs: number;
  readonly gatherMs: number;
  /** Time spent creating the session (lazy mode, first switch only). */
  readonly sessionMs: number;
  readonly totalMs: number;
}

export interface MemoryAccount {
  /**
   * Shared pages, page tables, the precomputed gather runs, the active model's weights (sized for the
   * largest model), the read buffer for one model's exclusive pages (sized for the largest), the cache.
   */
  readonly level1: Level1Parts;
  /** Bytes of all exclusive page files (level 2). */
  readonly level2Bytes: number;
  readonly lastSwitch?: SwitchStats;
  /** process.memoryUsage().rss: everything, including ORT sessions and the JS heap. */
  readonly rss: number;
}

/** What a caller needs to feed a model and judge its answers: the bundle's facts about it. */
export interface RuntimeModelInfo {
  readonly name: string;
  /** Per-sample input shape, without the batch axis. */
  readonly inputShape: readonly number[];
  readonly classes: readonly string[];
  /** How raw samples were turned into model input when the plan was made (the data's train statistics). */
  readonly preprocessing: Preprocessing;
  /** The plan's accuracies (0..1), as measured by the planner. */
  readonly accuracy: { readonly test: TaskAccuracy; readonly val: TaskAccuracy };
}

interface RuntimeModel {
  readonly name: string;
  readonly info: RuntimeModelInfo;
  readonly inputName: string;
  readonly inputShape: readonly number[];
  readonly sampleSize: number;
  readonly outputName: string;
  readonly classes: number;
  readonly weightCount: number;
  readonly pageTable: Uint32Array;
  readonly runs: GatherRuns;
  readonly exclusiveBytes: number;
  readonly exclusiveSha256: string;
  /** i8: the scales of the model's exclusive pages (level 2, as the manifest lists them); empty for f32. */
  readonly exclusiveScales: Float32Array;
  /** Weight feeds: views into the shared weight buffer, created once. */
  readonly feeds: Record<string, ort.Tensor>;
  graph: Uint8Array | undefined;
  session: ort.InferenceSession | undefined;
}

/** A model's exclusive pages held in the cache, with their size for the LRU. */
interface CachedPages {
  readonly pages: StoredPages;
  readonly byteLength: number;
}

export class PagedRuntime {
  private active: RuntimeModel | undefined;
  private lastSwitch: SwitchStats | undefined;

  private constructor(
    readonly planId: string,
    readonly pageSize: number,
    readonly sharedPageCount: number,
    readonly valueType: ValueType,
    private readonly shared: StoredPages,
    private readonly entries: readonly RuntimeModel[],
    private readonly weightBuffer: Float32Array,
    private readonly exclusiveBuffer: Uint8Array,
    /** i8: the active model's exclusive-page scales, sized for the largest set (read with its pages). */
    private readonly exclusiveScaleBuffer: Float32Array,
    private readonly l2: ExclusiveFiles,
    private readonly cache: ByteLru<string, CachedPages> | undefined,
    private readonly options: RuntimeOptions,
  ) {}

  /** The first `bytes` bytes of the read buffer (and, i8, `pages` scales) as stored pages. */
  private bufferPages(bytes: number, pages: number): StoredPages {
    const b = this.exclusiveBuffer;
    return this.valueType === 'i8'
      ? {
          valueType: 'i8',
          codes: new Int8Array(b.buffer, b.byteOffset, bytes),
          scales: this.exclusiveScaleBuffer.subarray(0, pages),
        }
      : { valueType: 'f32', values: new Float32Array(b.buffer, b.byteOffset, bytes / F32_BYTES) };
  }

  /**
   * Verifies every byte of the bundle, keeps level 1 resident (shared pages, tables, graphs until their
   * sessions exist) and prepares every model's session and buffers. The exclusive pages are hashed as
   * they stream by and left on level 2: opening never holds them all at once.
   */
  static async open(bundleDir: string, options: RuntimeOptions = {}): Promise<Result<PagedRuntime>> {
    if (!HOST_IS_LITTLE_ENDIAN)
      return fail(
        'E_RUNTIME',
        'The paged runtime needs a little-endian host (it views stored pages in place).',
      );
    const loaded = await readResidentBundle(bundleDir, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.progress ? { progress: options.progress } : {}),
    });
    if (!loaded.ok) return loaded;
    const { manifest } = loaded.value;
    const P = manifest.pageSize;
    const M = manifest.shared.pageCount;
    const maxWeights = Math.max(...manifest.models.map((m) => m.weightCount));
    const maxExclusiveBytes = Math.max(...manifest.models.map((m) => m.exclusive.bytes));
    const maxExclusivePages = Math.max(...manifest.models.map((m) => m.exclusive.pageCount));
    const weightBuffer = new Float32Array(maxWeights);
    const exclusiveScaleBuffer = new Float32Array(manifest.valueType === 'i8' ? maxExclusivePages : 0);
    // An ArrayBuffer of our own (not Buffer's pool), so the Float32Array view over it is aligned.
    const exclusiveBuffer = new Uint8Array(new ArrayBuffer(maxExclusiveBytes));
    const entries: RuntimeModel[] = manifest.models.map((m) => {
      const feeds: Record<string, ort.Tensor> = {};
      for (const t of m.tensors)
        feeds[t.name] = floatTensor(weightBuffer.subarray(t.offset, t.offset + t.length), t.dims);
      const pageTable = Uint32Array.from(m.pageTable);
      return {
        name: m.name,
        info: {
          name: m.name,
          inputShape: [...m.inputShape],
          classes: [...m.classes],
          preprocessing: m.preprocessing,
          accuracy: { test: { ...m.accuracy.test }, val: { ...m.accuracy.val } },
        },
        inputName: m.inputName,
        inputShape: [...m.inputShape],
        sampleSize: m.inputShape.reduce((a, b) => a * b, 1),
        outputName: m.outputName,
        classes: m.classes.length,
        weightCount: m.weightCount,
        pageTable,
        runs: gatherRuns(pageTable, M, P, m.weightCount),
        exclusiveBytes: m.exclusive.bytes,
        exclusiveSha256: m.exclusive.sha256,
        exclusiveScales: Float32Array.from(m.exclusive.scales ?? []),
        feeds,
        graph: loaded.value.graphBytes.get(m.name),
        session: undefined,
      };
    });
    const l2 = ExclusiveFiles.open(
      loaded.value.dir,
      manifest.models.map((m) => m.exclusive.file),
    );
    if (!l2.ok) return l2;
    const cacheBytes = options.exclusiveCacheBytes ?? 0;
    const runtime = new PagedRuntime(
      loaded.value.planId,
      P,
      M,
      manifest.valueType,
      loaded.value.shared,
      entries,
      weightBuffer,
      exclusiveBuffer,
      exclusiveScaleBuffer,
      l2.value,
      cacheBytes > 0 ? new ByteLru(cacheBytes) : undefined,
      options,
    );
    if ((options.sessions ?? 'eager') === 'eager') {
      for (const entry of entries) {
        const made = await runtime.ensureSession(entry);
        if (!made.ok) {
          await runtime.close();
          return made;
        }
      }
    }
    return ok(runtime);
  }

  get models(): readonly string[] {
    return this.entries.map((e) => e.name);
  }

  /** The bundle's facts about model `name`, or undefined when the bundle has no such model. */
  modelInfo(name: string): RuntimeModelInfo | undefined {
    return this.entries.find((e) => e.name === name)?.info;
  }

  get activeModel(): string | undefined {
    return this.active?.name;
  }

  private async ensureSession(entry: RuntimeModel): Promise<Result<ort.InferenceSession>> {
    if (entry.session) return ok(entry.session);
    const session = await createSession(entry.graph!, this.options.session);
    if (!session.ok)
      return fail('E_ORT', `Cannot create a session for model "${entry.name}": ${session.error.message}`);
    entry.session = session.value;
    entry.graph = undefined; // ORT holds its own copy of the graph
    return ok(session.value);
  }

  /**
   * Makes `name` the active model: its exclusive pages come from the cache or one read of level 2, and
   * its weights are gathered from them and the shared pool into the weight buffer.
   */
  async switchTo(name: string): Promise<Result<SwitchStats>> {
    const entry = this.entries.find((e) => e.name === name);
    if (!entry)
      return fail('E_USAGE', `The bundle has no model "${name}".`, `Models: ${this.models.join(', ')}.`);
    const t0 = performance.now();
    let sessionMs = 0;
    if (!entry.session) {
      const made = await this.ensureSession(entry);
      if (!made.ok) return made;
      sessionMs = performance.now() - t0;
    }
    const t1 = performance.now();
    let exclusive = this.cache?.get(name)?.pages;
    const fromCache = exclusive !== undefined;
    if (!exclusive) {
      const read = this.l2.read(this.entries.indexOf(entry), this.exclusiveBuffer, entry.exclusiveBytes);
      if (!read.ok) return read;
      if (this.options.verifyReads) {
        const hash = createHash('sha256')
          .update(this.exclusiveBuffer.subarray(0, entry.exclusiveBytes))
          .digest('hex');
        if (hash !== entry.exclusiveSha256)
          return fail(
            'E_BUNDLE_CORRUPT',
            `The exclusive pages of "${name}" changed on disk since the bundle was opened.`,
            'Verify the bundle and activate it again.',
          );
      }
      // The scales travel with the pages: one per exclusive page, copied beside them.
      this.exclusiveScaleBuffer.set(entry.exclusiveScales);
      exclusive = this.bufferPages(entry.exclusiveBytes, entry.exclusiveScales.length);
    }
    const t2 = performance.now();
    gatherStoredInto(entry.runs, this.shared, exclusive, this.pageSize, this.weightBuffer);
    const t3 = performance.now();
    if (!fromCache && this.cache) {
      const pages: StoredPages =
        exclusive.valueType === 'i8'
          ? { valueType: 'i8', codes: exclusive.codes.slice(), scales: exclusive.scales.slice() }
          : { valueType: 'f32', values: exclusive.values.slice() };
      this.cache.set(name, { pages, byteLength: heldBytes(pages) });
    }
    this.active = entry;
    const stats: SwitchStats = {
      model: name,
      fromCache,
      bytesRead: fromCache ? 0 : entry.exclusiveBytes,
      readMs: t2 - t1,
      gatherMs: t3 - t2,
      sessionMs,
      totalMs: t3 - t0,
    };
    this.lastSwitch = stats;
    return ok(stats);
  }

  /** The active model's weight vector, as gathered (a view; valid until the next switch). */
  activeWeights(): Float32Array | undefined {
    return this.active ? this.weightBuffer.subarray(0, this.active.weightCount) : undefined;
  }

  /** Runs the active model on `batch` samples laid out as [batch, ...inputShape]; returns its output. */
  async run(x: Float32Array, batch: number): Promise<Result<Float32Array>> {
    const entry = this.active;
    if (!entry?.session) return fail('E_RUNTIME', 'No model is active: call switchTo(model) first.');
    if (x.length !== batch * entry.sampleSize) {
      return fail(
        'E_DATA_MISMATCH',
        `Model "${entry.name}" takes ${entry.sampleSize} values per sample; ${x.length} values are not ${batch} samples.`,
      );
    }
    try {
      const feeds = { ...entry.feeds, [entry.inputName]: floatTensor(x, [batch, ...entry.inputShape]) };
      const out = await entry.session.run(feeds, [entry.outputName]);
      return ok(out[entry.outputName]!.data as Float32Array);
    } catch (thrown) {
      return fail('E_ORT', `Model "${entry.name}" failed to run: ${(thrown as Error).message}`);
    }
  }

  /** Predicted classes (argmax) and accuracy of the active model on a split, in batches. */
  async predict(
    split: Split,
    batchSize = 256,
  ): Promise<Result<{ predictions: Uint16Array; accuracy: number }>> {
    const entry = this.active;
    if (!entry) return fail('E_RUNTIME', 'No model is active: call switchTo(model) first.');
    const predictions = new Uint16Array(split.n);
    let correct = 0;
    for (let start = 0; start < split.n; start += batchSize) {
      const batch = Math.min(batchSize, split.n - start);
      const out = await this.run(
        split.x.subarray(start * entry.sampleSize, (start + batch) * entry.sampleSize),
        batch,
      );
      if (!out.ok) return out;
      const k = out.value.length / batch;
      for (let i = 0; i < batch; i++) {
        let best = 0;
        for (let c = 1; c < k; c++) if (out.value[i * k + c]! > out.value[i * k + best]!) best = c;
        predictions[start + i] = best;
        if (best === split.y[start + i]) correct++;
      }
    }
    return ok({ predictions, accuracy: split.n > 0 ? correct / split.n : 0 });
  }

  memory(): MemoryAccount {
    const sharedPages = heldBytes(this.shared);
    const pageTables = this.entries.reduce((s, e) => s + e.pageTable.byteLength, 0);
    const gatherRunBytes = this.entries.reduce(
      (s, e) =>
        s +
        e.runs.dst.byteLength +
        e.runs.src.byteLength +
        e.runs.len.byteLength +
        e.runs.fromShared.byteLength,
      0,
    );
    const weightBuffer = this.weightBuffer.byteLength;
    const exclusiveBuffer = this.exclusiveBuffer.byteLength + this.exclusiveScaleBuffer.byteLength;
    const cache = this.cache?.bytes ?? 0;
    const level1 = {
      sharedPages,
      pageTables,
      gatherRuns: gatherRunBytes,
      weightBuffer,
      exclusiveBuffer,
      cache,
      total: sharedPages + pageTables + gatherRunBytes + weightBuffer + exclusiveBuffer + cache,
    };
    const account = {
      level1,
      // i8: each exclusive page's scale lives with it on level 2.
      level2Bytes: this.entries.reduce((s, e) => s + e.exclusiveBytes + e.exclusiveScales.byteLength, 0),
      rss: process.memoryUsage().rss,
    };
    return this.lastSwitch ? { ...account, lastSwitch: this.lastSwitch } : account;
  }

  /** Models whose exclusive pages are in the cache, least recently used first. */
  cachedModels(): string[] {
    return this.cache?.keys() ?? [];
  }

  async close(): Promise<void> {
    this.l2.close();
    for (const entry of this.entries) {
      await entry.session?.release();
      entry.session = undefined;
    }
    this.active = undefined;
  }
}
