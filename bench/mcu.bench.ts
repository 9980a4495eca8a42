/**
 * The ten zoo tasks on the emulated microcontroller (QEMU mps2-an385, Cortex-M3, `-icount shift=0`),
 * from one plan made for the default MCU profile, on the same blobs and samples in both firmware builds:
 *   (a) instructions per inference with weights read through the page table, against the same kernels
 *       on each model's weights gathered contiguously (`-DWSEP_CONTIGUOUS`): the indirection's cost;
 *   (b) per switch, the bytes read from level 2 (flash storage) with weight separation — the model's
 *       descriptor and exclusive pages, the shared pages staying in FRAM — against reading the whole
 *       model, the baseline when the ten models do not fit in FRAM together;
 *   (c) the switch time those bytes model at a STATED storage bandwidth: SPI NOR flash in quad mode at
 *       50 MHz (4 bits per clock, about 25 MB/s), and an SD card in SPI mode at 25 MHz (1 bit per clock,
 *       about 3.1 MB/s). Assumptions, not measurements: QEMU's flash window is plain memory.
 * Instructions are the firmware's SysTick count at one instruction per cycle (exact to ±40 per run).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unwrap } from '../shared/core/errors.ts';
import { formatBytes } from '../shared/core/units.ts';
import { dataRoots } from '../shared/datasets/roots.ts';
import { readBoard, resolveMcuProfile } from '../shared/mcu/board.ts';
import { exportMcu } from '../shared/mcu/export.ts';
import { runMcu, type McuTaskResult } from '../shared/mcu/run.ts';
import type { BenchContext, BenchReport, BenchSection } from './harness.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Level-2 read bandwidths the switch time is modelled at (bytes per second), with where they come from. */
export const STORAGE_BANDWIDTHS = [
  { name: 'SPI NOR flash, quad, 50 MHz', bytesPerSecond: 25_000_000 },
  { name: 'SD card, SPI mode, 25 MHz', bytesPerSecond: 3_125_000 },
] as const;

function planZoo(out: string, steps: number): void {
  execFileSync(
    process.execPath,
    [
      join(REPO, 'bin', 'wsep.js'),
      'plan',
      '--steps',
      String(steps),
      '--eval-every',
      String(steps),
      '--fisher-samples',
      '32',
      '--device',
      join(REPO, 'resources', 'firmware', 'profiles', 'mps2-an385.json'),
      '--l2',
      '1MiB',
      '--out',
      out,
      '--progress',
      'none',
    ],
    { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] },
  );
}

const ms = (bytes: number, bytesPerSecond: number): number => (bytes / bytesPerSecond) * 1000;
const pct = (v: number): string => `${v >= 0 ? '+' : ''}${(v * 100).toFixed(2)}%`;

