/**
 * `npm run bench [-- --quick] [-- --only id,id] [-- --write] [-- --name value …]`: runs the benchmark
 * sections in one process, prints each section's markdown, and with --write replaces
 * docs/BENCHMARKS.md's generated part. Other `--name value` pairs reach the sections
 * (BenchContext.option: the planner sections read --seeds, --tasks and --ratio, bench/plan-common.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { BenchSection } from './harness.ts';
import { SECTIONS } from './sections.ts';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const write = argv.includes('--write');
const onlyIndex = argv.indexOf('--only');
const only = onlyIndex >= 0 ? new Set((argv[onlyIndex + 1] ?? '').split(',')) : undefined;
const option = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  const value = i >= 0 ? argv[i + 1] : undefined;
  return value !== undefined && !value.startsWith('--') ? value : undefined;
};
const unknown = only ? [...only].filter((id) => !SECTIONS.some((s) => s.id === id)) : [];
if (unknown.length > 0) {
  process.stderr.write(
    `bench: no section ${unknown.join(', ')}; the sections are ${SECTIONS.map((s) => s.id).join(', ')}.\n`,
  );
  process.exit(2);
}

const selected: BenchSection[] = SECTIONS.filter((s) => !only || only.has(s.id));
const blocks: string[] = [];
const header = `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`;
for (const section of selected) {
  process.stderr.write(`bench: ${section.title}\n`);
  const report = await section.run({ quick, option, log: (l) => process.stderr.write(`  ${l}\n`) });
  const block = `## ${section.title}\n\n${report.markdown.trim()}\n`;
  blocks.push(block);
  process.stdout.write(`${block}\n`);
}
if (write) {
  const path = new URL('../docs/BENCHMARKS.md', import.meta.url);
  const begin = '<!-- bench:begin -->';
  const end = '<!-- bench:end -->';
  const current = readFileSync(path, 'utf8');
  const inside = current.includes(begin)
    ? current.slice(current.indexOf(begin) + begin.length, current.indexOf(end))
    : '';
  // Sections that did not run this time (--only) keep their last figures.
  const previous = new Map<string, string>();
  for (const part of inside.split(/\n(?=## )/).slice(1))
    previous.set(part.slice(3, part.indexOf('\n')).trim(), `${part.trim()}\n`);
  const fresh = new Map(selected.map((section, i) => [section.title, blocks[i]!]));
  const merged = SECTIONS.map((section) => fresh.get(section.title) ?? previous.get(section.title)).filter(
    (b): b is string => b !== undefined,
  );
  const ran = selected.map((section) => section.id).join(', ');
  const generated = `${begin}\n${header} Last run: ${ran}.\n\n${merged.join('\n')}\n${end}`;
  const next = current.includes(begin)
    ? current.slice(0, current.indexOf(begin)) + generated + current.slice(current.indexOf(end) + end.length)
    : `${current.trimEnd()}\n\n${generated}\n`;
  writeFileSync(path, next);
}
