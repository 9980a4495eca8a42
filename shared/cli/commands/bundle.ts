/**
 * `wsep bundle inspect|verify|diff|apply`: look into plan bundles (docs/FORMAT.md), check them completely,
 * and compute or apply page-level deltas between two of them.
 */
import { resolve } from 'node:path';
import { fail, ok, type Result } from '../../core/errors.ts';
import { formatBytes } from '../../core/units.ts';
import { applyDelta, diffBundles, writeDelta, type BundleDelta } from '../../image/diff.ts';
import { readBundle, verifyBundle, type LoadedBundle } from '../../image/read.ts';
import type { Command, CommandContext } from '../command.ts';
import { STORED_DEVICE, resolveDevice, withSizes, type DeviceProfile } from '../../image/device-profile.ts';
import {
  checkFits,
  describeLevel1,
  memoryAccount,
  pageBytes,
  planShape,
  type MemoryAccount,
} from '../../image/memory.ts';

export interface BundleSummary {
  readonly dir: string;
  readonly planId: string;
  readonly pageSize: number;
  readonly pageBytes: number;
  readonly sharedPages: number;
  /** Whether a model may have several pages on one shared slot (the plan's `selfTied`). */
  readonly selfTied: boolean;
  readonly budgets: { readonly l1Bytes: number; readonly l2Bytes: number };
  /** The device the figures are for (`--device`; by default the one the plan was made for, else `stored`, sized by the plan's budgets). */
  readonly device: DeviceProfile;
  /** image/memory.ts's account of the bundle on that device: bytes by part and both packing ratios. */
  readonly memory: MemoryAccount;
  /** Original weight bytes ÷ (shared pages + page tables + exclusive pages). */
  readonly storedPacking: number;
  /** The same with the device's runtime added. */
  readonly devicePacking: number;
  /** Level 1 on the device: shared pages + page tables + runtime. */
  readonly level1Bytes: number;
  /** Level 2: exclusive pages. */
  readonly level2Bytes: number;
  /** Whether the bundle fits the device; the reason when it does not. */
  readonly fits: { readonly ok: true } | { readonly ok: false; readonly message: string };
  readonly totalBytes: number;
  readonly models: readonly {
    readonly name: string;
    readonly weights: number;
    readonly pages: number;
    readonly sharedPages: number;
    readonly exclusivePages: number;
    readonly classes: number;
    readonly testBefore: number;
    readonly testAfter: number;
  }[];
}

