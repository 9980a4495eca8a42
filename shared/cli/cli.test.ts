import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hiddenEntries, testTempDir, useTempDir } from '../core/testing-temp.ts';
import { writeBundle } from '../image/write.ts';
import { tinyPlan } from '../image/testing.ts';
import { saveModel } from '../onnx/io.ts';
import { tinyConvNet } from '../onnx/testing.ts';
import { parseArgs } from './args.ts';
import { COMMANDS } from './commands/index.ts';
import { EXIT_CANCELLED, interruptHandler, main, takeGlobalOptions } from './main.ts';

const dir = useTempDir('wsep-cli-');
const model = join(dir, 'tiny.onnx');
saveModel(model, tinyConvNet());

async function run(argv: string[], signal?: AbortSignal) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    ...(signal ? { signal } : {}),
  });
  return { code, out: out.join('\n'), err: err.join('\n'), errLines: err };
}

/** Each stderr line of a --progress json run, parsed (a line that is not JSON fails the test). */
function events(lines: readonly string[]): Record<string, unknown>[] {
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
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
    const path = model;
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
      '--strategy must be "ours", "reference" or "reference-capped"',
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

describe('wsep --progress', () => {
  it('is accepted anywhere in argv, as "--progress mode" or "--progress=mode"', async () => {
    expect(takeGlobalOptions(['--progress', 'json', 'inspect', 'a.onnx'])).toEqual({
      ok: true,
      value: { argv: ['inspect', 'a.onnx'], progress: 'json' },
    });
    expect(takeGlobalOptions(['plan', '--progress=none', '--quick'])).toEqual({
      ok: true,
      value: { argv: ['plan', '--quick'], progress: 'none' },
    });
    // After "--" everything is the command's.
    expect(takeGlobalOptions(['x', '--', '--progress', 'json'])).toEqual({
      ok: true,
      value: { argv: ['x', '--', '--progress', 'json'], progress: 'auto' },
    });
    expect((await run(['--progress', 'none', 'inspect', model])).code).toBe(0);
    expect((await run(['inspect', model, '--progress=lines'])).code).toBe(0);
  });

  it('refuses a missing or unknown mode as a usage error', async () => {
    const missing = await run(['inspect', model, '--progress']);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('--progress needs a value');
    const unknown = await run(['--progress', 'bars', 'inspect', model]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('--progress must be one of auto, line, lines, json, none, got "bars"');
  });

  it('is documented in wsep --help and in every command’s help', async () => {
    const top = await run(['--help']);
    expect(top.out).toContain('--progress <mode>');
    expect(top.out).toMatch(/json {3}every stderr line is one JSON object/);
    for (const c of COMMANDS) expect((await run([c.name, '--help'])).out).toContain('--progress <mode>');
  });

  it('json: stderr is JSON lines only, ending with the result or the error event', async () => {
    const good = await run(['inspect', model, '--progress', 'json']);
    expect(good.code).toBe(0);
    expect(events(good.errLines)).toEqual([{ type: 'result', exitCode: 0 }]);
    const usage = await run(['frobnicate', '--progress', 'json']);
    expect(usage.code).toBe(2);
    expect(events(usage.errLines)).toEqual([
      {
        type: 'error',
        exitCode: 2,
        code: 'E_USAGE',
        message: 'unknown command "frobnicate".',
        hint: 'Run "wsep --help" for the list of commands.',
      },
    ]);
    const missing = await run(['plan', '--models', join(dir, 'none'), '--progress', 'json']);
    expect(missing.code).toBe(1);
    const last = events(missing.errLines).at(-1)!;
    expect(last).toMatchObject({ type: 'error', exitCode: 1, code: 'E_NOT_FOUND' });
  });
});

describe('wsep cancellation', () => {
  it('a command stopped by the signal exits with 130 and one "cancelled" line, writing nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    const out = join(testTempDir('wsep-cli-cancel-'), 'd.onnx');
    const r = await run(['train', '--task', 'digits8x8', '--steps', '50', '--out', out], controller.signal);
    expect(r.code).toBe(EXIT_CANCELLED);
    expect(r.errLines.at(-1)).toBe('wsep train: cancelled.');
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
  });

  it('the first Ctrl-C aborts the signal, the second quits at once', () => {
    const controller = new AbortController();
    let quits = 0;
    const onSigint = interruptHandler(controller, () => quits++);
    onSigint();
    expect(controller.signal.aborted).toBe(true);
    expect(quits).toBe(0);
    onSigint();
    expect(quits).toBe(1);
  });
});

describe('wsep plan --out', () => {
  it('refuses an existing file before any model is loaded', async () => {
    const file = join(testTempDir('wsep-cli-out-'), 'notes.txt');
    writeFileSync(file, 'mine');
    const started = performance.now();
    const r = await run(['plan', '--only', 'digits8x8', '--out', file, '--progress', 'json']);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(r.code).toBe(2);
    const all = events(r.errLines);
    expect(all.some((e) => e['type'] === 'progress' || e['type'] === 'log')).toBe(false);
    expect(all.at(-1)).toMatchObject({ type: 'error', code: 'E_USAGE' });
    expect(String(all.at(-1)!['message'])).toContain(`--out ${file} is an existing file`);
  });

  it('refuses a non-empty folder that is not a plan bundle, and leaves it as it was', async () => {
    const folder = join(testTempDir('wsep-cli-out-'), 'photos');
    mkdirSync(folder);
    writeFileSync(join(folder, 'cat.jpg'), 'meow');
    const r = await run(['plan', '--only', 'digits8x8', '--out', folder, '--progress', 'json']);
    expect(r.code).toBe(2);
    const all = events(r.errLines);
    expect(all.some((e) => e['stage'] === 'fisher')).toBe(false);
    expect(String(all.at(-1)!['message'])).toContain('is a folder that is not a plan bundle');
    expect(existsSync(join(folder, 'cat.jpg'))).toBe(true);
  });

  it('accepts an empty folder or an existing bundle (checked before the models are)', async () => {
    const root = testTempDir('wsep-cli-out-');
    const empty = join(root, 'empty');
    mkdirSync(empty);
    const bundle = join(root, 'bundle');
    expect((await writeBundle(tinyPlan(3), bundle)).ok).toBe(true);
    for (const out of [empty, bundle]) {
      const r = await run(['plan', '--models', join(root, 'no-models'), '--out', out]);
      expect(r.code).toBe(1);
      expect(r.err).toContain('No models folder');
    }
    expect(hiddenEntries(root)).toEqual([]);
  });
});
