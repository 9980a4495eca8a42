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

export interface BundleSummary {
  readonly dir: string;
  readonly planId: string;
  readonly pageSize: number;
  readonly pageBytes: number;
  readonly sharedPages: number;
  readonly selfTying: boolean;
  readonly budgets: { readonly l1Bytes: number; readonly l2Bytes: number };
  /** Σ N_k pages the models would need alone, over M + Σ E_k pages stored. */
  readonly packing: number;
  readonly level1Bytes: number;
  readonly level2Bytes: number;
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

export function summarizeBundle(b: LoadedBundle): BundleSummary {
  const plan = b.plan;
  const P = plan.pageSize;
  const M = plan.sharedPageCount;
  const pageBytes = P * 4;
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
  const exclusive = models.reduce((s, m) => s + m.exclusivePages, 0);
  const alone = models.reduce((s, m) => s + m.pages, 0);
  return {
    dir: b.dir,
    planId: b.planId,
    pageSize: P,
    pageBytes,
    sharedPages: M,
    selfTying: plan.selfTying,
    budgets: plan.budgets,
    packing: alone / Math.max(1, M + exclusive),
    level1Bytes: M * pageBytes + models.reduce((s, m) => s + m.pages * 4, 0),
    level2Bytes: exclusive * pageBytes,
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
    `  page size ${s.pageSize} (${formatBytes(s.pageBytes)}), ${s.sharedPages} shared pages${s.selfTying ? ', self-tying' : ''}, packing ${s.packing.toFixed(2)}x`,
    `  level 1 ${formatBytes(s.level1Bytes)} (budget ${formatBytes(s.budgets.l1Bytes)}), level 2 ${formatBytes(s.level2Bytes)} (budget ${formatBytes(s.budgets.l2Bytes)}), files ${formatBytes(s.totalBytes)}`,
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
) => Promise<Result<number>>;

const SUBCOMMANDS: Record<string, { readonly dirs: number; readonly run: Sub }> = {
  inspect: {
    dirs: 1,
    async run([dir], json, ctx) {
      const b = await readBundle(dir!);
      if (!b.ok) return b;
      const s = summarizeBundle(b.value);
      ctx.out(json ? JSON.stringify(s, null, 2) : renderBundleSummary(s));
      return ok(0);
    },
  },
  verify: {
    dirs: 1,
    async run([dir], json, ctx) {
      const report = await verifyBundle(dir!);
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
    'wsep bundle inspect|verify <dir> [--json] | diff <old> <new> [--out <delta>] [--json] | apply <old> <delta> --out <dir>',
  description: [
    'inspect: the plan id, budgets, packing and each model’s pages and accuracy.',
    'verify: checks every size, hash, page table and graph; lists each problem with its file and field; exits 1 when there is any.',
    'diff: which pages differ between two bundles and what a device holding <old> must receive; --out writes the delta folder.',
    'apply: rebuilds the new bundle from <old> and a delta folder, verified byte for byte.',
  ].join('\n'),
  positionals: { min: 2, max: 3, names: '<inspect|verify|diff|apply> <dir> [<dir2>]' },
  options: [
    { name: 'json', kind: 'flag', description: 'Print the result as JSON.' },
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
    const out = args.options['out'];
    return sub.run(
      dirs.map((d) => resolve(ctx.cwd, d)),
      args.options['json'] === true,
      ctx,
      typeof out === 'string' ? resolve(ctx.cwd, out) : undefined,
    );
  },
};
