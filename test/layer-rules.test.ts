/**
 * The layer rules of eslint.config.js (issue #11) hold and fail where they should: a file that imports
 * across a layer on purpose gets the rule's errors, a table of imports per layer is allowed or refused
 * as LAYERS says, and shared/ as it is has no violation. Runs ESLint through its Node API.
 */
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// The config is plain JavaScript: imported by URL, with the types of what this test reads.
const CONFIG_URL = new URL('../eslint.config.js', import.meta.url).href;
const { LAYERS, LAYER_VIOLATION_FIXTURE } = (await import(CONFIG_URL)) as {
  readonly LAYERS: Readonly<Record<string, readonly string[]>>;
  readonly LAYER_VIOLATION_FIXTURE: string;
};
const RULE = 'no-restricted-imports';

/** The layer-rule messages ESLint gives `code` as if it were the file at `path`. */
async function layerErrors(path: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT, ignore: false });
  const [result] = await eslint.lintText(code, { filePath: path });
  return result!.messages.filter((m) => m.ruleId === RULE).map((m) => m.message);
}

describe('layer rules', () => {
  it('fail on the file that imports across a layer on purpose, which the normal lint run skips', async () => {
    expect(await new ESLint({ cwd: ROOT }).isPathIgnored(LAYER_VIOLATION_FIXTURE)).toBe(true);
    const [result] = await new ESLint({ cwd: ROOT, ignore: false }).lintFiles([LAYER_VIOLATION_FIXTURE]);
    const errors = result!.messages.filter((m) => m.ruleId === RULE);
    expect(errors.map((m) => [m.line, m.severity])).toEqual([
      [6, 2],
      [7, 2],
    ]);
    expect(errors[0]!.message).toContain('shared/image must not import shared/separation');
    expect(errors[1]!.message).toContain('shared/image must not import shared/cli');
  });

  it.each([
    // [file, specifier, allowed]
    ['shared/core/a.ts', '../onnx/types.ts', false],
    ['shared/onnx/a.ts', '../core/errors.ts', true],
    ['shared/onnx/a.ts', '../autodiff/backward.ts', false],
    ['shared/onnx/a.ts', '../datasets/types.ts', false],
    ['shared/datasets/user/a.ts', '../../core/errors.ts', true],
    ['shared/datasets/a.ts', '../onnx/types.ts', false],
    ['shared/autodiff/rules/Conv.ts', '../../onnx/types.ts', true],
    ['shared/autodiff/rules/Conv.ts', '../../train/fit.ts', false],
    ['shared/train/a.ts', '../autodiff/training-graph.ts', true],
    ['shared/train/a.ts', '../separation/planner.ts', false],
    ['shared/train/a.ts', '../zoo/build.ts', false],
    ['shared/image/a.ts', '../datasets/types.ts', true],
    ['shared/image/a.ts', '../autodiff/backward.ts', false],
    ['shared/image/a.ts', '../train/fit.ts', false],
    ['shared/image/a.ts', '../separation/planner.ts', false],
    ['shared/image/a.ts', '../runtime/runtime.ts', false],
    ['shared/image/a.ts', '../zoo/model-builder.ts', false],
    ['shared/runtime/a.ts', '../image/read.ts', true],
    ['shared/runtime/a.ts', '../zoo/model-builder.ts', true],
    ['shared/runtime/a.ts', '../zoo/build.ts', false],
    ['shared/runtime/a.ts', '../zoo', false],
    ['shared/runtime/a.ts', '../train/fit.ts', false],
    ['shared/runtime/a.ts', '../separation/planner.ts', false],
    ['shared/zoo/a.ts', '../train/fit.ts', true],
    ['shared/zoo/a.ts', '../separation/planner.ts', false],
    ['shared/zoo/a.ts', '../image/plan.ts', false],
    ['shared/separation/a.ts', '../runtime/runtime.ts', true],
    ['shared/separation/a.ts', '../cli/args.ts', false],
    ['shared/cli/commands/a.ts', '../../separation/planner.ts', true],
    ['shared/api/a.ts', '../fleet/rollout.ts', true],
    ['shared/api/a.ts', '../separation/planner.ts', true],
    ['shared/api/a.ts', '../cli/args.ts', false],
    ['shared/fleet/a.ts', '../api/contract.ts', false],
    ['shared/cli/commands/a.ts', '../../api/service.ts', true],
  ] as const)('%s importing %s: allowed %s', async (file, specifier, allowed) => {
    const errors = await layerErrors(file, `import { x } from '${specifier}';\nexport const y = x;\n`);
    expect(errors.length).toBe(allowed ? 0 : 1);
  });

  it('cover type-only imports and re-exports too', async () => {
    const code = [
      "import type { Plan } from '../separation/planner.ts';",
      "export { fit } from '../train/fit.ts';",
      "export * from '../autodiff/backward.ts';",
      'export type P = Plan;',
    ].join('\n');
    expect(await layerErrors('shared/image/a.ts', code)).toHaveLength(3);
  });

  it('name every folder of shared/, and each layer only imports layers below it', () => {
    const folders = Object.keys(LAYERS);
    for (const [folder, allowed] of Object.entries(LAYERS)) {
      for (const other of allowed) {
        expect(folders, `${folder} → ${other}`).toContain(other);
        // No cycles: what a layer may import may not import it back (`other` is a layer: checked above).
        expect(LAYERS[other]!, `${other} → ${folder}`).not.toContain(folder);
      }
    }
    expect(folders.sort()).toEqual(
      [
        'api',
        'autodiff',
        'cli',
        'core',
        'datasets',
        'fleet',
        'image',
        'mcu',
        'onnx',
        'runtime',
        'separation',
        'train',
        'zoo',
      ].sort(),
    );
  });

  it('hold in shared/ as it is', async () => {
    const results = await new ESLint({ cwd: ROOT }).lintFiles(['shared']);
    const violations = results.flatMap((r) =>
      r.messages.filter((m) => m.ruleId === RULE).map((m) => `${r.filePath}:${m.line}: ${m.message}`),
    );
    expect(violations).toEqual([]);
  });
});
