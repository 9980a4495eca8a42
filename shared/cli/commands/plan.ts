import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fail, ok, unwrap, type Result } from '../../core/errors.ts';
import { formatBytes, parseBytes } from '../../core/units.ts';
import { resolveDevice, type DeviceProfile } from '../../image/device-profile.ts';
import { MANIFEST_FILE } from '../../image/manifest.ts';
import { historyJsonLines } from '../../image/report.ts';
import { VALUE_TYPES } from '../../image/plan.ts';
import { SCALE_RULES, type ScaleRule } from '../../image/quantize.ts';
import { writeBundle } from '../../image/write.ts';
import { writeFileAtomic } from '../../onnx/io.ts';
import { INIT_KINDS, type InitKind } from '../../separation/init.ts';
import { dataRoots } from '../../datasets/roots.ts';
import { loadPlannerTasks } from '../../separation/inputs.ts';
import { PUBLISHED_REFERENCE_SCHEDULE, scheduleSteps } from '../../separation/optimize-reference.ts';
import { parsePairs } from '../../separation/pairing.ts';
import {
  DEFAULT_PLANNER_OPTIONS,
  SCHEDULES,
  SELECTION_RULES,
  STRATEGIES,
  plannerOptions,
  type Distillation,
  type PlannerOptions,
  type Schedule,
  type SelectionRule,
  type Strategy,
} from '../../separation/planner-options.ts';
import { planSeparation, previewPlan } from '../../separation/planner.ts';
import { DEFAULT_PROBE_STEPS, probeAndReprioritise } from '../../separation/probe.ts';
import { renderReport, type PlanReport } from '../../separation/report.ts';
import { planForAccuracy, type FrontierPoint } from '../../separation/target.ts';
import type { ParsedArgs } from '../args.ts';
import { progressSink, type Command, type CommandContext } from '../command.ts';

/**
 * The quick setting used by `npm run demo`: 1500 joint steps, about 2 minutes with two worker threads
 * on the 2-core machine (measured: 128 s; mean test Δ −0.0, worst −4.7 points at 5.65x stored
 * packing, 5.72x with the page tables not counted).
 */
export const QUICK = { steps: 1500, evalEvery: 100, patience: 1500, fisherSamples: 256 } as const;

/** Level-1 and level-2 sizes of the built-in device profiles when --l1 / --l2 are not given. */
export const DEFAULT_SIZES = { l1: '256KiB', l2: '192KiB' } as const;

/**
 * The device planned for: `--device` (a built-in profile or a profile file; default `stored`, the
 * plan alone), sized by --l1 / --l2 when given, else by the profile file, else by DEFAULT_SIZES.
 */
export function deviceOption(o: ParsedArgs['options'], cwd: string): Result<DeviceProfile> {
  const sizes: { l1Bytes?: number; l2Bytes?: number } = {};
  for (const level of ['l1', 'l2'] as const) {
    if (o[level] === undefined) continue;
    const parsed = parseBytes(String(o[level]));
    if (!parsed.ok) return fail('E_USAGE', `--${level}: ${parsed.error.message}`, parsed.error.hint);
    sizes[`${level}Bytes`] = parsed.value;
  }
  const fallback = {
    l1Bytes: unwrap(parseBytes(DEFAULT_SIZES.l1)),
    l2Bytes: unwrap(parseBytes(DEFAULT_SIZES.l2)),
  };
  const device = resolveDevice(String(o['device'] ?? 'stored'), cwd, sizes, fallback);
  if (!device.ok) return fail(device.error.code, `--device: ${device.error.message}`, device.error.hint);
  return device;
}

