import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ok } from '../../../shared/core/errors.ts';
import { testTempDir } from '../../../shared/core/testing-temp.ts';
import { AgentRoot } from './layout.ts';
import { withRootLock } from './lock.ts';

describe('the root lock', () => {
  it('runs the work and releases the lock', async () => {
    const root = new AgentRoot(testTempDir('agent-lock'));
    expect(await withRootLock(root, async () => ok(42))).toEqual(ok(42));
    expect(existsSync(root.path('run', 'agent.lock'))).toBe(false);
  });

  it('refuses while a live process holds it, and takes over from a dead one', async () => {
    const root = new AgentRoot(testTempDir('agent-lock'));
    root.ensure();
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      writeFileSync(root.path('run', 'agent.lock'), `${holder.pid}\n`);
      const refused = await withRootLock(root, async () => ok(1));
      expect(!refused.ok && refused.error.message).toContain(`pid ${holder.pid}`);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('exit', r));
    }
    expect(await withRootLock(root, async () => ok(2))).toEqual(ok(2));
  });
});