export const mcuSection: BenchSection = {
  id: 'mcu',
  title: 'Microcontroller: page-table cost and level-2 bytes per switch (QEMU mps2-an385)',
  async run(ctx: BenchContext): Promise<BenchReport> {
    const work = mkdtempSync(join(tmpdir(), 'wsep-bench-mcu-'));
    try {
      const samples = ctx.quick ? 1 : 8;
      const bundle = ctx.option('plan') ?? join(work, 'plan');
      if (!ctx.option('plan')) {
        ctx.log('planning the ten zoo tasks for the default MCU profile (few steps)…');
        planZoo(bundle, ctx.quick ? 2 : 20);
      }
      const board = unwrap(readBoard());
      const profile = unwrap(resolveMcuProfile('mps2-an385', REPO));
      const out = join(work, 'export');
      ctx.log(`exporting the blobs (${samples} sample${samples > 1 ? 's' : ''} per task)…`);
      const made = unwrap(
        await exportMcu(bundle, out, { board, profile, dataRoots: dataRoots(undefined, REPO), samples }),
      );
      ctx.log('running the paged build under QEMU…');
      const paged = unwrap(await runMcu(out, { target: 'qemu', access: 'paged', timeoutMs: 600_000 }));
      ctx.log('running the contiguous build under QEMU…');
      const flat = unwrap(await runMcu(out, { target: 'qemu', access: 'contiguous', timeoutMs: 600_000 }));
      const rows: string[] = [];
      const overheads: number[] = [];
      let separated = 0;
      let whole = 0;
      let disagreements = 0;
      for (const p of paged.tasks) {
        const c: McuTaskResult = flat.tasks.find((t) => t.name === p.name)!;
        const overhead = p.insnPerInference / c.insnPerInference - 1;
        overheads.push(overhead);
        separated += p.l2BytesPerSwitch;
        whole += p.wholeModelBytes;
        disagreements += Math.round((1 - p.agreement) * p.n);
        rows.push(
          `| ${p.name} | ${p.insnPerInference.toLocaleString('en')} | ${c.insnPerInference.toLocaleString('en')} | ${pct(overhead)} | ${formatBytes(p.l2BytesPerSwitch)} | ${formatBytes(p.wholeModelBytes)} | ${STORAGE_BANDWIDTHS.map((b) => `${ms(p.l2BytesPerSwitch, b.bytesPerSecond).toFixed(2)} / ${ms(p.wholeModelBytes, b.bytesPerSecond).toFixed(2)}`).join(' | ')} |`,
        );
      }
      const maxOverhead = Math.max(...overheads);
      const meanOverhead = overheads.reduce((a, b) => a + b, 0) / overheads.length;
      const fram = made.memory.fram;
      const markdown = [
        `The ten zoo tasks from one plan made for the default profile (${formatBytes(profile.l1Bytes)} FRAM, ${formatBytes(profile.l2Bytes)} flash), ${samples} test sample${samples > 1 ? 's' : ''} per task, both firmware builds on the same blobs under \`qemu-system-arm -M mps2-an385 -icount shift=0\`.${ctx.quick ? ' **--quick run** (a 2-step plan, 1 sample per task).' : ''}`,
        '',
        `| task | instructions / inference, page table | contiguous | page-table cost | level 2 per switch, separated | whole model | ${STORAGE_BANDWIDTHS.map((b) => `switch ms, ${b.name} (separated / whole)`).join(' | ')} |`,
        `|---|---:|---:|---:|---:|---:|${STORAGE_BANDWIDTHS.map(() => '---:').join('|')}|`,
        ...rows,
        '',
        `Page-table indirection: ${pct(meanOverhead)} instructions on average, at most ${pct(maxOverhead)} (target: at most +10%). A switch through all ten tasks reads ${formatBytes(separated)} from level 2 with weight separation against ${formatBytes(whole)} for whole models (${(whole / Math.max(1, separated)).toFixed(1)}× less); modelled at ${STORAGE_BANDWIDTHS.map((b) => `${b.name} (≈${(b.bytesPerSecond / 1e6).toFixed(1)} MB/s, an assumption) ${ms(separated, b.bytesPerSecond).toFixed(1)} ms against ${ms(whole, b.bytesPerSecond).toFixed(1)} ms`).join('; ')}.`,
        `FRAM used ${formatBytes(fram.usedBytes)} of ${formatBytes(fram.budgetBytes)}; flash used ${formatBytes(made.memory.l2.totalBytes)} of ${formatBytes(made.memory.l2.budgetBytes)}. The firmware predicted the host runtime's class on all but ${disagreements} of ${paged.tasks.reduce((s, t) => s + t.n, 0)} samples.`,
      ].join('\n');
      return {
        markdown,
        figures: {
          pageTableOverheadMean: meanOverhead,
          pageTableOverheadMax: maxOverhead,
          l2BytesPerCycleSeparated: separated,
          l2BytesPerCycleWhole: whole,
          switchMsSeparatedNor: ms(separated, STORAGE_BANDWIDTHS[0].bytesPerSecond),
          switchMsWholeNor: ms(whole, STORAGE_BANDWIDTHS[0].bytesPerSecond),
          switchMsSeparatedSd: ms(separated, STORAGE_BANDWIDTHS[1].bytesPerSecond),
          switchMsWholeSd: ms(whole, STORAGE_BANDWIDTHS[1].bytesPerSecond),
          framUsedBytes: fram.usedBytes,
          disagreements,
        },
      };
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
};
