/**
 * Helpers for the firmware tests: pack a plan with given inputs into blobs, run the host test driver or
 * QEMU on them, and compare with onnxruntime through the paged runtime.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../shared/core/rng.ts';
import type { Split } from '../../shared/datasets/types.ts';
import type { Plan } from '../../shared/image/plan.ts';
import { writeBundle } from '../../shared/image/write.ts';
import { readBoard, resolveMcuProfile, type Board } from '../../shared/mcu/board.ts';
import { checkTool } from '../../shared/mcu/build.ts';
import { packPlan } from '../../shared/mcu/export.ts';
import { runProcess } from '../../shared/mcu/qemu.ts';
import { parseUart, type UartReport } from '../../shared/mcu/uart.ts';
import { PagedRuntime } from '../../shared/runtime/runtime.ts';

/** Fails (never skips) when a tool is missing, with the install hint. */
export function requireTools(...tools: string[]): void {
  for (const tool of tools) {
    const found = checkTool(tool);
    if (!found.ok) throw new Error(`${found.error.message} ${found.error.hint ?? ''}`);
  }
}

export function board(): Board {
  const b = readBoard();
  if (!b.ok) throw new Error(b.error.message);
  return b.value;
}

export function randomSplit(n: number, inputShape: readonly number[], classes: number, seed: number): Split {
  const rng = new Rng(seed);
  const size = inputShape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: n * size }, () => rng.normal());
  const y = Uint8Array.from({ length: n }, () => rng.int(classes));
  return { n, x, y };
}

/** Writes fram.bin and storage.bin for `plan` with one split per model; logits printed for every sample. */
export function writeBlobs(
  plan: Plan,
  slices: ReadonlyMap<string, Split>,
  dir: string,
  profileL1?: number,
): { fram: string; storage: string } {
  const profile = resolveMcuProfile('mps2-an385', process.cwd());
  if (!profile.ok) throw new Error(profile.error.message);
  const logitsSamples = Math.max(...[...slices.values()].map((s) => s.n));
  const packed = packPlan(plan, slices, {
    board: board(),
    profile: { ...profile.value, ...(profileL1 !== undefined ? { l1Bytes: profileL1 } : {}) },
    exportId: 0x1234abcd,
    logitsSamples,
  });
  if (!packed.ok) throw new Error(packed.error.message);
  const fram = join(dir, 'fram.bin');
  const storage = join(dir, 'storage.bin');
  writeFileSync(fram, packed.value.fram.bytes);
  writeFileSync(storage, packed.value.storage.bytes);
  return { fram, storage };
}

export async function runHostDriver(
  binary: string,
  fram: string,
  storage: string,
): Promise<{ code: number; report: UartReport; stdout: string }> {
  const raw = await runProcess(binary, [fram, storage], 120_000);
  if (!raw.ok) throw new Error(raw.error.message);
  const report = parseUart(raw.value.stdout);
  if (!report.ok) throw new Error(report.error.message);
  return { code: raw.value.exitCode, report: report.value, stdout: raw.value.stdout };
}

/** onnxruntime's logits for every model of the bundle at `bundleDir` on its split. */
export async function ortLogits(
  bundleDir: string,
  plan: Plan,
  slices: ReadonlyMap<string, Split>,
): Promise<Map<string, Float32Array>> {
  const written = await writeBundle(plan, bundleDir);
  if (!written.ok) throw new Error(written.error.message);
  const rt = await PagedRuntime.open(bundleDir);
  if (!rt.ok) throw new Error(rt.error.message);
  const out = new Map<string, Float32Array>();
  try {
    for (const m of plan.models) {
      const switched = await rt.value.switchTo(m.name);
      if (!switched.ok) throw new Error(switched.error.message);
      const split = slices.get(m.name)!;
      const logits = await rt.value.run(split.x, split.n);
      if (!logits.ok) throw new Error(logits.error.message);
      out.set(m.name, logits.value);
    }
  } finally {
    await rt.value.close();
  }
  return out;
}

/** Largest |a − b| relative to the largest |b| (the logits' scale). */
export function relativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 1e-6;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}
