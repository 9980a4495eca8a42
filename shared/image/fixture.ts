/**
 * `node --import tsx shared/image/fixture.ts <dir> [seed] [f32|i8]`: writes a fixture bundle to <dir>/bundle and,
 * for each model, the weights this package's reader gathers to <dir>/expected/<model>.f32 (little-endian).
 * The independent reader test (format-reader.test.ts) runs it as a child process so that its own code
 * never imports shared/image.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gatherWeights } from './gather.ts';
import { readBundle } from './read.ts';
import { quantizePlan } from './quantize.ts';
import { tinyPlan } from './testing.ts';
import { f32ToBytes } from './values.ts';
import { writeBundle } from './write.ts';

const [dir, seedText, valueType = 'f32'] = process.argv.slice(2);
if (!dir || (valueType !== 'f32' && valueType !== 'i8')) {
  process.stderr.write('usage: fixture.ts <dir> [seed] [f32|i8]\n');
  process.exit(2);
}
const f32 = tinyPlan(Number(seedText ?? 21), { shuffleExclusive: true });
const written = await writeBundle(
  valueType === 'i8' ? quantizePlan(f32, 'max-abs') : f32,
  join(dir, 'bundle'),
);
if (!written.ok) throw new Error(written.error.message);
const read = await readBundle(join(dir, 'bundle'));
if (!read.ok) throw new Error(read.error.message);
const plan = read.value.plan;
mkdirSync(join(dir, 'expected'), { recursive: true });
for (const m of plan.models) {
  writeFileSync(
    join(dir, 'expected', `${m.name}.f32`),
    f32ToBytes(gatherWeights(m, plan.sharedPages, plan.sharedPageCount, plan.pageSize)),
  );
}
process.stdout.write(`${read.value.planId}\n`);
