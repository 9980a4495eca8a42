// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The engine's layers (issue #11), as VS Code checks its own: each folder of shared/ lists the folders
 * it may import; any other folder of shared/ is forbidden to it. In short: core ← onnx ← autodiff ←
 * train ← separation; the fleet (devices, rollouts, SSH, the store) sits on image, runtime and mcu (an MCU
 * gateway's firmware and blobs), never the planner; datasets sits beside onnx (data only: core); image (the bundle format and the
 * plan contract) and runtime (what ships to a device) never import autodiff, train, separation or the
 * zoo; the zoo builds and trains models (train's level); the app's api drives them all but the CLI;
 * nothing but the CLI imports the CLI.
 * Tests follow the same rules: a test that needs a higher layer lives in that layer's folder.
 */
/** Every folder of the engine below the app's contract and the CLI. */
const ENGINE_FOLDERS = [
  'core',
  'onnx',
  'datasets',
  'autodiff',
  'train',
  'image',
  'runtime',
  'zoo',
  'separation',
  'fleet',
  'mcu',
];

export const LAYERS = {
  core: [],
  onnx: ['core'],
  datasets: ['core'],
  autodiff: ['core', 'onnx'],
  train: ['core', 'onnx', 'datasets', 'autodiff'],
  image: ['core', 'onnx', 'datasets'],
  runtime: ['core', 'onnx', 'datasets', 'image'],
  zoo: ['core', 'onnx', 'datasets', 'autodiff', 'train'],
  separation: ['core', 'onnx', 'datasets', 'autodiff', 'train', 'image', 'runtime', 'zoo'],
  mcu: ['core', 'onnx', 'datasets', 'image', 'runtime'],
  fleet: ['core', 'onnx', 'datasets', 'image', 'runtime', 'mcu'],
  // The app's contract and its one implementation (issue 15): it drives every engine folder, never the CLI.
  api: ENGINE_FOLDERS,
  cli: [...ENGINE_FOLDERS, 'api'],
};

/**
 * Single files of a forbidden folder that a layer may still import, each with its reason.
 * zoo/model-builder.ts builds ONNX graphs from core and onnx alone; runtime's test fixtures use it.
 */
const EXCEPTIONS = { runtime: { zoo: ['model-builder.ts'] } };

/** A file that imports across a layer on purpose (test/layer-rules.test.ts lints it); not linted otherwise. */
export const LAYER_VIOLATION_FIXTURE = 'shared/image/layer-violation.fixture.ts';

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** One config per layer: `no-restricted-imports` with a pattern, and a message, per forbidden folder. */
function layerRules() {
  const folders = Object.keys(LAYERS);
  return folders.map((folder) => {
    const allowed = new Set([folder, ...LAYERS[folder]]);
    const patterns = folders
      .filter((other) => !allowed.has(other))
      .map((other) => {
        const except = EXCEPTIONS[folder]?.[other] ?? [];
        const unless = except.length ? `(?!(${except.map(escape).join('|')})$)` : '';
        const may = [...LAYERS[folder], ...except.map((file) => `${other}/${file}`)];
        return {
          // Relative specifiers from any depth of shared/<folder>/ into shared/<other>/.
          regex: `^(\\.\\./)+${other}(/${unless}|$)`,
          message: `Layer rule: shared/${folder} must not import shared/${other} (it may import ${may.join(', ') || 'nothing from shared/'}; see LAYERS in eslint.config.js).`,
        };
      });
    return {
      files: [`shared/${folder}/**/*.ts`],
      rules: { 'no-restricted-imports': ['error', { patterns }] },
    };
  });
}

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      'resources/agent/dist/**',
      'resources/zoo/**',
      'resources/data/**',
      'plans/**',
      'coverage/**',
      'renderer/dist/**',
      'electron/dist/**',
      LAYER_VIOLATION_FIXTURE,
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        URL: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  ...layerRules(),
);
