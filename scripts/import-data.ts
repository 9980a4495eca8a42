/**
 * Imports the ten tasks' data into the repository (resources/data/<task>/), so the product never
 * needs ../shared at run time. Deterministic: re-running gives byte-identical files.
 *
 *   node --import tsx scripts/import-data.ts [--source ../shared/datasets] [--only task,...] [--out resources/data] [--seed N]
 *
 * --source  the team datasets folder (default: ../shared/datasets next to the repository)
 * --only    comma-separated task ids (default: all ten, see shared/datasets/tasks.ts)
 * --out     where the task folders go (default: resources/data)
 * --seed    base seed of the random draws (default 20261126; changing it changes every split)
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toError } from '../shared/core/errors.ts';
import { DEFAULT_SEED, importTask } from '../shared/datasets/importer.ts';
import { TASKS } from '../shared/datasets/tasks.ts';
import { writeTaskDir } from '../shared/datasets/write.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Per-task and total size budgets of the repository copy (bytes of x + y). */
export const TASK_BUDGET_BYTES = 15 * 1024 * 1024;
export const TOTAL_BUDGET_BYTES = 70 * 1024 * 1024;

export interface Io {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

const consoleIo: Io = { out: (l) => console.log(l), err: (l) => console.error(l) };

interface Args {
  source: string;
  out: string;
  only: string[] | undefined;
  seed: number;
}

function parseArgs(argv: readonly string[]): Args | string {
  const args: Args = {
    source: resolve(REPO, '../shared/datasets'),
    out: join(REPO, 'resources/data'),
    only: undefined,
    seed: DEFAULT_SEED,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    if (flag === '--help' || flag === '-h') return 'usage';
    if (!['--source', '--out', '--only', '--seed'].includes(flag)) return `unknown argument '${flag}'`;
    if (value === undefined || value.startsWith('--')) return `${flag} needs a value`;
    i++;
    if (flag === '--source') args.source = resolve(value);
    else if (flag === '--out') args.out = resolve(value);
    else if (flag === '--seed') {
      if (!/^\d+$/.test(value)) return `--seed must be a non-negative integer (got '${value}')`;
      args.seed = Number(value);
    } else {
      args.only = value
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t.length > 0);
      const unknown = args.only.filter((t) => !TASKS.some((s) => s.task === t));
      if (unknown.length > 0)
        return `unknown task${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: ${TASKS.map((t) => t.task).join(', ')})`;
    }
  }
  return args;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}

/** Runs the import; returns the exit code (0 = every selected task written). */
export function main(argv: readonly string[], io: Io = consoleIo): number {
  const args = parseArgs(argv);
  if (args === 'usage') {
    io.out(
      'usage: node --import tsx scripts/import-data.ts [--source DIR] [--only task,...] [--out DIR] [--seed N]',
    );
    return 0;
  }
  if (typeof args === 'string') {
    io.err(`import-data: ${args}`);
    return 2;
  }
  const specs = TASKS.filter((t) => args.only === undefined || args.only.includes(t.task));
  const options = { sourceRoot: args.source, modulesDir: join(REPO, 'node_modules'), seed: args.seed };
  let failed = 0;
  let total = 0;
  specs.forEach((spec, k) => {
    const started = performance.now();
    const prefix = `[${k + 1}/${specs.length}] ${spec.task}`;
    try {
      const packed = importTask(spec, options);
      const bytes = packed.x.byteLength + packed.y.byteLength;
      if (bytes > TASK_BUDGET_BYTES)
        throw new Error(
          `${mb(bytes)} exceeds the per-task budget of ${mb(TASK_BUDGET_BYTES)}; draw fewer samples in tasks.ts`,
        );
      const written = writeTaskDir(args.out, packed);
      if (!written.ok) throw new Error(written.error.message);
      total += bytes;
      const c = packed.meta.counts;
      const err =
        packed.meta.x.maxAbsError > 0
          ? `, max quantisation error ${packed.meta.x.maxAbsError.toExponential(1)}`
          : '';
      io.out(
        `${prefix}: ${c.train}/${c.val}/${c.test} train/val/test, ${packed.meta.x.file} ${mb(bytes)}${err} (${((performance.now() - started) / 1000).toFixed(1)} s)`,
      );
    } catch (thrown) {
      failed++;
      io.err(`${prefix}: FAILED: ${toError(thrown, 'E_DATASET').message}`);
    }
  });
  io.out(`${specs.length - failed} of ${specs.length} tasks written to ${args.out}, ${mb(total)} in all`);
  if (args.only === undefined && total > TOTAL_BUDGET_BYTES) {
    io.err(`import-data: the tasks take ${mb(total)}, over the ${mb(TOTAL_BUDGET_BYTES)} budget`);
    return 1;
  }
  return failed > 0 ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
