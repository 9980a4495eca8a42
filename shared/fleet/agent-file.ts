/**
 * The agent file provisioning uploads: `resources/agent/dist/wsep-agent.mjs`, built with esbuild on
 * demand — when it is missing or older than any source it bundles (the agent's own sources and the
 * shared/ layers it imports), so a device never gets an agent that lags the app.
 */
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { fail, ok, type Result } from '../core/errors.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const AGENT_FILE = join(REPO, 'resources', 'agent', 'dist', 'wsep-agent.mjs');

/** Folders whose TypeScript the agent bundles (see resources/agent/build.ts). */
const SOURCE_DIRS = [
  'resources/agent/src',
  'shared/core',
  'shared/onnx',
  'shared/datasets',
  'shared/image',
  'shared/runtime',
  'shared/fleet/protocol.ts',
];

function newestSourceTime(path: string): number {
  const s = statSync(path, { throwIfNoEntry: false });
  if (!s) return 0;
  if (!s.isDirectory()) return path.endsWith('.ts') ? s.mtimeMs : 0;
  let newest = 0;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestSourceTime(join(path, entry)));
  return newest;
}

/** Whether the built agent is there and newer than every source it bundles. */
export function agentFileIsFresh(file = AGENT_FILE): boolean {
  const built = statSync(file, { throwIfNoEntry: false });
  if (!built) return false;
  const newest = Math.max(...SOURCE_DIRS.map((d) => newestSourceTime(join(REPO, d))));
  return built.mtimeMs >= newest;
}

/** The path of an up-to-date agent file, building it when needed. */
export async function ensureAgentFile(): Promise<Result<string>> {
  if (agentFileIsFresh()) return ok(AGENT_FILE);
  let build: typeof import('../../resources/agent/build.ts');
  try {
    // Loaded only when a build is needed: esbuild is a development tool.
    build = await import('../../resources/agent/build.ts');
  } catch (thrown) {
    return fail(
      'E_INTERNAL',
      `The device agent is not built (${AGENT_FILE}) and cannot be built here: ${(thrown as Error).message}`,
      'Run npm run build:agent in the repository.',
    );
  }
  const built = await build.buildAgent(AGENT_FILE);
  if (!built.ok) return built;
  return ok(built.value.file);
}
