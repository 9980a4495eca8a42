import { resolve } from 'node:path';
import { fail, ok } from '../../core/errors.ts';
import { formatBytes } from '../../core/units.ts';
import { buildGpuZoo } from '../../zoo/build-gpu.ts';
import { buildZoo, readZooManifest, type ZooManifest } from '../../zoo/build.ts';
import { ZOO_TASKS } from '../../zoo/tasks.ts';
import { progressSink, type Command } from '../command.ts';

export const DEFAULT_ZOO_DIR = 'resources/zoo';

export function renderZoo(manifest: ZooManifest): string {
  const rows = manifest.models.map((m) =>
    [
      m.task.padEnd(16),
      String(m.weights).padStart(7),
      formatBytes(m.bytes).padStart(10),
      (m.valAccuracy * 100).toFixed(2).padStart(6),
      (m.testAccuracy * 100).toFixed(2).padStart(6),
      `${m.trainSeconds.toFixed(0)} s`.padStart(7),
    ].join('  '),
  );
  return [`${'task'.padEnd(16)}  weights       bytes    val   test    time`, ...rows].join('\n');
}

export const zooCommand: Command = {
  name: 'zoo',
  summary: 'Build or list the bundled ten-task model zoo.',
  usage:
    'wsep zoo build|list [--only task,...] [--out dir] [--seed n] [--scale f] [--concurrency n] [--json]',
  description: [
    'build: trains every task’s model with the engine (seeded; train split for training, validation for',
    'selection, test measured once) and writes <out>/<task>.onnx and <out>/zoo.json.',
    `Tasks: ${ZOO_TASKS.map((t) => t.id).join(', ')}.`,
    'list: prints the zoo table from <out>/zoo.json.',
  ].join('\n'),
  positionals: { min: 1, max: 1, names: 'build or list' },
  options: [
    {
      name: 'only',
      kind: 'string',
      value: 'task,...',
      description: 'Build only these tasks (the others keep their entries).',
    },
    { name: 'out', kind: 'string', value: 'dir', description: 'Zoo folder.', default: DEFAULT_ZOO_DIR },
    {
      name: 'seed',
      kind: 'number',
      description: 'Seed for initialisation, batches and augmentation.',
      default: 1,
    },
    {
      name: 'scale',
      kind: 'number',
      description: 'Multiply every task’s step budget (0.1 for a smoke build).',
      default: 1,
    },
    {
      name: 'concurrency',
      kind: 'number',
      description: 'Tasks trained at once (one core each).',
      default: 2,
    },
    {
      name: 'gpu',
      kind: 'flag',
      description: 'Build the SOTA-size GPU architectures instead (trained on CIFAR-10 for a bounded time).',
    },
    { name: 'seconds', kind: 'number', description: 'With --gpu: training time per model.', default: 120 },
    { name: 'json', kind: 'flag', description: 'Print the manifest as JSON.' },
  ],
  async run(args, ctx) {
    const out = resolve(ctx.cwd, String(args.options['out']));
    const action = args.positionals[0];
    if (action === 'list') {
      const m = readZooManifest(out);
      if (!m.ok) return m;
      ctx.out(args.options['json'] ? JSON.stringify(m.value, null, 2) : renderZoo(m.value));
      return ok(0);
    }
    if (action !== 'build')
      return fail(
        'E_USAGE',
        `wsep zoo: unknown action "${action}".`,
        'Use "wsep zoo build" or "wsep zoo list".',
      );
    const only = args.options['only'] ? String(args.options['only']).split(',').filter(Boolean) : undefined;
    if (args.options['gpu']) {
      const gpuOut = args.options['out'] === DEFAULT_ZOO_DIR ? resolve(ctx.cwd, DEFAULT_ZOO_DIR, 'gpu') : out;
      const built = await buildGpuZoo({
        outDir: gpuOut,
        secondsPerModel: Number(args.options['seconds']),
        seed: Number(args.options['seed']),
        signal: ctx.signal,
        ...(only ? { models: only } : {}),
        progress: progressSink(ctx),
      });
      if (!built.ok) return built;
      ctx.out(
        args.options['json']
          ? JSON.stringify(built.value, null, 2)
          : built.value
              .map(
                (m) =>
                  `${m.name.padEnd(20)} ${String(m.weights).padStart(9)} weights  ${m.steps} steps × ${m.stepMs.toFixed(0)} ms  val ${(m.valAccuracy * 100).toFixed(1)}%  test ${(m.testAccuracy * 100).toFixed(1)}%`,
              )
              .join('\n'),
      );
      return ok(0);
    }
    const scale = Number(args.options['scale']);
    if (!(scale > 0)) return fail('E_USAGE', `--scale must be positive, got ${scale}.`);
    const started = Date.now();
    const progress = progressSink(ctx);
    const built = await buildZoo({
      outDir: out,
      seed: Number(args.options['seed']),
      stepScale: scale,
      concurrency: Number(args.options['concurrency']),
      signal: ctx.signal,
      ...(only ? { tasks: only } : {}),
      progress: (e) => {
        if (e.stage === 'done') ctx.err(`zoo: ${e.task} done (${e.step}/${e.total})`);
        else progress(e);
      },
    });
    if (!built.ok) return built;
    ctx.out(args.options['json'] ? JSON.stringify(built.value, null, 2) : renderZoo(built.value));
    ctx.err(`zoo: built in ${((Date.now() - started) / 1000).toFixed(0)} s → ${out}`);
    return ok(0);
  },
};
