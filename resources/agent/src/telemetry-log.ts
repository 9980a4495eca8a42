/**
 * The device's telemetry log: JSON lines in segments `telemetry/<firstSeq>.jsonl`, a new segment when
 * the current one would pass the size cap, at most K segments kept (the oldest removed first).
 *
 * Every record has a seq one above the previous one, so a reader holding a cursor (the last seq it has)
 * knows exactly what it missed: a jump in seq is records rotated away before it read them (`lost`),
 * never a silent hole, and records at or below the cursor are never returned again.
 *
 * Appends are single writes of whole lines with O_APPEND, not temp + rename (a log is appended, not
 * replaced): a crash can only leave a last line without its newline, which readers ignore and the next
 * writer cuts off before appending (that record was never complete, so nobody read it).
 */
import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { fail, ok, type Result } from '../../../shared/core/errors.ts';
import type {
  DeviceTelemetry,
  TaskTelemetry,
  TelemetryBatch,
  TelemetryRecord,
} from '../../../shared/fleet/protocol.ts';

export const DEFAULT_TELEMETRY_CAP_BYTES = 256 * 1024;
export const DEFAULT_TELEMETRY_SEGMENTS = 8;
export const DEFAULT_TELEMETRY_LIMIT = 1000;
export const MAX_TELEMETRY_LIMIT = 100_000;

/** A record before the log numbers it. */
export type NewTelemetry = Omit<TaskTelemetry, 'seq'> | Omit<DeviceTelemetry, 'seq'>;

export interface TelemetryLogOptions {
  /** A segment is closed before it would pass this many bytes (a single larger line gets its own). */
  readonly capBytes?: number;
  /** Segments kept, the current one included (≥ 1). */
  readonly keepSegments?: number;
}

const SEGMENT = /^(\d{1,15})\.jsonl$/;
/** Zero-padded so names sort in seq order for a person listing the folder too. */
const segmentName = (firstSeq: number): string => `${String(firstSeq).padStart(12, '0')}.jsonl`;

interface Segment {
  readonly first: number;
  readonly path: string;
}

