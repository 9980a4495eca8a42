import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { saveModel } from '../onnx/io.ts';
import { tinyConvNet } from '../onnx/testing.ts';
import { parseArgs } from './args.ts';
import { COMMANDS } from './commands/index.ts';
import { main } from './main.ts';

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('wsep CLI', () => {
  it('lists every command in --help', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.out).toContain(c.name);
  });

  it.each(COMMANDS.map((c) => c.name))('prints help for "%s"', async (name) => {
    const r = await run([name, '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Usage: wsep /);
    expect(r.out).toContain('--help');
  });

  it('rejects an unknown command with exit code 2 and a hint', async () => {
    const r = await run(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown command "frobnicate"');
  });

  it('rejects unknown flags and missing values', async () => {
    expect((await run(['inspect', '--nope', 'x.onnx'])).err).toContain('unknown option --nope');
    expect((await run(['inspect'])).code).toBe(2);
    const parsed = parseArgs(['--steps'], [{ name: 'steps', kind: 'number', description: '' }], 'train');
    expect(!parsed.ok && parsed.error.message).toContain('--steps needs a value');
    const nan = parseArgs(['--steps', 'ten'], [{ name: 'steps', kind: 'number', description: '' }], 'train');
    expect(!nan.ok && nan.error.message).toContain('must be a number');
  });

  it('inspects a model as text and JSON, and reports corrupt files without a stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wsep-cli-'));
    const path = join(dir, 'tiny.onnx');
    saveModel(path, tinyConvNet());
    const text = await run(['inspect', path]);
    expect(text.code).toBe(0);
    expect(text.out).toContain('Parameters: 235');
    const json = JSON.parse((await run(['inspect', path, '--json'])).out);
    expect(json.parameters).toBe(235);
    expect(json.weights.map((w: { name: string }) => w.name)).toEqual([
      'conv1.weight',
      'conv1.bias',
      'fc.weight',
      'fc.bias',
    ]);
    const bad = join(dir, 'bad.onnx');
    writeFileSync(bad, 'this is not a model at all, just text');
    const r = await run(['inspect', bad]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error: .*bad\.onnx/);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it('plan reports bad budgets, strategies, page sizes and folders before any work', async () => {
    const bad = await run(['plan', '--l1', 'lots']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--l1: "lots" is not a size');
    expect((await run(['plan', '--strategy', 'magic'])).err).toContain(
      '--strategy must be "ours" or "reference"',
    );
    const missing = await run(['plan', '--models', '/nonexistent/zoo']);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('No models folder at /nonexistent/zoo');
    const page = await run(['plan', '--page-size', '100', '--only', 'digits8x8']);
    expect(page.code).toBe(2);
    expect(page.err).toContain('not a positive power of two');
    const zero = await run(['plan', '--l1', '0', '--only', 'digits8x8,wall_following']);
    expect(zero.code).toBe(1);
    expect(zero.err).toContain('level-1 budget must be more than 0');
    const distill = await run(['plan', '--distill', '1.5']);
    expect(distill.code).toBe(2);
    expect(distill.err).toContain('--distill takes a weight from 0 to 1, got "1.5"');
    const ema = await run(['plan', '--ema', '1', '--only', 'digits8x8']);
    expect(ema.err).toContain('page-average decay must be in [0, 1)');
  });
});
