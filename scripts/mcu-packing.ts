/**
 * The packing figure on the microcontroller (issue 14): the ten zoo tasks planned with int8 pages
 * (`wsep plan --value-type i8`, the planner's normal steps) for the default MCU profile, at budgets
 * where the original f32 bytes ÷ the plan's stored bytes (shared pages + page tables + exclusive pages,
 * int8 codes and their scales, shared/image/memory.ts) is at least --ratio; then the blobs exported for
 * the profile, for the memory map the firmware gets.
 *
 *   node --import tsx scripts/mcu-packing.ts [--ratio 24] [--out plans/mcu-packing] [--seed 1]
 *     [--steps n] [--eval-every n] [--fisher-samples n] [--samples 64] [--data dir[,dir]]
 *
 * Reports per task the original f32 model's accuracy, the int8 plan's and Δ, on test (reported only:
 * every decision, the planner's snapshot selection among them, is made on validation) and on
 * validation; the packing both ways (stored, and with the MCU runtime's residency); and the FRAM and
 * flash maps. Writes <out>/plan (the bundle), <out>/export (blobs, mcu.json) and <out>/summary.md.
 *
 * Why the budget is on stored bytes: level 1 as memory.ts counts it includes the firmware's
 * activation arena (the profile's 132 KiB, needed by any inference, paged or not), which alone is more
 * than the 2.59 MB of zoo weights ÷ 24; the device packing is reported beside it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fail, ok, unwrap, type Result } from '../shared/core/errors.ts';
import { formatBytes } from '../shared/core/units.ts';
import { dataRoots } from '../shared/datasets/roots.ts';
import { pageBytes } from '../shared/image/memory.ts';
import { readBundle } from '../shared/image/read.ts';
import type { PlanReport } from '../shared/image/report.ts';
import { readBoard, resolveMcuProfile } from '../shared/mcu/board.ts';
import { exportMcu, type McuExport } from '../shared/mcu/export.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PROFILE = join(REPO, 'resources', 'firmware', 'profiles', 'mps2-an385.json');
const PAGE_SIZE = 512;
/** Share of the stored bytes given to level 2 (exclusive pages). */
const L2_SHARE = 0.1;
/** The zoo's model count: the level-2 bound below uses it. */
const TASKS = 10;

export interface PackingBudgets {
  readonly l1Bytes: number;
  readonly l2Bytes: number;
  /** The stored bytes the budgets guarantee at most. */
  readonly storedTarget: number;
}

/**
 * Budgets for which any plan the planner makes stores at most original ÷ ratio bytes. The planner
 * keeps level 1 = shared + tables + arena + R pages (R ≥ the largest model's exclusive pages, so R ≥
 * ΣE ÷ 10) within l1, and ΣE pages within l2; hence stored = shared + tables + ΣE pages ≤ l1 − arena
 * + (1 − 1/10) × l2, which these budgets set to the target.
 */
export function packingBudgets(originalBytes: number, ratio: number, arenaBytes: number): PackingBudgets {
  const storedTarget = Math.floor(originalBytes / ratio);
  const l2Bytes = Math.floor(storedTarget * L2_SHARE);
  const l1Bytes = arenaBytes + storedTarget - Math.ceil(l2Bytes * (1 - 1 / TASKS));
  return { l1Bytes, l2Bytes, storedTarget };
}

export interface PackingResult {
  readonly report: PlanReport;
  readonly exported: McuExport;
  readonly budgets: PackingBudgets;
  readonly markdown: string;
}

const pts = (v: number): string => `${v >= 0 ? '+' : ''}${(v * 100).toFixed(2)}`;
const pc = (v: number): string => `${(v * 100).toFixed(2)}%`;

export function summarise(
  report: PlanReport,
  exported: McuExport,
  budgets: PackingBudgets,
  ratio: number,
): string {
  const t = report.totals;
  const rows = report.tasks.map(
    (x) =>
      `| ${x.task} | ${pc(x.test.before)} | ${pc(x.test.after)} | ${pts(x.test.after - x.test.before)} | ${pc(x.val.before)} | ${pc(x.val.after)} | ${pts(x.val.after - x.val.before)} | ${x.f32Pages ? pc(x.f32Pages.test) : '—'} | ${x.exclusivePages} / ${x.pages} |`,
  );
  const mean = (f: (x: PlanReport['tasks'][number]) => number): number =>
    report.tasks.reduce((a, x) => a + f(x), 0) / report.tasks.length;
  const fram = exported.memory.fram;
  const l2 = exported.memory.l2;
  return [
    `# int8 packing on the MCU (${exported.profile.name})`,
    '',
    `Ten zoo tasks, \`wsep plan --value-type i8 --device ${exported.profile.name}\` at --l1 ${budgets.l1Bytes} --l2 ${budgets.l2Bytes} (stored bytes at most ${budgets.storedTarget} = original ÷ ${ratio}), ${report.timing.steps} steps (snapshot at step ${report.timing.bestStep}).`,
    '',
    `| task | test, f32 original | test, i8 plan | Δ test (pts, reported) | val, f32 original | val, i8 plan | Δ val (pts) | test, the same pages as f32 | exclusive / pages |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `Mean Δ: test ${pts(mean((x) => x.test.after - x.test.before))} points, validation ${pts(mean((x) => x.val.after - x.val.before))} points (decisions on validation; the target is a mean Δ of at least −1 point).`,
    '',
    `Packing: original f32 bytes ${t.originalBytes} ÷ stored (int8 shared pages ${t.sharedBytes} + page tables ${t.pageTableBytes} + int8 exclusive pages ${t.exclusiveBytes}, scales included) = **${t.storedPacking.toFixed(2)}×** (target ≥ ${ratio}×). With the MCU runtime's residency (activation arena ${t.runtime.activationArena}, exclusive-page buffer ${t.runtime.exclusiveBuffer}): level 1 ${t.l1Bytes} + level 2 ${t.l2Bytes} → ${t.devicePacking.toFixed(2)}×.`,
    '',
    `Memory map (${exported.profile.name}, ${exported.valueType} pages):`,
    '',
    '| region | part | bytes |',
    '|---|---|---:|',
    `| FRAM (budget ${formatBytes(fram.budgetBytes)}) | header | 80 |`,
    `| | shared pages (codes ${fram.sharedBytes - fram.scalesBytes}, scales ${fram.scalesBytes}) | ${fram.sharedBytes} |`,
    `| | page tables and directory | ${fram.tablesBytes} |`,
    `| | activation arena | ${fram.arenaBytes} |`,
    `| | exclusive-page buffer | ${fram.exclusiveBytes} |`,
    `| | descriptor buffer | ${fram.descriptorBytes} |`,
    `| | **used** | **${fram.usedBytes}** |`,
    `| flash (budget ${formatBytes(l2.budgetBytes)}) | exclusive pages (codes and scales) | ${l2.exclusiveBytes} |`,
    `| | descriptors | ${l2.descriptorBytes} |`,
    `| | test slices (${exported.models[0]?.samples ?? 0} samples per task) | ${l2.sliceBytes} |`,
    `| | **used** | **${l2.totalBytes}** |`,
    '',
    `Level-2 bytes per switch (descriptor + exclusive codes and scales): ${exported.models.map((m) => `${m.name} ${m.switchBytes}`).join(', ')}.`,
  ].join('\n');
}

