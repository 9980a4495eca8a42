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
 * Both value types, on the same samples: a plan with f32 pages and a plan with int8 pages (one scale
 * per page, `wsep plan --value-type i8`), planned alike for the same profile and budgets. int8 pages
 * keep f32 activations: the kernels read codes through a 256-entry code-to-float table and apply each
 * page's scale once per run (README.md of the firmware, "int8 pages").
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
import type { ValueType } from '../shared/image/plan.ts';
import { exportMcu, type McuExport } from '../shared/mcu/export.ts';
import { runMcu, type McuRunResult, type McuTaskResult } from '../shared/mcu/run.ts';
import type { BenchContext, BenchReport, BenchSection } from './harness.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Level-2 read bandwidths the switch time is modelled at (bytes per second), with where they come from. */
export const STORAGE_BANDWIDTHS = [
  { name: 'SPI NOR flash, quad, 50 MHz', bytesPerSecond: 25_000_000 },
  { name: 'SD card, SPI mode, 25 MHz', bytesPerSecond: 3_125_000 },
] as const;

function planZoo(out: string, steps: number, valueType: ValueType): void {
  execFileSync(
    process.execPath,
    [
      join(REPO, 'bin', 'wsep.js'),
      'plan',
      '--value-type',
      valueType,
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

interface Measured {
  readonly made: McuExport;
  readonly paged: McuRunResult;
  readonly flat: McuRunResult;
}

interface Summary {
  readonly meanOverhead: number;
  readonly maxOverhead: number;
  readonly separated: number;
  readonly whole: number;
  readonly disagreements: number;
  readonly insns: number;
  readonly samples: number;
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
      const board = unwrap(readBoard());
      const profile = unwrap(resolveMcuProfile('mps2-an385', REPO));
      const measured = new Map<ValueType, Measured>();
      for (const valueType of ['f32', 'i8'] as const) {
        const given = ctx.option(valueType === 'f32' ? 'plan' : 'plan-i8');
        const bundle = given ?? join(work, `plan-${valueType}`);
        if (!given) {
          ctx.log(`planning the ten zoo tasks for the default MCU profile, ${valueType} pages (few steps)…`);
          planZoo(bundle, ctx.quick ? 2 : 20, valueType);
        }
        const out = join(work, `export-${valueType}`);
        ctx.log(`exporting the ${valueType} blobs (${samples} sample${samples > 1 ? 's' : ''} per task)…`);
        // The same seed and sample count for both: the same test samples.
        const made = unwrap(
          await exportMcu(bundle, out, { board, profile, dataRoots: dataRoots(undefined, REPO), samples }),
        );
        ctx.log(`running the ${valueType} paged build under QEMU…`);
        const paged = unwrap(await runMcu(out, { target: 'qemu', access: 'paged', timeoutMs: 600_000 }));
        ctx.log(`running the ${valueType} contiguous build under QEMU…`);
        const flat = unwrap(await runMcu(out, { target: 'qemu', access: 'contiguous', timeoutMs: 600_000 }));
        measured.set(valueType, { made, paged, flat });
      }
      const rows: string[] = [];
      const summary = new Map<ValueType, Summary>();
      for (const [valueType, { paged, flat }] of measured) {
        const overheads: number[] = [];
        let separated = 0;
        let whole = 0;
        let disagreements = 0;
        let insns = 0;
        for (const p of paged.tasks) {
          const c: McuTaskResult = flat.tasks.find((t) => t.name === p.name)!;
          const overhead = p.insnPerInference / c.insnPerInference - 1;
          overheads.push(overhead);
          separated += p.l2BytesPerSwitch;
          whole += p.wholeModelBytes;
          insns += p.insnPerInference;
          disagreements += Math.round((1 - p.agreement) * p.n);
          rows.push(
            `| ${p.name} | ${valueType} | ${p.insnPerInference.toLocaleString('en')} | ${c.insnPerInference.toLocaleString('en')} | ${pct(overhead)} | ${formatBytes(p.l2BytesPerSwitch)} | ${formatBytes(p.wholeModelBytes)} | ${STORAGE_BANDWIDTHS.map((b) => `${ms(p.l2BytesPerSwitch, b.bytesPerSecond).toFixed(2)} / ${ms(p.wholeModelBytes, b.bytesPerSecond).toFixed(2)}`).join(' | ')} |`,
          );
        }
        summary.set(valueType, {
          meanOverhead: overheads.reduce((a, b) => a + b, 0) / overheads.length,
          maxOverhead: Math.max(...overheads),
          separated,
          whole,
          disagreements,
          insns,
          samples: paged.tasks.reduce((s, t) => s + t.n, 0),
        });
      }
      const f = summary.get('f32')!;
      const q = summary.get('i8')!;
      const lines = (valueType: ValueType, x: Summary): string => {
        const fram = measured.get(valueType)!.made.memory.fram;
        const l2 = measured.get(valueType)!.made.memory.l2;
        return `**${valueType} pages.** Page-table indirection: ${pct(x.meanOverhead)} instructions on average, at most ${pct(x.maxOverhead)} (target: at most +10%). A switch through all ten tasks reads ${formatBytes(x.separated)} from level 2 with weight separation against ${formatBytes(x.whole)} for whole ${valueType} models (${(x.whole / Math.max(1, x.separated)).toFixed(1)}× less); modelled at ${STORAGE_BANDWIDTHS.map((b) => `${b.name} (≈${(b.bytesPerSecond / 1e6).toFixed(1)} MB/s, an assumption) ${ms(x.separated, b.bytesPerSecond).toFixed(1)} ms against ${ms(x.whole, b.bytesPerSecond).toFixed(1)} ms`).join('; ')}. FRAM used ${formatBytes(fram.usedBytes)} of ${formatBytes(fram.budgetBytes)} (shared pages ${formatBytes(fram.sharedBytes)}, tables ${formatBytes(fram.tablesBytes)}, arena ${formatBytes(fram.arenaBytes)}, exclusive buffer ${formatBytes(fram.exclusiveBytes)}); flash used ${formatBytes(l2.totalBytes)} of ${formatBytes(l2.budgetBytes)} (exclusive pages ${formatBytes(l2.exclusiveBytes)}). The firmware predicted the host runtime's class on all but ${x.disagreements} of ${x.samples} samples.`;
      };
      const markdown = [
        `The ten zoo tasks from a plan made for the default profile (${formatBytes(profile.l1Bytes)} FRAM, ${formatBytes(profile.l2Bytes)} flash), once with f32 pages and once with int8 pages, ${samples} test sample${samples > 1 ? 's' : ''} per task (the same samples for both), both firmware builds on the same blobs under \`qemu-system-arm -M mps2-an385 -icount shift=0\`.${ctx.quick ? ' **--quick run** (2-step plans, 1 sample per task).' : ''}`,
        '',
        `| task | pages | instructions / inference, page table | contiguous | page-table cost | level 2 per switch, separated | whole model | ${STORAGE_BANDWIDTHS.map((b) => `switch ms, ${b.name} (separated / whole)`).join(' | ')} |`,
        `|---|---|---:|---:|---:|---:|---:|${STORAGE_BANDWIDTHS.map(() => '---:').join('|')}|`,
        ...rows,
        '',
        lines('f32', f),
        '',
        lines('i8', q),
        '',
        `int8 against f32 pages: ${(q.insns / f.insns).toFixed(3)}× the instructions per inference summed over the ten tasks (f32 activations both; the codes are read through a code-to-float table, the scale applied once per run), ${(f.separated / Math.max(1, q.separated)).toFixed(2)}× fewer level-2 bytes per switch cycle.`,
      ].join('\n');
      return {
        markdown,
        figures: {
          pageTableOverheadMean: f.meanOverhead,
          pageTableOverheadMax: f.maxOverhead,
          l2BytesPerCycleSeparated: f.separated,
          l2BytesPerCycleWhole: f.whole,
          switchMsSeparatedNor: ms(f.separated, STORAGE_BANDWIDTHS[0].bytesPerSecond),
          switchMsWholeNor: ms(f.whole, STORAGE_BANDWIDTHS[0].bytesPerSecond),
          switchMsSeparatedSd: ms(f.separated, STORAGE_BANDWIDTHS[1].bytesPerSecond),
          switchMsWholeSd: ms(f.whole, STORAGE_BANDWIDTHS[1].bytesPerSecond),
          framUsedBytes: measured.get('f32')!.made.memory.fram.usedBytes,
          disagreements: f.disagreements,
          i8PageTableOverheadMean: q.meanOverhead,
          i8PageTableOverheadMax: q.maxOverhead,
          i8L2BytesPerCycleSeparated: q.separated,
          i8L2BytesPerCycleWhole: q.whole,
          i8SwitchMsSeparatedNor: ms(q.separated, STORAGE_BANDWIDTHS[0].bytesPerSecond),
          i8FramUsedBytes: measured.get('i8')!.made.memory.fram.usedBytes,
          i8Disagreements: q.disagreements,
          i8InsnRatio: q.insns / f.insns,
        },
      };
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
};