/** The options `wsep plan` was given, grouped as the planner takes them (planner-options.ts). */
export function plannerOptionsOf(args: ParsedArgs, ctx: CommandContext): Result<PlannerOptions> {
  const o = args.options;
  const d = DEFAULT_PLANNER_OPTIONS;
  const device = deviceOption(o, ctx.cwd);
  if (!device.ok) return device;
  const strategy = String(o['strategy']);
  if (!(STRATEGIES as readonly string[]).includes(strategy))
    return fail(
      'E_USAGE',
      `--strategy must be "ours", "reference" or "reference-capped", got "${strategy}".`,
    );
  const init = String(o['init']);
  if (init !== 'auto' && !INIT_KINDS.includes(init as InitKind))
    return fail('E_USAGE', `--init must be auto or one of ${INIT_KINDS.join(', ')}, got "${init}".`);
  const quick = o['quick'] === true;
  const schedule = String(o['schedule']);
  if (!(SCHEDULES as readonly string[]).includes(schedule)) {
    return fail('E_USAGE', `--schedule must be "constant", "cosine" or "plateau", got "${schedule}".`);
  }
  const num = (name: string, fallback: number) => (o[name] !== undefined ? Number(o[name]) : fallback);
  const selection = String(o['selection']);
  if (!(SELECTION_RULES as readonly string[]).includes(selection))
    return fail('E_USAGE', `--selection must be ${SELECTION_RULES.join(' or ')}, got "${selection}".`);
  const distill = distillOption(o['distill'], o['temperature']);
  if (!distill.ok) return distill;
  const valueType = String(o['value-type'] ?? 'f32');
  if (!(VALUE_TYPES as readonly string[]).includes(valueType))
    return fail('E_USAGE', `--value-type must be ${VALUE_TYPES.join(' or ')}, got "${valueType}".`);
  const scaleRule = o['scale-rule'] === undefined ? undefined : String(o['scale-rule']);
  if (scaleRule !== undefined && !(SCALE_RULES as readonly string[]).includes(scaleRule))
    return fail('E_USAGE', `--scale-rule must be ${SCALE_RULES.join(' or ')}, got "${scaleRule}".`);
  if (scaleRule !== undefined && valueType !== 'i8')
    return fail('E_USAGE', '--scale-rule chooses the scales of int8 pages: it needs --value-type i8.');
  return ok(
    plannerOptions(device.value, {
      method: {
        strategy: strategy as Strategy,
        pageSize: num('page-size', d.method.pageSize),
        selfTying: num('self-tying', d.method.selfTying),
        init: init as InitKind | 'auto',
        fisherSamples: num('fisher-samples', quick ? QUICK.fisherSamples : d.method.fisherSamples),
        // f32 leaves the method as it was (no member), so f32 plans stay bit for bit the same.
        ...(valueType === 'i8' ? { valueType: 'i8' as const } : {}),
        ...(scaleRule !== undefined ? { scaleRule: scaleRule as ScaleRule } : {}),
      },
      optimisation: {
        steps: num('steps', quick ? QUICK.steps : d.optimisation.steps),
        lr: num('lr', d.optimisation.lr),
        schedule: schedule as Schedule,
        batchSize: num('batch', d.optimisation.batchSize),
        augment: o['no-augment'] !== true,
        distill: distill.value,
        equalizeLayerScales: o['no-equalize-layer-scales'] !== true,
        ema: num('ema', d.optimisation.ema),
        focus: num('focus', d.optimisation.focus),
        evalEvery: num('eval-every', quick ? QUICK.evalEvery : d.optimisation.evalEvery),
        patience: num('patience', quick ? QUICK.patience : d.optimisation.patience),
        floorPoints: num('floor', d.optimisation.floorPoints),
        noiseZ: num('noise-z', d.optimisation.noiseZ),
        smoothing: num('smoothing', d.optimisation.smoothing),
        selection: selection as SelectionRule,
        minStepsFraction: num('min-steps-fraction', d.optimisation.minStepsFraction),
        restarts: num('restarts', d.optimisation.restarts),
      },
      run: {
        seed: num('seed', d.run.seed),
        ...(o['workers'] !== undefined ? { workers: Number(o['workers']) } : {}),
        signal: ctx.signal,
        progress: progressSink(ctx),
      },
    }),
  );
}

/**
 * The bundle replaces what is at --out only if that is a bundle (or an empty folder); saying so after
 * an hour of planning would throw the plan away, so the same rule is checked before any model is read.
 */
function checkOutDir(out: string): Result<void> {
  if (!existsSync(out)) return ok(undefined);
  const hint = 'Give --out a new folder name, or an existing plan bundle to replace.';
  if (!statSync(out).isDirectory())
    return fail('E_USAGE', `--out ${out} is an existing file; a plan bundle is a folder.`, hint);
  if (readdirSync(out).length > 0 && !existsSync(join(out, MANIFEST_FILE))) {
    return fail(
      'E_USAGE',
      `--out ${out} is a folder that is not a plan bundle (it has files but no ${MANIFEST_FILE}); refusing to replace it.`,
      hint,
    );
  }
  return ok(undefined);
}

