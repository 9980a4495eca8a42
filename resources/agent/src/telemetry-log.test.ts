import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testTempDir } from '../../../shared/core/testing-temp.ts';
import type { TelemetryRecord } from '../../../shared/fleet/protocol.ts';
import { lastTelemetrySeq, readTelemetry, TelemetryWriter, type NewTelemetry } from './telemetry-log.ts';

const task = (i: number): NewTelemetry => ({
  time: new Date(1_700_000_000_000 + i).toISOString(),
  kind: 'task',
  planId: 'a'.repeat(64),
  model: `m${i % 3}`,
  window: i,
  samples: 16,
  accuracy: (i % 17) / 16,
  switchMs: 0.5,
  inferMs: 1.25,
});

function open(dir: string, capBytes: number, keepSegments: number): TelemetryWriter {
  const w = TelemetryWriter.open(dir, { capBytes, keepSegments });
  if (!w.ok) throw new Error(w.error.message);
  return w.value;
}

function read(dir: string, since: number, limit: number) {
  const r = readTelemetry(dir, since, limit);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

describe('telemetry log', () => {
  it('round-trips records with increasing seq, and the writer resumes after the last one', () => {
    const dir = testTempDir('telemetry');
    const w = open(dir, 4096, 4);
    const written = [0, 1, 2].map((i) => w.append(task(i)));
    w.close();
    expect(written.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(read(dir, 0, 10)).toEqual({ records: written, cursor: 3, lost: 0, more: false });
    const again = open(dir, 4096, 4);
    expect(again.append(task(3)).seq).toBe(4);
    again.close();
    expect(lastTelemetrySeq(dir)).toBe(4);
  });

  it('reads 1000 records in batches while a tiny cap rotates them: nothing twice, nothing missing', () => {
    const dir = testTempDir('telemetry');
    const w = open(dir, 600, 1000); // about two records a segment, every segment kept
    const seen: number[] = [];
    let cursor = 0;
    let lost = 0;
    for (let i = 0; i < 1000; i++) {
      w.append(task(i));
      if (i % 37 === 0) {
        const batch = read(dir, cursor, 20);
        seen.push(...batch.records.map((r) => r.seq));
        cursor = batch.cursor;
        lost += batch.lost;
      }
    }
    w.close();
    for (;;) {
      const batch = read(dir, cursor, 20);
      seen.push(...batch.records.map((r) => r.seq));
      lost += batch.lost;
      cursor = batch.cursor;
      if (!batch.more) break;
    }
    expect(readdirSync(dir).length).toBeGreaterThan(300);
    expect(lost).toBe(0);
    expect(seen).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
  });

  it('counts exactly what rotation removed before it was read', () => {
    const dir = testTempDir('telemetry');
    const w = open(dir, 600, 3); // a reader slower than the writer loses the oldest segments
    const seen = new Set<number>();
    let cursor = 0;
    let lost = 0;
    for (let i = 0; i < 1000; i++) {
      w.append(task(i));
      if (i % 50 === 49) {
        const batch = read(dir, cursor, 3);
        for (const r of batch.records) {
          expect(seen.has(r.seq)).toBe(false);
          expect(r.seq).toBeGreaterThan(cursor);
          seen.add(r.seq);
        }
        cursor = batch.cursor;
        lost += batch.lost;
      }
    }
    w.close();
    for (;;) {
      const batch = read(dir, cursor, 7);
      for (const r of batch.records) seen.add(r.seq);
      lost += batch.lost;
      cursor = batch.cursor;
      if (!batch.more) break;
    }
    expect(cursor).toBe(1000);
    expect(lost).toBeGreaterThan(0);
    expect(seen.size + lost).toBe(1000);
    expect(readdirSync(dir).length).toBe(3);
  });

  it('ignores a half-written last line, and the next writer cuts it off', () => {
    const dir = testTempDir('telemetry');
    const w = open(dir, 4096, 4);
    w.append(task(0));
    w.append(task(1));
    w.close();
    const [segment] = readdirSync(dir);
    appendFileSync(join(dir, segment!), '{"seq":3,"time":"2023-11-14T22:1');
    expect(read(dir, 0, 10).records.map((r) => r.seq)).toEqual([1, 2]);
    expect(lastTelemetrySeq(dir)).toBe(2);
    const again = open(dir, 4096, 4);
    expect(again.append(task(2)).seq).toBe(3);
    again.close();
    const lines = readFileSync(join(dir, segment!), 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as TelemetryRecord).seq)).toEqual([1, 2, 3]);
  });

  it('counts a corrupted line as lost rather than skipping it silently', () => {
    const dir = testTempDir('telemetry');
    const w = open(dir, 4096, 4);
    for (let i = 0; i < 3; i++) w.append(task(i));
    w.close();
    const [segment] = readdirSync(dir);
    const path = join(dir, segment!);
    const lines = readFileSync(path, 'utf8').split('\n');
    lines[1] = 'garbage';
    writeFileSync(path, lines.join('\n'));
    expect(read(dir, 0, 10)).toMatchObject({ cursor: 3, lost: 1 });
  });

  it('refuses a bad cursor, limit or cap', () => {
    const dir = testTempDir('telemetry');
    expect(readTelemetry(dir, -1).ok).toBe(false);
    expect(readTelemetry(dir, 0, 0).ok).toBe(false);
    expect(TelemetryWriter.open(dir, { capBytes: 10 }).ok).toBe(false);
    expect(read(dir, 5, 10)).toEqual({ records: [], cursor: 5, lost: 0, more: false });
  });
});
