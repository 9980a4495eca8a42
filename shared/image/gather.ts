/**
 * Gather: rebuilding a model's flat weight vector from the shared pool and its exclusive pages through
 * its page table (docs/FORMAT.md §5). Page j holds weights [jP, min((j+1)P, n)); its values come from
 * shared slot t (t < M) or exclusive page t − M. Consecutive pages whose sources are consecutive in the
 * same store are merged into one run, so a switch is a handful of memcpys rather than a loop per weight.
 */
import type { StoredPages } from './pages.ts';
import { dequantizeInto } from './quantize.ts';

/** Runs as a struct of arrays (no objects on the hot path): run r copies len[r] values. */
export interface GatherRuns {
  readonly count: number;
  /** Offset in the model's weight vector. */
  readonly dst: Int32Array;
  /** Offset in the shared pool (fromShared) or in the model's exclusive pages. */
  readonly src: Int32Array;
  readonly len: Int32Array;
  readonly fromShared: Uint8Array;
}

export function gatherRuns(
  pageTable: ArrayLike<number>,
  sharedPageCount: number,
  pageSize: number,
  weightCount: number,
): GatherRuns {
  const n = pageTable.length;
  const dst = new Int32Array(n);
  const src = new Int32Array(n);
  const len = new Int32Array(n);
  const fromShared = new Uint8Array(n);
  let count = 0;
  for (let j = 0; j < n; j++) {
    const entry = pageTable[j]!;
    const shared = entry < sharedPageCount ? 1 : 0;
    const start = (shared ? entry : entry - sharedPageCount) * pageSize;
    const length = Math.min(pageSize, weightCount - j * pageSize);
    const r = count - 1;
    // Only whole pages precede the last one, so a run always ends on a page boundary of both sides.
    if (
      r >= 0 &&
      fromShared[r] === shared &&
      src[r]! + len[r]! === start &&
      dst[r]! + len[r]! === j * pageSize
    ) {
      len[r]! += length;
    } else {
      dst[count] = j * pageSize;
      src[count] = start;
      len[count] = length;
      fromShared[count] = shared;
      count++;
    }
  }
  return { count, dst, src, len, fromShared };
}

/** Copies the runs into `out` (the model's weight vector, at least weightCount long). */
export function gatherInto(
  runs: GatherRuns,
  shared: Float32Array,
  exclusive: Float32Array,
  out: Float32Array,
): void {
  for (let r = 0; r < runs.count; r++) {
    const s = runs.src[r]!;
    const from = runs.fromShared[r] ? shared : exclusive;
    out.set(from.subarray(s, s + runs.len[r]!), runs.dst[r]!);
  }
}

/** A model's weights as a new vector (convenience for tools and tests; the runtime reuses its buffers). */
export function gatherWeights(
  model: {
    readonly pageTable: ArrayLike<number>;
    readonly weightCount: number;
    readonly exclusivePages: Float32Array;
  },
  sharedPages: Float32Array,
  sharedPageCount: number,
  pageSize: number,
): Float32Array {
  const out = new Float32Array(model.weightCount);
  gatherInto(
    gatherRuns(model.pageTable, sharedPageCount, pageSize, model.weightCount),
    sharedPages,
    model.exclusivePages,
    out,
  );
  return out;
}

/**
 * Copies the runs into `out` from pages as stored: f32 pages as `gatherInto` does; i8 pages
 * dequantised on the way (one multiply per value by its page's scale, looked up once per page), so
 * level 1 holds int8 codes and only the active model's weights exist as float32.
 */
export function gatherStoredInto(
  runs: GatherRuns,
  shared: StoredPages,
  exclusive: StoredPages,
  pageSize: number,
  out: Float32Array,
): void {
  if (shared.valueType === 'f32' && exclusive.valueType === 'f32') {
    gatherInto(runs, shared.values, exclusive.values, out);
    return;
  }
  for (let r = 0; r < runs.count; r++) {
    const from = runs.fromShared[r] ? shared : exclusive;
    const s = runs.src[r]!;
    const len = runs.len[r]!;
    if (from.valueType === 'f32') out.set(from.values.subarray(s, s + len), runs.dst[r]!);
    else dequantizeInto(from.codes, s, from.scales, pageSize, out, runs.dst[r]!, len);
  }
}