/**
 * --history's file, checked before any work as --out is: its folder must exist and the path must not
 * be a folder. Written after the plan, in one piece (a reader never sees half a history).
 */
function historyPath(value: unknown, cwd: string): Result<string | undefined> {
  if (value === undefined) return ok(undefined);
  const path = resolve(cwd, String(value));
  const folder = dirname(path);
  if (!existsSync(folder) || !statSync(folder).isDirectory())
    return fail('E_USAGE', `--history ${path}: the folder ${folder} does not exist.`);
  if (existsSync(path) && statSync(path).isDirectory())
    return fail('E_USAGE', `--history ${path} is a folder; give a file name such as history.jsonl.`);
  return ok(path);
}

function writeHistory(path: string | undefined, report: PlanReport): Result<void> {
  if (path === undefined) return ok(undefined);
  const lines = historyJsonLines(
    report.tasks.map((t) => t.task),
    report.history,
  );
  return writeFileAtomic(path, new TextEncoder().encode(lines));
}

/** --distill α and --temperature T; α 0 turns distillation off. */
function distillOption(alpha: unknown, temperature: unknown): Result<Distillation> {
  const d = DEFAULT_PLANNER_OPTIONS.optimisation.distill;
  const a = alpha === undefined ? d.alpha : Number(alpha);
  const t = temperature === undefined ? d.temperature : Number(temperature);
  if (!(a >= 0 && a <= 1))
    return fail('E_USAGE', `--distill takes a weight from 0 to 1, got "${String(alpha)}".`);
  if (!(t > 0)) return fail('E_USAGE', `--temperature must be positive, got "${String(temperature)}".`);
  return ok({ alpha: a, temperature: t });
}

/** The last line's figures: both packing ratios, labelled. */
function summaryLine(r: PlanReport): string {
  return `stored packing ${r.totals.storedPacking.toFixed(2)}x, device packing ${r.totals.devicePacking.toFixed(2)}x on ${r.device.name}`;
}

function renderFrontier(points: readonly FrontierPoint[]): string {
  const rows = points.map((p) =>
    [
      formatBytes(p.l1Bytes).padStart(10),
      formatBytes(p.l2Bytes).padStart(10),
      String(p.sharedPageCount).padStart(5),
      `${p.storedPacking.toFixed(2)}x`.padStart(6),
      `${p.devicePacking.toFixed(2)}x`.padStart(6),
      p.worstValDrop.toFixed(2).padStart(8),
      p.meanTestDelta.toFixed(2).padStart(8),
      p.worstTestDelta.toFixed(2).padStart(8),
      p.meets ? '  yes' : '   no',
    ].join('  '),
  );
  return ['        L1          L2      M  stored  device  val-drop  test-Δ   worst-Δ  meets', ...rows].join(
    '\n',
  );
}

