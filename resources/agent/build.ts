/**
 * Builds the device agent into one file, `resources/agent/dist/wsep-agent.mjs` (ESM, Node ≥ 18), that
 * needs nothing on the device but Node and onnxruntime-node in `<root>/node_modules/`.
 *
 * onnxruntime-node is replaced by a small module that requires it on first use, so the agent loads —
 * and `info` can report `onnxruntime: null` — on a device where it is not installed yet (provisioning
 * asks `info` before it installs it). Everything else the agent imports is bundled; CommonJS packages
 * inside get a `require` made by createRequire (the banner), as ESM has none.
 *
 * `npm run build:agent`, or `buildAgent()` (provisioning builds it when it is missing or stale).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { attemptAsync, type Result } from '../../shared/core/errors.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
export const AGENT_ENTRY = join(HERE, 'src', 'main.ts');
export const AGENT_OUT = join(HERE, 'dist', 'wsep-agent.mjs');
/** The oldest Node the agent supports (devices such as Jetsons often lag). */
export const AGENT_NODE_TARGET = 'node18';

/**
 * The engine uses `ort.InferenceSession.create` and `new ort.Tensor` only; the shim forwards both to
 * the real package, loaded from the agent file's folder upward (`<root>/node_modules`) on first use.
 */
const LAZY_ORT = `
import { createRequire } from 'node:module';
const requireHere = createRequire(import.meta.url);
let loaded;
const ort = () => (loaded ??= requireHere('onnxruntime-node'));
export const InferenceSession = { create: (...args) => ort().InferenceSession.create(...args) };
export const Tensor = function Tensor(...args) { return new (ort().Tensor)(...args); };
`;

const lazyOnnxruntime: Plugin = {
  name: 'lazy-onnxruntime',
  setup(b) {
    b.onResolve({ filter: /^onnxruntime-node$/ }, (args) =>
      // The shim's own require of the package stays a real require.
      args.namespace === 'lazy-ort'
        ? { path: args.path, external: true }
        : { path: 'onnxruntime-node', namespace: 'lazy-ort' },
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-ort' }, () => ({ contents: LAZY_ORT, loader: 'js' }));
  },
};

export interface BuiltAgent {
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** Bundles the agent into `outFile` (written beside it, then renamed into place). */
export async function buildAgent(outFile: string = AGENT_OUT): Promise<Result<BuiltAgent>> {
  return attemptAsync(async () => {
    mkdirSync(dirname(outFile), { recursive: true });
    const temp = `${outFile}.${process.pid}.tmp`;
    await build({
      entryPoints: [AGENT_ENTRY],
      outfile: temp,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: AGENT_NODE_TARGET,
      external: ['onnxruntime-node'],
      plugins: [lazyOnnxruntime],
      banner: {
        js: [
          '#!/usr/bin/env node',
          "import { createRequire as __wsepCreateRequire } from 'node:module';",
          'const require = __wsepCreateRequire(import.meta.url);',
        ].join('\n'),
      },
      legalComments: 'none',
      logLevel: 'silent',
      minifyWhitespace: true,
      minifySyntax: true,
    });
    renameSync(temp, outFile);
    const bytes = readFileSync(outFile);
    return {
      file: outFile,
      bytes: bytes.byteLength,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
  }, 'E_INTERNAL');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const built = await buildAgent(process.argv[2] ?? AGENT_OUT);
  if (!built.ok) {
    process.stderr.write(`Cannot build the agent: ${built.error.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`${built.value.file}: ${built.value.bytes} bytes, sha256 ${built.value.sha256}\n`);
}
