/**
 * What the app can plan with: the models (the bundled zoo's ONNX files, and the user's in the app's
 * models folder) and the task data sets (the user's folders first, the bundled resources/data last,
 * as datasets/roots.ts orders them). Read from zoo.json and each task's meta.json; no samples are read.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ok, type Result } from '../core/errors.ts';
import { DEFAULT_DATA_ROOT, listTasks, readTaskMeta } from '../datasets/load.ts';
import type { DatasetListing, ModelListing } from './contract.ts';

/** The bundled zoo: resources/zoo of this repository. */
export const ZOO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../resources/zoo');

interface ZooEntry {
  readonly task?: unknown;
  readonly file?: unknown;
  readonly weights?: unknown;
}

function zooWeights(zooDir: string): Map<string, number> {
  const weights = new Map<string, number>();
  try {
    const zoo = JSON.parse(readFileSync(join(zooDir, 'zoo.json'), 'utf8')) as { models?: ZooEntry[] };
    for (const m of zoo.models ?? [])
      if (typeof m.file === 'string' && typeof m.weights === 'number') weights.set(m.file, m.weights);
  } catch {
    // no zoo.json: the files are listed without their weight counts
  }
  return weights;
}

function onnxFiles(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.onnx'))
      .sort();
  } catch {
    return [];
  }
}

/** The zoo's models and the user's (`userModelsDir`), each with the task data it pairs with by name. */
export function listModels(
  zooDir: string,
  userModelsDir: string,
  dataRoots: readonly string[],
): Result<ModelListing[]> {
  const tasks = new Map<string, string>();
  for (const root of [...dataRoots].reverse()) {
    const listed = listTasks(root);
    if (listed.ok) for (const t of listed.value) tasks.set(t, join(root, t));
  }
  const weights = zooWeights(zooDir);
  const models: ModelListing[] = [];
  for (const [source, dir] of [
    ['zoo', zooDir],
    ['user', userModelsDir],
  ] as const) {
    for (const file of onnxFiles(dir)) {
      const path = join(dir, file);
      const name = basename(file, '.onnx');
      models.push({
        name,
        source,
        path,
        bytes: statSync(path).size,
        weights: weights.get(file) ?? null,
        dataPath: tasks.get(name) ?? null,
      });
    }
  }
  return ok(models);
}

/** Every task data set under `roots` (a task found twice is listed from the first root). */
export function listDatasets(roots: readonly string[]): Result<DatasetListing[]> {
  const seen = new Set<string>();
  const sets: DatasetListing[] = [];
  for (const root of roots) {
    const listed = listTasks(root);
    if (!listed.ok) continue;
    for (const task of listed.value) {
      if (seen.has(task)) continue;
      seen.add(task);
      const path = join(root, task);
      const meta = readTaskMeta(path);
      sets.push({
        task,
        source: root === DEFAULT_DATA_ROOT ? 'zoo' : 'user',
        path,
        classes: meta.ok ? meta.value.classes.length : null,
        samples: meta.ok
          ? { train: meta.value.counts.train, val: meta.value.counts.val, test: meta.value.counts.test }
          : null,
      });
    }
  }
  return ok(sets);
}