function listSegments(dir: string): Segment[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (thrown) {
    if ((thrown as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw thrown;
  }
  const segments: Segment[] = [];
  for (const name of names) {
    const m = SEGMENT.exec(name);
    if (m) segments.push({ first: Number(m[1]), path: join(dir, name) });
  }
  return segments.sort((a, b) => a.first - b.first);
}

/** The complete lines of a segment (a last line without its newline is still being written). */
function completeLines(text: string): string[] {
  const end = text.lastIndexOf('\n');
  return end < 0 ? [] : text.slice(0, end).split('\n');
}

function seqOf(line: string): number | undefined {
  try {
    const seq = (JSON.parse(line) as { seq?: unknown }).seq;
    return Number.isSafeInteger(seq) && (seq as number) > 0 ? (seq as number) : undefined;
  } catch {
    return undefined;
  }
}

function parseRecord(line: string): TelemetryRecord | undefined {
  try {
    const r = JSON.parse(line) as Partial<TelemetryRecord>;
    if (!Number.isSafeInteger(r.seq) || (r.kind !== 'task' && r.kind !== 'device')) return undefined;
    return r as TelemetryRecord;
  } catch {
    return undefined;
  }
}

/** The last complete record's seq in `segment`, or its first seq − 1 when it holds none. */
function lastSeqIn(segment: Segment): number {
  const lines = completeLines(readFileSync(segment.path, 'utf8'));
  for (let i = lines.length - 1; i >= 0; i--) {
    const seq = seqOf(lines[i]!);
    if (seq !== undefined) return seq;
  }
  return segment.first - 1;
}

/** The seq of the newest record in the log (0 when it has none). */
export function lastTelemetrySeq(dir: string): number {
  const segments = listSegments(dir);
  for (let i = segments.length - 1; i >= 0; i--) {
    try {
      return lastSeqIn(segments[i]!);
    } catch (thrown) {
      if ((thrown as NodeJS.ErrnoException).code !== 'ENOENT') throw thrown;
    }
  }
  return 0;
}

export class TelemetryWriter {
  private fd: number | undefined;
  private size = 0;

  private constructor(
    private readonly dir: string,
    private readonly capBytes: number,
    private readonly keepSegments: number,
    private seq: number,
    private segments: Segment[],
  ) {}

  /** Opens the log in `dir` for appending, after cutting off a half-written last line. */
  static open(dir: string, options: TelemetryLogOptions = {}): Result<TelemetryWriter> {
    const capBytes = options.capBytes ?? DEFAULT_TELEMETRY_CAP_BYTES;
    const keep = options.keepSegments ?? DEFAULT_TELEMETRY_SEGMENTS;
    if (!Number.isSafeInteger(capBytes) || capBytes < 256)
      return fail('E_USAGE', `The telemetry segment cap must be at least 256 bytes, got ${capBytes}.`);
    if (!Number.isSafeInteger(keep) || keep < 1)
      return fail('E_USAGE', `The number of telemetry segments kept must be at least 1, got ${keep}.`);
    mkdirSync(dir, { recursive: true });
    const segments = listSegments(dir);
    const last = segments[segments.length - 1];
    const writer = new TelemetryWriter(dir, capBytes, keep, 0, segments);
    if (last) {
      const bytes = readFileSync(last.path);
      const complete = bytes.lastIndexOf(0x0a) + 1;
      writer.fd = openSync(last.path, 'a');
      if (complete < bytes.byteLength) ftruncateSync(writer.fd, complete);
      writer.size = complete;
      writer.seq = lastSeqIn(last);
    }
    return ok(writer);
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Numbers and appends one record; returns it as written. */
  append(record: NewTelemetry): TelemetryRecord {
    const seq = this.seq + 1;
    const full = { seq, ...record } as TelemetryRecord;
    const line = Buffer.from(`${JSON.stringify(full)}\n`, 'utf8');
    if (this.fd === undefined || (this.size > 0 && this.size + line.byteLength > this.capBytes))
      this.rotate(seq);
    let written = 0;
    while (written < line.byteLength) written += writeSync(this.fd!, line, written);
    this.size += line.byteLength;
    this.seq = seq;
    return full;
  }

  private rotate(firstSeq: number): void {
    if (this.fd !== undefined) closeSync(this.fd);
    const segment = { first: firstSeq, path: join(this.dir, segmentName(firstSeq)) };
    this.fd = openSync(segment.path, 'a');
    this.size = 0;
    this.segments.push(segment);
    while (this.segments.length > this.keepSegments) {
      const oldest = this.segments.shift()!;
      try {
        unlinkSync(oldest.path);
      } catch (thrown) {
        if ((thrown as NodeJS.ErrnoException).code !== 'ENOENT') throw thrown;
      }
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/**
 * Records with seq > `since`, oldest first, at most `limit`. `lost` counts the seqs after `since` (up to
 * the last one returned) that are no longer in the log. A segment removed while it is being read (the
 * writer rotated) makes the read start over, so the answer is always from one consistent listing.
 */
export function readTelemetry(
  dir: string,
  since: number,
  limit = DEFAULT_TELEMETRY_LIMIT,
): Result<TelemetryBatch> {
  if (!Number.isSafeInteger(since) || since < 0)
    return fail('E_USAGE', `The telemetry cursor must be a whole number ≥ 0, got ${since}.`);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_TELEMETRY_LIMIT)
    return fail(
      'E_USAGE',
      `The telemetry limit must be a whole number from 1 to ${MAX_TELEMETRY_LIMIT}, got ${limit}.`,
    );
  for (let tries = 0; ; tries++) {
    try {
      return ok(readOnce(dir, since, limit));
    } catch (thrown) {
      if ((thrown as NodeJS.ErrnoException).code !== 'ENOENT' || tries >= 5) throw thrown;
    }
  }
}

function readOnce(dir: string, since: number, limit: number): TelemetryBatch {
  const segments = listSegments(dir);
  const records: TelemetryRecord[] = [];
  let expected = since + 1;
  let lost = 0;
  for (const [i, segment] of segments.entries()) {
    const next = segments[i + 1];
    if (next && next.first - 1 <= since) continue; // every record of this segment is at or below the cursor
    for (const line of completeLines(readFileSync(segment.path, 'utf8'))) {
      const record = parseRecord(line);
      if (!record || record.seq < expected) continue;
      if (records.length === limit) return { records, cursor: expected - 1, lost, more: true };
      lost += record.seq - expected;
      records.push(record);
      expected = record.seq + 1;
    }
  }
  return { records, cursor: expected - 1, lost, more: false };
}
