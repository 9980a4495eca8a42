import { lstatSync, mkdirSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testTempDir } from '../../../shared/core/testing-temp.ts';
import { AgentRoot, checkPlanId } from './layout.ts';

const id = (c: string): string => c.repeat(64);

function rootWith(...plans: string[]): AgentRoot {
  const root = new AgentRoot(testTempDir('agent-layout'));
  root.ensure();
  for (const p of plans) {
    mkdirSync(root.planDir(p));
    writeFileSync(join(root.planDir(p), 'manifest.json'), '{}');
  }
  return root;
}

describe('agent root layout', () => {
  it('switches current and previous as relative symlinks, leaving no temporary link', () => {
    const root = rootWith(id('a'), id('b'));
    expect(root.linked('current')).toBeNull();
    root.setLink('current', id('a'));
    root.setLink('previous', id('a'));
    root.setLink('current', id('b'));
    expect(root.linked('current')).toBe(id('b'));
    expect(root.linked('previous')).toBe(id('a'));
    expect(lstatSync(root.path('current')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(root.path('current'))).toBe(`plans/${id('b')}`);
    expect(readdirSync(root.root).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    root.setLink('previous', null);
    expect(root.linked('previous')).toBeNull();
  });

  it('treats a link to a missing plan folder as no plan', () => {
    const root = rootWith(id('a'));
    root.setLink('current', id('c'));
    expect(root.linked('current')).toBeNull();
  });

  it('prunes plans that are neither current nor previous, and leftovers of a crash', () => {
    const root = rootWith(id('a'), id('b'), id('c'));
    mkdirSync(join(root.plansRoot, '.trash-1234'));
    root.setLink('current', id('c'));
    root.setLink('previous', id('a'));
    expect(root.prune()).toEqual([id('b')]);
    expect(readdirSync(root.plansRoot).sort()).toEqual([id('a'), id('c')]);
  });

  it('accepts only 64-hex plan ids, so no id names a path outside the root', () => {
    expect(checkPlanId(id('f')).ok).toBe(true);
    for (const bad of ['../../etc', id('A'), 'a'.repeat(63), `${id('a')}/x`, ''])
      expect(checkPlanId(bad).ok).toBe(false);
  });
});
