/**
 * One mutating command at a time per root (activate, rollback, apply-delta): two activations racing
 * would each switch `current` and prune the other's plan. The lock is a file created exclusively and
 * holding the owner's pid; a lock whose owner has died (a crash, a pulled cable killing the session) is
 * taken over rather than blocking the device forever.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { fail, type Result } from '../../../shared/core/errors.ts';
import type { AgentRoot } from './layout.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (thrown) {
    return (thrown as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether a live process holds the root's lock (an activate, rollback or apply-delta under way).
 * `status` reports it as `busy`, so the app can wait for an activation its cancelled rollout left running.
 */
export function lockHeld(root: AgentRoot): boolean {
  let text: string;
  try {
    text = readFileSync(root.path('run', 'agent.lock'), 'utf8').trim();
  } catch {
    return false;
  }
  // Created but its pid not written yet: being taken right now.
  if (text === '') return true;
  const owner = Number(text);
  return Number.isSafeInteger(owner) && owner > 0 && alive(owner);
}

/** Runs `fn` holding the root's lock; fails at once (E_DEVICE) when another live command holds it. */
export async function withRootLock<T>(root: AgentRoot, fn: () => Promise<Result<T>>): Promise<Result<T>> {
  root.ensure();
  const path = root.path('run', 'agent.lock');
  for (let tries = 0; tries < 3; tries++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (thrown) {
      if ((thrown as NodeJS.ErrnoException).code !== 'EEXIST') throw thrown;
      const owner = Number(readFileSync(path, 'utf8').trim());
      if (Number.isSafeInteger(owner) && owner > 0 && owner !== process.pid && alive(owner))
        return fail(
          'E_DEVICE',
          `Another wsep-agent command (pid ${owner}) is changing plans under ${root.root}.`,
          'Wait for it to finish, then try again.',
        );
      rmSync(path, { force: true }); // its owner is gone
      continue;
    }
    try {
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return await fn();
    } finally {
      rmSync(path, { force: true });
    }
  }
  return fail(
    'E_DEVICE',
    `Cannot take the lock ${path}.`,
    'Remove the file if no wsep-agent command is running.',
  );
}
