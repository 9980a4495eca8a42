/**
 * Rewrites the generated tables of docs/ZOO.md from the code (sizes, recipes) and resources/zoo/zoo.json
 * (accuracy, training time): `node --import tsx scripts/zoo-docs.ts`. npm run zoo runs it after a build.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { readZooManifest } from '../shared/zoo/build.ts';
import {
  markdownGpuTable,
  markdownRecipeTable,
  markdownTaskTable,
  type ZooResult,
} from '../shared/zoo/summary.ts';

const docPath = new URL('../docs/ZOO.md', import.meta.url);
const zooDir = new URL('../resources/zoo', import.meta.url).pathname;

/** Replaces the table that starts with a line beginning `headerStart` (and what follows it up to a blank line). */
function replaceBlock(doc: string, headerStart: string, block: string): string {
  const start = doc.indexOf(`\n${headerStart}`) + 1;
  if (start === 0) throw new Error(`docs/ZOO.md has no table starting with "${headerStart}"`);
  // A task table is followed by its packing-ceiling line after one blank line: keep both together.
  let end = doc.indexOf('\n\n', start);
  if (block.includes('\n\nPacking ceiling')) end = doc.indexOf('\n\n', end + 2);
  return doc.slice(0, start) + block + doc.slice(end === -1 ? doc.length : end);
}

const manifest = readZooManifest(zooDir);
const results = new Map<string, ZooResult>(manifest.ok ? manifest.value.models.map((m) => [m.task, m]) : []);
let doc = readFileSync(docPath, 'utf8');
doc = replaceBlock(doc, '| task | input |', markdownTaskTable(undefined, results));
doc = replaceBlock(doc, '| task | max steps |', markdownRecipeTable());
doc = replaceBlock(doc, '| model | follows |', markdownGpuTable());
writeFileSync(docPath, doc);
process.stderr.write(
  `docs/ZOO.md: tables rewritten${manifest.ok ? ' with zoo.json results' : ' (no zoo.json: results left empty)'}\n`,
);
