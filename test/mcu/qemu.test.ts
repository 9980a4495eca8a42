/**
 * The firmware end to end: built with arm-none-eabi-gcc, run under QEMU mps2-an385 on exports of real
 * plans, its predictions compared with the host paged runtime's; and corrupted blobs stopping it with
 * their documented exit codes.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WsepError } from '../../shared/core/errors.ts';
import { useTempDir } from '../../shared/core/testing-temp.ts';
import { DEFAULT_DATA_ROOT } from '../../shared/datasets/load.ts';
import { quantizePlan } from '../../shared/image/quantize.ts';
import { CRC_SKIP, sealBlob } from '../../shared/mcu/blob-frame.ts';
import { resolveMcuProfile } from '../../shared/mcu/board.ts';
import { buildFirmware } from '../../shared/mcu/build.ts';
import { exportMcu, type McuExport } from '../../shared/mcu/export.ts';
import { readMcuExport, runMcu } from '../../shared/mcu/run.ts';
import { ENTRY_BYTES, STORAGE_HEADER_BYTES } from '../../shared/mcu/storage-image.ts';
import { taskBundle } from '../../shared/runtime/testing.ts';
import { board, requireTools } from './testing.ts';

const dir = useTempDir('mcu-qemu-');
const fixtureExport = join(dir, 'fixture-export');
// The same fixture with int8 pages (one scale per page, max-abs).
const fixtureI8Export = join(dir, 'fixture-i8-export');

function profile() {
  const p = resolveMcuProfile('mps2-an385', process.cwd());
  if (!p.ok) throw new Error(p.error.message);
  return p.value;
}

async function exported(bundle: string, out: string, samples: number, logitsSamples = 0): Promise<McuExport> {
  const made = await exportMcu(bundle, out, {
    board: board(),
    profile: profile(),
    dataRoots: [DEFAULT_DATA_ROOT],
    samples,
    logitsSamples,
  });
  if (!made.ok) throw new Error(made.error.message);
  return made.value;
}

beforeAll(async () => {
  requireTools('arm-none-eabi-gcc', 'qemu-system-arm', 'gcc');
  const built = buildFirmware(board());
  if (!built.ok) throw new Error(built.error.message);
  await taskBundle(join(dir, 'fixture'));
  await exported(join(dir, 'fixture'), fixtureExport, 64, 4);
  await taskBundle(join(dir, 'fixture-i8'), (p) => quantizePlan(p, 'max-abs'));
  await exported(join(dir, 'fixture-i8'), fixtureI8Export, 64, 4);
}, 120_000);

describe('the firmware under QEMU', () => {
  it('predicts the host runtime’s class on the two-task fixture, with the same logits bit for bit as the host build', async () => {
    const qemu = await runMcu(fixtureExport, { target: 'qemu', timeoutMs: 120_000 });
    if (!qemu.ok) throw new Error(qemu.error.message);
    const host = await runMcu(fixtureExport, { target: 'host' });
    if (!host.ok) throw new Error(host.error.message);
    expect(qemu.value.report.board).toBe('mps2-an385');
    expect(qemu.value.tasks.map((t) => t.name)).toEqual(['digits8x8', 'wall_following']);
    for (const t of qemu.value.tasks) {
      expect(t.n).toBe(64);
      expect(t.agreement, t.name).toBeGreaterThanOrEqual(0.999);
      expect(t.accuracy).toBeCloseTo(t.hostAccuracy, 9);
      expect(t.insnPerInference).toBeGreaterThan(t.macs); // soft-float: many instructions per MAC
      expect(t.l2BytesPerSwitch).toBeGreaterThan(0);
    }
    for (const t of qemu.value.report.tasks) {
      const h = host.value.report.tasks.find((x) => x.name === t.name)!;
      expect(t.logits.size).toBe(4);
      for (const [i, v] of t.logits)
        expect(Buffer.from(v.buffer).equals(Buffer.from(h.logits.get(i)!.buffer)), `${t.name} ${i}`).toBe(
          true,
        );
    }
    const fram = qemu.value.report.memory.fram;
    expect(fram['used']).toBeLessThanOrEqual(fram['budget']!);
    expect(qemu.value.report.memory.l2['used']).toBeLessThanOrEqual(qemu.value.report.memory.l2['budget']!);
  }, 120_000);

  it('computes the same classes with weights gathered contiguously, and says how much the page table costs', async () => {
    const paged = await runMcu(fixtureExport, { target: 'qemu', timeoutMs: 120_000 });
    const contiguous = await runMcu(fixtureExport, {
      target: 'qemu',
      access: 'contiguous',
      timeoutMs: 120_000,
    });
    if (!paged.ok || !contiguous.ok) throw new Error('run failed');
    expect(contiguous.value.report.weights).toBe('contiguous');
    for (const t of paged.value.report.tasks) {
      const c = contiguous.value.report.tasks.find((x) => x.name === t.name)!;
      expect(c.predictions).toEqual(t.predictions);
      // Pages of 32 weights here: a table read every 32 multiply-adds, still within the 10%.
      expect(t.insnPerInference / c.insnPerInference, t.name).toBeLessThan(1.1);
    }
  }, 120_000);

  /** A copy of the fixture export with `edit` applied to one of its blobs. */
  async function corrupted(
    name: string,
    file: 'fram.bin' | 'storage.bin',
    edit: (b: Uint8Array) => Uint8Array,
  ): Promise<WsepError> {
    const out = join(dir, name);
    cpSync(fixtureExport, out, { recursive: true });
    writeFileSync(join(out, file), edit(new Uint8Array(readFileSync(join(out, file)))));
    const run = await runMcu(out, { target: 'qemu', timeoutMs: 60_000 });
    if (run.ok) throw new Error(`the firmware accepted the corrupted ${file} (${name})`);
    return run.error;
  }

  const flip = (at: number) => (b: Uint8Array) => ((b[at] = b[at]! ^ 0x40), b);
  const exitCode = (e: WsepError): unknown => (e.details as { exitCode?: number } | undefined)?.exitCode;

  it('stops with its documented code for each kind of bad blob', async () => {
    const cases: [string, 'fram.bin' | 'storage.bin', (b: Uint8Array) => Uint8Array, number, RegExp][] = [
      ['fram-magic', 'fram.bin', flip(0), 2, /bad magic/],
      ['fram-crc', 'fram.bin', (b) => flip(b.length - 1)(b), 5, /CRC-32 mismatch/],
      ['l2-magic', 'storage.bin', flip(1), 6, /bad magic/],
      ['l2-crc', 'storage.bin', flip(CRC_SKIP + 100), 9, /CRC-32 mismatch/],
      ['l2-version', 'storage.bin', (b) => ((b[4] = 9), b), 7, /unsupported version/],
      // A descriptor corrupted inside a storage image whose own CRC is right: the descriptor's CRC catches it.
      [
        'descriptor',
        'storage.bin',
        (b) => {
          const descOff = new DataView(b.buffer).getUint32(STORAGE_HEADER_BYTES + 32, true);
          b[descOff + 40] = b[descOff + 40]! ^ 1;
          return sealBlob('storage', b);
        },
        10,
        /descriptor CRC-32 mismatch/,
      ],
      // Both images valid, but from different exports.
      [
        'mismatch',
        'storage.bin',
        (b) => (new DataView(b.buffer).setUint32(16, 0xdeadbeef, true), sealBlob('storage', b)),
        12,
        /different exports/,
      ],
    ];
    for (const [name, file, edit, code, said] of cases) {
      const error = await corrupted(name, file, edit);
      expect(error.code, name).toBe('E_MCU_FIRMWARE');
      expect(exitCode(error), name).toBe(code);
      expect(error.message, name).toMatch(said);
    }
    expect(ENTRY_BYTES).toBe(64);
  }, 120_000);
});

