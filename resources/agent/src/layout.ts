/**
 * The agent's root folder on the device (protocol.ts AGENT_LAYOUT): staged uploads, installed plans, and
 * the `current` / `previous` links that say which plan runs and which one a rollback returns to.
 *
 * A link is switched by creating `<name>.tmp` and renaming it over `<name>` (rename(2) is atomic), so a
 * power cut leaves either the old or the new target, never a missing or half-written link. Links are
 * relative (`plans/<id>`), so a root copied or mounted elsewhere still works.
 */
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { fsyncDir } from '../../../shared/core/durable-fs.ts';
import { fail, ok, type Result } from '../../../shared/core/errors.ts';
import { HEX64 } from '../../../shared/image/hash.ts';
import { AGENT_LAYOUT } from '../../../shared/fleet/protocol.ts';

export type LinkName = 'current' | 'previous';

/** A plan id is 64 hex digits; anything else never becomes a path under the root. */
export function checkPlanId(planId: string): Result<string> {
  return HEX64.test(planId)
    ? ok(planId)
    : fail(
        'E_USAGE',
        `"${planId.slice(0, 80)}" is not a plan id (64 lowercase hex digits).`,
        'Pass the plan id from the bundle manifest (wsep rollout passes it for you).',
      );
}

export class AgentRoot {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  get stagingRoot(): string {
    return this.path(AGENT_LAYOUT.staging);
  }
  get plansRoot(): string {
    return this.path(AGENT_LAYOUT.plans);
  }
  get telemetryDir(): string {
    return this.path(AGENT_LAYOUT.telemetry);
  }
  get pidFile(): string {
    return this.path(...AGENT_LAYOUT.workloadPid.split('/'));
  }
  get runDir(): string {
    return this.path('run');
  }
  get configFile(): string {
    return this.path(AGENT_LAYOUT.config);
  }
  get agentFile(): string {
    return this.path(...AGENT_LAYOUT.agentFile.split('/'));
  }

  stagedDir(planId: string): string {
    return join(this.stagingRoot, planId);
  }
  deltaDir(planId: string): string {
    return join(this.stagingRoot, `${planId}${AGENT_LAYOUT.deltaSuffix}`);
  }
  planDir(planId: string): string {
    return join(this.plansRoot, planId);
  }
  healthDir(planDir: string): string {
    return join(planDir, AGENT_LAYOUT.healthDir);
  }

  /** Creates the folders the agent writes into (idempotent). */
  ensure(): void {
    for (const dir of [this.stagingRoot, this.plansRoot, this.telemetryDir, this.runDir])
      mkdirSync(dir, { recursive: true });
  }

  /** The plan a link points at, or null when the link is absent or points at no plan folder. */
  linked(name: LinkName): string | null {
    let target: string;
    try {
      target = readlinkSync(this.path(name));
    } catch {
      return null;
    }
    const id = target.split('/').pop() ?? '';
    return HEX64.test(id) && existsSync(this.planDir(id)) ? id : null;
  }

  /** Points `name` at plans/<planId> (or removes it for null), atomically. */
  setLink(name: LinkName, planId: string | null): void {
    const link = this.path(name);
    if (planId === null) {
      try {
        unlinkSync(link);
      } catch (thrown) {
        if ((thrown as NodeJS.ErrnoException).code !== 'ENOENT') throw thrown;
      }
    } else {
      const temp = this.path(`${name}.tmp`);
      rmSync(temp, { force: true });
      symlinkSync(`${AGENT_LAYOUT.plans}/${planId}`, temp);
      renameSync(temp, link);
    }
    fsyncDir(this.root);
  }

  /** Plan ids installed under plans/. */
  installedPlans(): string[] {
    return listIds(this.plansRoot, (name) => HEX64.test(name));
  }

  /** Plan ids with a folder under staging/ (deltas not counted). */
  stagedPlans(): string[] {
    return listIds(this.stagingRoot, (name) => HEX64.test(name));
  }

  /**
   * Removes a folder by renaming it to a hidden name first, so its plan id never names a half-deleted
   * folder (a crash leaves only a hidden leftover, which the next prune removes).
   */
  removeFolder(dir: string): void {
    if (!existsSync(dir)) return;
    const aside = join(dir, '..', `.trash-${randomBytes(4).toString('hex')}`);
    renameSync(dir, aside);
    rmSync(aside, { recursive: true, force: true });
  }

  /** Deletes installed plans that are neither current nor previous, and leftovers of earlier crashes. */
  prune(): string[] {
    const keep = new Set([this.linked('current'), this.linked('previous')].filter((p) => p !== null));
    const removed: string[] = [];
    for (const id of this.installedPlans()) {
      if (keep.has(id)) continue;
      this.removeFolder(this.planDir(id));
      removed.push(id);
    }
    for (const parent of [this.plansRoot, this.stagingRoot])
      for (const name of listIds(parent, (n) => n.startsWith('.trash-')))
        rmSync(join(parent, name), { recursive: true, force: true });
    return removed;
  }
}

function listIds(dir: string, accept: (name: string) => boolean): string[] {
  try {
    return readdirSync(dir).filter(accept).sort();
  } catch {
    return [];
  }
}