export const planCommand: Command = {
  name: 'plan',
  summary: 'Compute a weight-separation plan for a folder of models and write the bundle.',
  usage:
    'wsep plan [--models dir] [--pair file.onnx=task,...] [--data dir[,dir]] [--only task,...] [--l1 size] [--l2 size] [--out dir] [options]',
  description: [
    'Ranks each model’s pages by Fisher information, keeps the critical ones exclusive (level 2),',
    'overlaps the rest onto the shared pages (level 1) and fine-tunes the shared pages jointly.',
    'Each model is paired with a task by --pair, else its weightsep.task metadata, else its file name,',
    'and must fit that task’s data (input shape, class count); both are checked before any work.',
    'Sizes accept B, KiB, MiB (or k, M) and KB, MB. The test split is used only in the report.',
  ].join('\n'),
  positionals: { min: 0, max: 0, names: '' },
  options: [
    {
      name: 'models',
      kind: 'string',
      value: 'dir',
      description: 'Folder of .onnx models.',
      default: 'resources/zoo',
    },
    {
      name: 'data',
      kind: 'string',
      value: 'dir[,dir]',
      description: 'Folders holding task data, searched in order before resources/data (default: ./data).',
    },
    {
      name: 'pair',
      kind: 'string',
      value: 'file.onnx=task,...',
      description:
        'Pair these models with these tasks, over their metadata or file name; a model outside --models is added.',
    },
    {
      name: 'only',
      kind: 'string',
      value: 'task,...',
      description: 'Plan only these tasks (the tasks the models are paired with).',
    },
    {
      name: 'l1',
      kind: 'string',
      value: 'size',
      description: `Level-1 budget: shared pages + page tables + the device's runtime (default: the --device profile file's, else ${DEFAULT_SIZES.l1}).`,
    },
    {
      name: 'l2',
      kind: 'string',
      value: 'size',
      description: `Level-2 budget: exclusive pages (default: the --device profile file's, else ${DEFAULT_SIZES.l2}).`,
    },
    {
      name: 'device',
      kind: 'string',
      value: 'stored|linux-ort|mcu|file.json',
      description:
        'Device to plan for: stored (the plan alone), linux-ort (onnxruntime keeps the largest model’s weights, an exclusive-page buffer and gather runs in level 1), mcu (an activation arena and an exclusive-page buffer), or a profile file (docs/FORMAT.md §9).',
      default: 'stored',
    },
    {
      name: 'out',
      kind: 'string',
      value: 'dir',
      description: 'Where to write the plan bundle.',
      default: 'plans/latest',
    },
    // The method (PlannerMethod): what decides the plan's layout.
    {
      name: 'strategy',
      kind: 'string',
      value: 'ours|reference|reference-capped',
      description:
        'Planner, or the reference method as a baseline on its published schedule: at its own footprint (reference), or held to --l1/--l2 (reference-capped).',
      default: DEFAULT_PLANNER_OPTIONS.method.strategy,
    },
    {
      name: 'page-size',
      kind: 'number',
      description: 'Weights per page (a power of two).',
      default: DEFAULT_PLANNER_OPTIONS.method.pageSize,
    },
    {
      name: 'self-tying',
      kind: 'number',
      value: 't',
      description: 'Let up to t pages of one model share a slot (1 = off).',
      default: DEFAULT_PLANNER_OPTIONS.method.selfTying,
    },
    {
      name: 'value-type',
      kind: 'string',
      value: 'f32|i8',
      description:
        'How pages are stored: f32, or i8 (int8 with one float32 scale per page, optimised fake-quantised; strategy ours).',
      default: 'f32',
    },
    {
      name: 'scale-rule',
      kind: 'string',
      value: 'rule',
      description: `i8: how each page's scale is chosen: ${SCALE_RULES.join(' or ')} (default max-abs).`,
    },
    {
      name: 'fisher-samples',
      kind: 'number',
      description: `Training samples for the Fisher information (default ${DEFAULT_PLANNER_OPTIONS.method.fisherSamples}).`,
    },
    {
      name: 'init',
      kind: 'string',
      value: 'kind',
      description: `Shared-page init: auto (the lowest validation loss), ${INIT_KINDS.join(', ')}.`,
      default: DEFAULT_PLANNER_OPTIONS.method.init,
    },
    {
      name: 'probe-reprioritise',
      kind: 'flag',
      description: `Two passes: a probe plan (up to ${DEFAULT_PROBE_STEPS} steps), then the extra exclusive pages favour the tasks it hurt most on validation.`,
    },
    {
      name: 'rebalance',
      kind: 'flag',
      description: 'Former name of --probe-reprioritise.',
      aliasOf: 'probe-reprioritise',
    },
    // The joint optimisation (PlannerOptimisation): what decides the pages' values.
    {
      name: 'steps',
      kind: 'number',
      description: `Joint optimisation steps (default ${DEFAULT_PLANNER_OPTIONS.optimisation.steps}; ${QUICK.steps} with --quick).`,
    },
    {
      name: 'lr',
      kind: 'number',
      description: 'Adam learning rate.',
      default: DEFAULT_PLANNER_OPTIONS.optimisation.lr,
    },
    {
      name: 'schedule',
      kind: 'string',
      value: SCHEDULES.join('|'),
      description: 'Learning-rate schedule after warm-up.',
      default: DEFAULT_PLANNER_OPTIONS.optimisation.schedule,
    },
    {
      name: 'batch',
      kind: 'number',
      description: 'Batch size per task.',
      default: DEFAULT_PLANNER_OPTIONS.optimisation.batchSize,
    },
    {
      name: 'no-augment',
      kind: 'flag',
      description: 'Ignore the augmentations models name in their weightsep.augment metadata.',
    },
    {
      name: 'distill',
      kind: 'number',
      value: 'alpha',
      description: 'Weight of distillation from each original model, 0..1 (0: labels only).',
      default: DEFAULT_PLANNER_OPTIONS.optimisation.distill.alpha,
    },
    {
      name: 'temperature',
      kind: 'number',
      description: 'Distillation temperature.',
      default: DEFAULT_PLANNER_OPTIONS.optimisation.distill.temperature,
    },
    {
      name: 'no-equalize-layer-scales',
      kind: 'flag',
      description:
        'Do not equalise each model’s layer weight scales before paging (a function-preserving step).',
    },
    {
      name: 'no-equalize',
      kind: 'flag',
      description: 'Former name of --no-equalize-layer-scales.',
      aliasOf: 'no-equalize-layer-scales',
    },
    {
      name: 'ema',
      kind: 'number',
      value: 'decay',
      description: 'Keep a moving average of the pages with this decay per step (0: off).',
      default: DEFAULT_PLANNER_OPTIONS.optimisation.ema,
    },
    {
      name: 'focus',
      kind: 'number',
      description: 'Weight tasks below their validation floor by exp(focus × shortfall in points) (0: off).',
      default: DEFAULT_PLANNER_OPTIONS.optimisation.focus,
    },
    {
      name: 'eval-every',
      kind: 'number',
      description: `Validation interval in steps (default ${DEFAULT_PLANNER_OPTIONS.optimisation.evalEvery}; ${QUICK.evalEvery} with --quick).`,
    },
    {
      name: 'patience',
      kind: 'number',
      description: `Stop after this many steps without a better snapshot (default ${DEFAULT_PLANNER_OPTIONS.optimisation.patience}; ${QUICK.patience} with --quick).`,
    },
    {
      name: 'floor',
      kind: 'number',
      value: 'points',
      description: 'Validation accuracy a task may lose in snapshot selection.',
      default: DEFAULT_PLANNER_OPTIONS.optimisation.floorPoints,
    },
    {
      name: 'noise-z',
      kind: 'number',
      value: 'z',
      description:
        'Standard errors of a validation split that count as noise: floors sit max(--floor, z·σ) below each original; an early snapshot must win by more than z·σ of the mean (0: off).',
      default: DEFAULT_PLANNER_OPTIONS.optimisation.noiseZ,
    },
    {
      name: 'smoothing',
      kind: 'number',
      value: 'k',
      description:
        'Snapshot selection reads each task’s mean validation accuracy over the last k evaluations (1: off).',
      default: DEFAULT_PLANNER_OPTIONS.optimisation.smoothing,
    },
    {
      name: 'selection',
      kind: 'string',
      value: SELECTION_RULES.join('|'),
      description:
        'Snapshot rule: the mean less shortfalls below the floors in noise units (capped), or the former floors-first rule.',
      default: DEFAULT_PLANNER_OPTIONS.optimisation.selection,
    },
    {
      name: 'min-steps-fraction',
      kind: 'number',
      value: 'f',
      description: 'Patience cannot end the run before this fraction of --steps (0: off).',
      default: DEFAULT_PLANNER_OPTIONS.optimisation.minStepsFraction,
    },
    {
      name: 'restarts',
      kind: 'number',
      description:
        'When patience runs out early, restart from the kept snapshot at 0.3× the rate, up to this many times.',
      default: DEFAULT_PLANNER_OPTIONS.optimisation.restarts,
    },
    {
      name: 'history',
      kind: 'string',
      value: 'file.jsonl',
      description:
        'Write the optimisation’s history: one JSON line per evaluation (validation accuracy and loss per task, floors, the criterion, the kept snapshot, rate, focus weights).',
    },
    // The run (PlannerRun) and the command's own modes.
    {
      name: 'workers',
      kind: 'number',
      description: 'Worker threads for the tasks’ sessions (0: none). Default: one per core.',
    },
    {
      name: 'max-drop',
      kind: 'number',
      value: 'points',
      description: 'Accuracy-target mode: smallest L1 keeping every task within this validation drop.',
    },
    {
      name: 'seed',
      kind: 'number',
      description: 'Seed for every sampler.',
      default: DEFAULT_PLANNER_OPTIONS.run.seed,
    },
    {
      name: 'quick',
      kind: 'flag',
      description: `Quick setting (${QUICK.steps} steps), as used by npm run demo.`,
    },
    { name: 'json', kind: 'flag', description: 'Print the report as JSON.' },
  ],
  async run(args, ctx) {
    const options = plannerOptionsOf(args, ctx);
    if (!options.ok) return options;
    const o = options.value;
    const out = resolve(ctx.cwd, String(args.options['out']));
    const outUsable = checkOutDir(out);
    if (!outUsable.ok) return outUsable;
    const history = historyPath(args.options['history'], ctx.cwd);
    if (!history.ok) return history;
    const only = args.options['only'] ? String(args.options['only']).split(',').filter(Boolean) : undefined;
    const pairs =
      args.options['pair'] !== undefined ? parsePairs(String(args.options['pair']), ctx.cwd) : ok([]);
    if (!pairs.ok) return pairs;
    const tasks = loadPlannerTasks(resolve(ctx.cwd, String(args.options['models'])), {
      roots: dataRoots(args.options['data'], ctx.cwd),
      pairs: pairs.value,
      augment: args.options['no-augment'] !== true,
      ...(only ? { only } : {}),
    });
    if (!tasks.ok) return tasks;
    const { device, method } = o;
    const preview = previewPlan(tasks.value, method.pageSize, method.selfTying);
    if (!preview.ok) return preview;
    const p = preview.value;
    ctx.err(
      `plan: ${tasks.value.length} models, ${p.totalPages} pages of ${method.pageSize} (${formatBytes(p.originalBytes)} of weights); ` +
        `packing ceiling ${p.ceiling.toFixed(2)}x with one page of a model per slot` +
        (p.ceilingSelfTying
          ? `, ${p.ceilingSelfTying.toFixed(2)}x with self-tying ${method.selfTying}`
          : '') +
        `; device ${device.name} (L1 ${formatBytes(device.l1Bytes)}, L2 ${formatBytes(device.l2Bytes)}); strategy ${method.strategy}, ${method.strategy === 'ours' ? `${o.optimisation.steps} steps` : `its published schedule (${scheduleSteps(PUBLISHED_REFERENCE_SCHEDULE).toLocaleString('en')} steps of batch ${PUBLISHED_REFERENCE_SCHEDULE.batchSize} per model)`}.`,
    );
    if (args.options['max-drop'] !== undefined) {
      const target = await planForAccuracy(tasks.value, o, {
        maxDropPoints: Number(args.options['max-drop']),
      });
      if (!target.ok) return target;
      ctx.out(
        args.options['json']
          ? JSON.stringify(target.value.frontier, null, 2)
          : `Frontier (validation drop in points; test Δ reported, not used):\n${renderFrontier(target.value.frontier)}`,
      );
      if (!target.value.best)
        return fail(
          'E_BUDGET',
          `No level-1 budget tried keeps every task within ${args.options['max-drop']} points.`,
          'Allow a larger drop, raise --l2, or plan with more --steps.',
        );
      const written = await writeBundle(target.value.best.plan, out);
      if (!written.ok) return written;
      const historyWritten = writeHistory(history.value, target.value.best.report);
      if (!historyWritten.ok) return historyWritten;
      ctx.out(
        `\n${renderReport(target.value.best.report)}\n\nBundle: ${out} (${summaryLine(target.value.best.report)})`,
      );
      return ok(0);
    }
    const result = args.options['probe-reprioritise']
      ? await probeAndReprioritise(tasks.value, o)
      : await planSeparation(tasks.value, o);
    if (!result.ok) return result;
    const written = await writeBundle(result.value.plan, out);
    if (!written.ok) return written;
    const historyWritten = writeHistory(history.value, result.value.report);
    if (!historyWritten.ok) return historyWritten;
    ctx.out(
      args.options['json']
        ? JSON.stringify(result.value.report, null, 2)
        : `${renderReport(result.value.report)}\n\nBundle: ${out} (plan ${written.value.planId.slice(0, 12)}; ${summaryLine(result.value.report)})`,
    );
    return ok(0);
  },
};
