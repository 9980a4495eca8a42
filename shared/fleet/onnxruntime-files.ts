/**
 * What a device needs of onnxruntime-node, taken from the app's own node_modules (devices need no
 * internet): the package's JavaScript and package.json files, the native binding for the device's
 * architecture only (`bin/napi-v6/linux/<arch>/`: a Jetson gets arm64, not the 45 MB x64 build too),
 * and onnxruntime-common, which the binding's JavaScript requires.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { attempt, fail, type Result } from '../core/errors.ts';

export interface RuntimeFile {
  /** Absolute path on this machine. */
  readonly local: string;
  /** Relative to the device's node_modules folder, '/'-separated. */
  readonly remote: string;
}

/** Architectures onnxruntime-node ships Linux binaries for. */
export const LINUX_ARCHES = ['x64', 'arm64'] as const;

const JS_FILE = /(\.js|\.mjs|\.cjs|^package\.json)$/;

/** The package's folder: up from its entry file to the package.json that names it (its exports hide package.json). */
function packageDir(name: string): Result<string> {
  return attempt(() => {
    let dir = dirname(createRequire(import.meta.url).resolve(name));
    while (dirname(dir) !== dir) {
      const manifest = join(dir, 'package.json');
      if (
        existsSync(manifest) &&
        (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === name
      )
        return dir;
      dir = dirname(dir);
    }
    throw new Error(`no package.json for ${name}`);
  }, 'E_NOT_FOUND');
}

/** Files under `dir` (relative paths) whose names `keep` accepts, skipping folders `skip` names. */
function walk(dir: string, keep: (name: string) => boolean, skip: (rel: string) => boolean): string[] {
  const found: string[] = [];
  const visit = (rel: string) => {
    for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!skip(path)) visit(path);
      } else if (entry.isFile() && keep(entry.name)) found.push(path);
    }
  };
  visit('');
  return found.sort();
}

/** The files to install for a Linux device of `arch`. */
export function onnxruntimeFiles(arch: string): Result<RuntimeFile[]> {
  if (!(LINUX_ARCHES as readonly string[]).includes(arch)) {
    return fail(
      'E_DEVICE',
      `onnxruntime-node ships no Linux binary for the device's architecture "${arch}".`,
      `Install onnxruntime-node on the device yourself (supported here: ${LINUX_ARCHES.join(', ')}).`,
    );
  }
  const node = packageDir('onnxruntime-node');
  const common = packageDir('onnxruntime-common');
  if (!node.ok || !common.ok) {
    return fail(
      'E_NOT_FOUND',
      'onnxruntime-node is not installed in this app, so there is nothing to send to the device.',
      'Run npm install in the app folder.',
    );
  }
  return attempt(() => {
    const binary = `bin/napi-v6/linux/${arch}`;
    const nodeFiles = [
      ...walk(
        node.value,
        (n) => JS_FILE.test(n),
        (rel) => rel === 'bin' || rel === 'script' || rel === 'node_modules',
      ),
      ...walk(
        join(node.value, binary),
        () => true,
        () => false,
      ).map((f) => `${binary}/${f}`),
    ];
    const commonFiles = walk(
      common.value,
      (n) => JS_FILE.test(n),
      (rel) => rel === 'node_modules',
    );
    return [
      ...nodeFiles.map((f) => ({ local: join(node.value, f), remote: `onnxruntime-node/${f}` })),
      ...commonFiles.map((f) => ({ local: join(common.value, f), remote: `onnxruntime-common/${f}` })),
    ];
  }, 'E_IO');
}