export async function runPacking(options: {
  ratio: number;
  out: string;
  seed: number;
  samples: number;
  roots: readonly string[];
  planArgs: readonly string[];
  log: (line: string) => void;
}): Promise<Result<PackingResult>> {
  // The zoo's weight counts (resources/zoo/zoo.json); the plan's report states the same original bytes.
  const zoo = JSON.parse(readFileSync(join(REPO, 'resources', 'zoo', 'zoo.json'), 'utf8')) as {
    models: { task: string; weights: number }[];
  };
  const originalBytes = zoo.models.reduce((a, m) => a + m.weights * 4, 0);
  const profile = resolveMcuProfile('mps2-an385', REPO);
  if (!profile.ok) return profile;
  if (profile.value.runtime.kind !== 'mcu')
    return fail('E_USAGE', 'The default MCU profile has no mcu runtime.');
  const budgets = packingBudgets(originalBytes, options.ratio, profile.value.runtime.activationArenaBytes);
  const bundle = join(options.out, 'plan');
  options.log(
    `planning ten zoo tasks, i8 pages of ${PAGE_SIZE} (${pageBytes(PAGE_SIZE, 'i8')} B each), --l1 ${budgets.l1Bytes} --l2 ${budgets.l2Bytes}…`,
  );
  try {
    execFileSync(
      process.execPath,
      [
        join(REPO, 'bin', 'wsep.js'),
        'plan',
        '--value-type',
        'i8',
        '--device',
        PROFILE,
        '--l1',
        String(budgets.l1Bytes),
        '--l2',
        String(budgets.l2Bytes),
        '--page-size',
        String(PAGE_SIZE),
        '--seed',
        String(options.seed),
        '--data',
        options.roots.join(','),
        '--out',
        bundle,
        '--progress',
        'lines',
        ...options.planArgs,
      ],
      { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] },
    );
  } catch (thrown) {
    return fail('E_USAGE', `wsep plan failed: ${(thrown as Error).message.split('\n')[0]}`);
  }
  const read = await readBundle(bundle);
  if (!read.ok) return read;
  const report = read.value.plan.report;
  if (!report) return fail('E_BUNDLE', `The bundle at ${bundle} has no planner report.`);
  if (report.totals.originalBytes !== originalBytes)
    return fail(
      'E_BUNDLE',
      `The plan's original bytes ${report.totals.originalBytes} are not zoo.json's ${originalBytes}.`,
    );
  options.log('exporting the blobs for the default MCU profile…');
  const board = readBoard();
  if (!board.ok) return board;
  const exported = await exportMcu(bundle, join(options.out, 'export'), {
    board: board.value,
    profile: profile.value,
    dataRoots: options.roots,
    samples: options.samples,
  });
  if (!exported.ok) return exported;
  const markdown = summarise(report, exported.value, budgets, options.ratio);
  writeFileSync(join(options.out, 'summary.md'), `${markdown}\n`);
  return ok({ report, exported: exported.value, budgets, markdown });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ratio: { type: 'string', default: '24' },
      out: { type: 'string', default: join(REPO, 'plans', 'mcu-packing') },
      seed: { type: 'string', default: '1' },
      samples: { type: 'string', default: '64' },
      data: { type: 'string' },
      steps: { type: 'string' },
      'eval-every': { type: 'string' },
      'fisher-samples': { type: 'string' },
    },
  });
  const planArgs = (['steps', 'eval-every', 'fisher-samples'] as const).flatMap((k) =>
    values[k] !== undefined ? [`--${k}`, values[k]] : [],
  );
  const out = resolve(values.out);
  mkdirSync(out, { recursive: true });
  const result = unwrap(
    await runPacking({
      ratio: Number(values.ratio),
      out,
      seed: Number(values.seed),
      samples: Number(values.samples),
      roots: dataRoots(values.data, REPO),
      planArgs,
      log: (line) => process.stderr.write(`${line}\n`),
    }),
  );
  process.stdout.write(`${result.markdown}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