describe('the firmware under QEMU with int8 pages', () => {
  it('predicts the host runtime’s class from int8 codes and per-page scales, the same logits as the host build, reading fewer level-2 bytes', async () => {
    const qemu = await runMcu(fixtureI8Export, { target: 'qemu', timeoutMs: 120_000 });
    if (!qemu.ok) throw new Error(qemu.error.message);
    const host = await runMcu(fixtureI8Export, { target: 'host' });
    if (!host.ok) throw new Error(host.error.message);
    const f32 = await runMcu(fixtureExport, { target: 'qemu', timeoutMs: 120_000 });
    if (!f32.ok) throw new Error(f32.error.message);
    expect(qemu.value.uart).toMatch(/^mem fram .* values=i8 /m);
    for (const t of qemu.value.tasks) {
      expect(t.n).toBe(64);
      expect(t.agreement, t.name).toBeGreaterThanOrEqual(0.999);
      const f = f32.value.tasks.find((x) => x.name === t.name)!;
      const m = readMcuExport(fixtureI8Export);
      if (!m.ok) throw new Error(m.error.message);
      const model = m.value.models.find((x) => x.name === t.name)!;
      expect(t.l2BytesPerSwitch, t.name).toBe(model.switchBytes);
      // The same descriptor; per exclusive page 32 codes and a scale against 32 f32 values.
      expect(f.l2BytesPerSwitch - t.l2BytesPerSwitch, t.name).toBe(model.exclusivePages * (32 * 4 - 32 - 4));
    }
    for (const t of qemu.value.report.tasks) {
      const h = host.value.report.tasks.find((x) => x.name === t.name)!;
      for (const [i, v] of t.logits)
        expect(Buffer.from(v.buffer).equals(Buffer.from(h.logits.get(i)!.buffer)), `${t.name} ${i}`).toBe(
          true,
        );
    }
    const memory = qemu.value.report.memory.fram;
    const f32Memory = f32.value.report.memory.fram;
    expect(memory['shared']).toBeLessThan(f32Memory['shared']! / 2);
    expect(memory['exclusive_buffer']).toBeLessThan(f32Memory['exclusive_buffer']! / 2);
  }, 120_000);

  it('computes the same classes with the codes gathered contiguously, at most 10% fewer instructions', async () => {
    const paged = await runMcu(fixtureI8Export, { target: 'qemu', timeoutMs: 120_000 });
    const contiguous = await runMcu(fixtureI8Export, {
      target: 'qemu',
      access: 'contiguous',
      timeoutMs: 120_000,
    });
    if (!paged.ok || !contiguous.ok) throw new Error('run failed');
    for (const t of paged.value.report.tasks) {
      const c = contiguous.value.report.tasks.find((x) => x.name === t.name)!;
      expect(c.predictions).toEqual(t.predictions);
      expect(t.insnPerInference / c.insnPerInference, t.name).toBeLessThan(1.1);
    }
  }, 120_000);

  it('stops with code 15 for a scale that is not a finite float32 > 0, shared (at boot) or exclusive (at the switch)', async () => {
    const run = async (name: string, file: 'fram.bin' | 'storage.bin', edit: (b: Uint8Array) => void) => {
      const out = join(dir, name);
      cpSync(fixtureI8Export, out, { recursive: true });
      const bytes = new Uint8Array(readFileSync(join(out, file)));
      edit(bytes);
      // Resealed: the blob's CRC is right, so only the scale check can catch it.
      writeFileSync(join(out, file), sealBlob(file === 'fram.bin' ? 'fram' : 'storage', bytes));
      const r = await runMcu(out, { target: 'qemu', timeoutMs: 60_000 });
      if (r.ok) throw new Error(`the firmware accepted ${name}`);
      return r.error;
    };
    const shared = await run('i8-shared-scale', 'fram.bin', (b) => {
      const v = new DataView(b.buffer);
      v.setFloat32(v.getUint32(72, true) + 4, Number.NaN, true);
    });
    expect((shared.details as { exitCode?: number }).exitCode).toBe(15);
    expect(shared.message).toMatch(/fram: a shared page's scale is not a finite float32 > 0/);
    const exclusive = await run('i8-exclusive-scale', 'storage.bin', (b) => {
      const v = new DataView(b.buffer);
      v.setFloat32(v.getUint32(STORAGE_HEADER_BYTES + 32 + 8, true), -0.5, true);
    });
    expect((exclusive.details as { exitCode?: number }).exitCode).toBe(15);
    expect(exclusive.message).toMatch(/digits8x8: an exclusive page's scale/);
    // Without the reseal, the CRC catches the same edit first.
    const unsealed = join(dir, 'i8-unsealed');
    cpSync(fixtureI8Export, unsealed, { recursive: true });
    const fram = new Uint8Array(readFileSync(join(unsealed, 'fram.bin')));
    const at = new DataView(fram.buffer).getUint32(72, true) + 3;
    fram[at] = fram[at]! ^ 0x80;
    writeFileSync(join(unsealed, 'fram.bin'), fram);
    const r = await runMcu(unsealed, { target: 'qemu', timeoutMs: 60_000 });
    expect(!r.ok && (r.error.details as { exitCode?: number }).exitCode).toBe(5);
  }, 120_000);
});

/** Plans the ten zoo tasks for the default profile with a few steps (the planner's full run is the bench's). */
function planZoo(bundle: string, extra: readonly string[] = []): void {
  execFileSync(
    process.execPath,
    [
      'bin/wsep.js',
      'plan',
      ...extra,
      '--steps',
      '2',
      '--eval-every',
      '1',
      '--fisher-samples',
      '32',
      '--device',
      'resources/firmware/profiles/mps2-an385.json',
      '--l2',
      '1MiB',
      '--out',
      bundle,
      '--progress',
      'none',
    ],
    { stdio: 'pipe' },
  );
}

describe('a plan of the ten zoo models under QEMU', () => {
  it('runs every task from one plan, predicting the host runtime’s class, within the default profile', async () => {
    const bundle = join(dir, 'zoo-plan');
    planZoo(bundle);
    // 8 samples per task: the soft-float Cortex-M3 takes 5–150 M instructions per inference.
    const made = await exported(bundle, join(dir, 'zoo-export'), 8);
    expect(made.models).toHaveLength(10);
    expect(made.memory.fram.usedBytes).toBeLessThanOrEqual(made.profile.l1Bytes);
    // The ten original f32 models would not fit the default FRAM: the plan is what makes them fit.
    expect(made.models.reduce((s, m) => s + m.wholeModelBytes, 0)).toBeGreaterThan(made.profile.l1Bytes);
    const run = await runMcu(join(dir, 'zoo-export'), { target: 'qemu', timeoutMs: 240_000 });
    if (!run.ok) throw new Error(run.error.message);
    expect(run.value.tasks).toHaveLength(10);
    for (const t of run.value.tasks) {
      expect(t.agreement, t.name).toBeGreaterThanOrEqual(0.999);
      expect(t.l2BytesPerSwitch, t.name).toBeLessThan(t.wholeModelBytes + 4096);
    }
    const fram = run.value.report.memory.fram;
    expect(fram['used']).toBe(made.memory.fram.usedBytes);
    expect(fram['used']).toBeLessThanOrEqual(fram['budget']!);
  }, 300_000);

  it('runs every task from one int8 plan, predicting the host runtime’s class on ≥ 99.9% of each slice', async () => {
    const bundle = join(dir, 'zoo-plan-i8');
    planZoo(bundle, ['--value-type', 'i8']);
    const made = await exported(bundle, join(dir, 'zoo-export-i8'), 8);
    expect(made.valueType).toBe('i8');
    expect(made.memory.fram.valueType).toBe('i8');
    expect(made.memory.fram.usedBytes).toBeLessThanOrEqual(made.profile.l1Bytes);
    expect(made.memory.l2.totalBytes).toBeLessThanOrEqual(made.profile.l2Bytes);
    // Even as int8 (codes and a scale per page), the ten whole models do not fit the default FRAM.
    expect(made.models.reduce((s, m) => s + m.wholeModelBytes, 0)).toBeGreaterThan(made.profile.l1Bytes);
    const run = await runMcu(join(dir, 'zoo-export-i8'), { target: 'qemu', timeoutMs: 240_000 });
    if (!run.ok) throw new Error(run.error.message);
    expect(run.value.tasks).toHaveLength(10);
    for (const t of run.value.tasks) {
      expect(t.agreement, t.name).toBeGreaterThanOrEqual(0.999);
      expect(t.l2BytesPerSwitch, t.name).toBe(made.models.find((m) => m.name === t.name)!.switchBytes);
    }
    expect(run.value.report.memory.fram['used']).toBe(made.memory.fram.usedBytes);
  }, 300_000);
});