export function summarizeBundle(
  b: LoadedBundle,
  device: DeviceProfile = withSizes(b.plan.report?.device ?? STORED_DEVICE, b.plan.budgets),
): BundleSummary {
  const plan = b.plan;
  const P = plan.pageSize;
  const models = plan.models.map((m) => {
    const exclusive = m.exclusivePages.length / P;
    return {
      name: m.name,
      weights: m.weightCount,
      pages: m.pageTable.length,
      sharedPages: m.pageTable.length - exclusive,
      exclusivePages: exclusive,
      classes: m.classes.length,
      testBefore: m.accuracy.test.before,
      testAfter: m.accuracy.test.after,
    };
  });
  // Bytes, not page counts: the tables and the device's runtime count (docs/FORMAT.md §9).
  const memory = memoryAccount(planShape(plan), device);
  const fits = checkFits(memory, device);
  return {
    dir: b.dir,
    planId: b.planId,
    pageSize: P,
    pageBytes: pageBytes(P),
    sharedPages: plan.sharedPageCount,
    selfTied: plan.selfTied,
    budgets: plan.budgets,
    device,
    memory,
    storedPacking: memory.storedPacking,
    devicePacking: memory.devicePacking,
    level1Bytes: memory.level1Bytes,
    level2Bytes: memory.level2Bytes,
    fits: fits.ok ? { ok: true } : { ok: false, message: fits.error.message },
    totalBytes: b.totalBytes,
    models,
  };
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

export function renderBundleSummary(s: BundleSummary): string {
  const width = Math.max(5, ...s.models.map((m) => m.name.length));
  return [
    `${s.dir}`,
    `  plan ${s.planId}`,
    `  page size ${s.pageSize} (${formatBytes(s.pageBytes)}), ${s.sharedPages} shared pages${s.selfTied ? ', self-tying' : ''}`,
    `  stored packing ${s.storedPacking.toFixed(2)}x (shared + tables + exclusive pages), device packing ${s.devicePacking.toFixed(2)}x on ${s.device.name} (+ runtime ${formatBytes(s.memory.runtime.total)})`,
    `  level 1 ${formatBytes(s.level1Bytes)} (${describeLevel1(s.memory)}; plan budget ${formatBytes(s.budgets.l1Bytes)}), level 2 ${formatBytes(s.level2Bytes)} (plan budget ${formatBytes(s.budgets.l2Bytes)}), files ${formatBytes(s.totalBytes)}`,
    s.fits.ok
      ? `  fits device ${s.device.name} (L1 ${formatBytes(s.device.l1Bytes)}, L2 ${formatBytes(s.device.l2Bytes)})`
      : `  does not fit: ${s.fits.message}`,
    '',
    `  ${'model'.padEnd(width)}  weights   pages  shared  excl.  test before → after`,
    ...s.models.map(
      (m) =>
        `  ${m.name.padEnd(width)}  ${String(m.weights).padStart(7)}  ${String(m.pages).padStart(6)}  ${String(m.sharedPages).padStart(6)}  ${String(m.exclusivePages).padStart(5)}  ${pct(m.testBefore)} → ${pct(m.testAfter)}`,
    ),
  ].join('\n');
}

function renderDelta(d: BundleDelta): string {
  const lines = [
    `plan ${d.from.slice(0, 12)}… → ${d.to.slice(0, 12)}…`,
    `  shared pool: ${d.shared.changed.length} of ${d.shared.newPageCount} pages differ${d.shared.oldPageCount !== d.shared.newPageCount ? ` (was ${d.shared.oldPageCount} pages)` : ''}`,
  ];
  for (const m of d.models) {
    if (m.status === 'removed' || m.status === 'added' || m.status === 'unchanged') {
      lines.push(`  ${m.name}: ${m.status}`);
      continue;
    }
    const parts = [`${m.exclusive!.changed.length} of ${m.exclusive!.newPageCount} exclusive pages differ`];
    if (m.tableChanged) parts.push('page table changed');
    if (m.graphChanged) parts.push('graph changed');
    lines.push(`  ${m.name}: ${parts.join(', ')}`);
  }
  lines.push(
    `  to send: ${d.pages.length} pages + ${d.graphs.length} graphs + manifest = ${formatBytes(d.transferBytes)} (the whole bundle is ${formatBytes(d.newBundleBytes)})`,
  );
  return lines.join('\n');
}

function deltaJson(d: BundleDelta): unknown {
  return {
    from: d.from,
    to: d.to,
    shared: d.shared,
    models: d.models,
    pages: d.pages.map((p) => p.hash),
    graphs: d.graphs.map((g) => g.name),
    transferBytes: d.transferBytes,
    newBundleBytes: d.newBundleBytes,
  };
}

type Sub = (
  dirs: string[],
  json: boolean,
  ctx: CommandContext,
  out: string | undefined,
  device: string | undefined,
) => Promise<Result<number>>;

const SUBCOMMANDS: Record<string, { readonly dirs: number; readonly run: Sub }> = {
  inspect: {
    dirs: 1,
    async run([dir], json, ctx, _out, deviceSpec) {
      const b = await readBundle(dir!, {
        signal: ctx.signal,
        ...(ctx.progress ? { progress: ctx.progress } : {}),
      });
      if (!b.ok) return b;
      // By default, the device the plan was made for (its report says), sized by its budgets.
      const device = deviceSpec
        ? resolveDevice(deviceSpec, ctx.cwd, {}, b.value.plan.budgets)
        : ok(withSizes(b.value.plan.report?.device ?? STORED_DEVICE, b.value.plan.budgets));
      if (!device.ok) return fail(device.error.code, `--device: ${device.error.message}`, device.error.hint);
      const s = summarizeBundle(b.value, device.value);
      ctx.out(json ? JSON.stringify(s, null, 2) : renderBundleSummary(s));
      return ok(0);
    },
  },
  verify: {
    dirs: 1,
    async run([dir], json, ctx) {
      const verified = await verifyBundle(dir!, {
        signal: ctx.signal,
        ...(ctx.progress ? { progress: ctx.progress } : {}),
      });
      if (!verified.ok) return verified;
      const report = verified.value;
      if (json) ctx.out(JSON.stringify(report, null, 2));
      else if (report.problems.length === 0) ctx.out(`${report.dir}: valid (plan ${report.planId}).`);
      else
        ctx.out(
          [
            `${report.dir}: ${report.problems.length} problem${report.problems.length > 1 ? 's' : ''}`,
            ...report.problems.map((p) => `  ${p.message}`),
          ].join('\n'),
        );
      return ok(report.problems.length === 0 ? 0 : 1);
    },
  },
  diff: {
    dirs: 2,
    async run([a, b], json, ctx, out) {
      const d = await diffBundles(a!, b!);
      if (!d.ok) return d;
      if (out) {
        const written = writeDelta(d.value, out);
        if (!written.ok) return written;
      }
      ctx.out(
        json
          ? JSON.stringify(deltaJson(d.value), null, 2)
          : `${renderDelta(d.value)}${out ? `\n  delta written to ${resolve(out)}` : ''}`,
      );
      return ok(0);
    },
  },
  apply: {
    dirs: 2,
    async run([base, delta], json, ctx, out) {
      if (!out) return fail('E_USAGE', 'wsep bundle apply needs --out <folder> for the rebuilt bundle.');
      const applied = await applyDelta(base!, delta!, out);
      if (!applied.ok) return applied;
      ctx.out(
        json
          ? JSON.stringify(applied.value, null, 2)
          : `${applied.value.dir}: rebuilt plan ${applied.value.planId} (verified).`,
      );
      return ok(0);
    },
  },
};

export const bundleCommand: Command = {
  name: 'bundle',
  summary: 'Inspect, verify and diff plan bundles.',
  usage:
    'wsep bundle inspect <dir> [--device d] [--json] | verify <dir> [--json] | diff <old> <new> [--out <delta>] [--json] | apply <old> <delta> --out <dir>',
  description: [
    'inspect: the plan id, budgets, stored and device packing, whether it fits the device, and each model’s pages and accuracy.',
    'verify: checks every size, hash, page table and graph; lists each problem with its file and field; exits 1 when there is any.',
    'diff: which pages differ between two bundles and what a device holding <old> must receive; --out writes the delta folder.',
    'apply: rebuilds the new bundle from <old> and a delta folder, verified byte for byte.',
  ].join('\n'),
  positionals: { min: 2, max: 3, names: '<inspect|verify|diff|apply> <dir> [<dir2>]' },
  options: [
    { name: 'json', kind: 'flag', description: 'Print the result as JSON.' },
    {
      name: 'device',
      kind: 'string',
      value: 'stored|linux-ort|mcu|file.json',
      description:
        'inspect: state device packing and the fit for this device (a built-in profile sized by the plan’s budgets, or a profile file; default: the device the plan was made for, else stored).',
    },
    {
      name: 'out',
      kind: 'string',
      value: 'folder',
      description: 'diff: write the delta there; apply: write the rebuilt bundle there.',
    },
  ],
  async run(args, ctx) {
    const [name, ...dirs] = args.positionals;
    const sub = SUBCOMMANDS[name!];
    if (!sub)
      return fail('E_USAGE', `Unknown bundle sub-command "${name}".`, 'Use inspect, verify, diff or apply.');
    if (dirs.length !== sub.dirs)
      return fail(
        'E_USAGE',
        `wsep bundle ${name} takes ${sub.dirs} folder${sub.dirs > 1 ? 's' : ''}, got ${dirs.length}.`,
        `Usage: ${this.usage}`,
      );
    const device = args.options['device'];
    if (device !== undefined && name !== 'inspect')
      return fail(
        'E_USAGE',
        `wsep bundle ${name} takes no --device; only inspect does.`,
        `Usage: ${this.usage}`,
      );
    const out = args.options['out'];
    return sub.run(
      dirs.map((d) => resolve(ctx.cwd, d)),
      args.options['json'] === true,
      ctx,
      typeof out === 'string' ? resolve(ctx.cwd, out) : undefined,
      typeof device === 'string' ? device : undefined,
    );
  },
};
