import { describe, expect, it } from 'vitest';
import { unwrap } from '../core/errors.ts';
import { resolveTargets } from './targets.ts';
import { openFleetStore } from './store/store.ts';

function fleet() {
  const store = unwrap(openFleetStore(':memory:'));
  const add = (name: string, tags: string[]) =>
    unwrap(
      store.addDevice({
        name,
        kind: 'linux',
        host: '127.0.0.2',
        port: 2222,
        user: 'root',
        keyPath: '/k',
        root: '/r',
        tags,
      }),
    );
  add('edge-b', ['lab', 'canary']);
  add('edge-a', ['lab']);
  add('edge-c', []);
  add('dev;touch /tmp/x,y', ['$(id)']);
  return unwrap(store.listDevices());
}

const names = (to: string) => {
  const r = resolveTargets(fleet(), to);
  return r.ok ? r.value.map((d) => d.name) : `${r.error.code}: ${r.error.message} | ${r.error.hint}`;
};

describe('resolveTargets', () => {
  it('takes names and tags in the order given, each device once, a tag’s devices by name', () => {
    expect(names('edge-c,lab')).toEqual(['edge-c', 'edge-a', 'edge-b']);
    expect(names('canary, lab , edge-b')).toEqual(['edge-b', 'edge-a']);
  });

  it('takes the whole text as one name first (names may hold commas and shell characters)', () => {
    expect(names('dev;touch /tmp/x,y')).toEqual(['dev;touch /tmp/x,y']);
    expect(names('$(id)')).toEqual(['dev;touch /tmp/x,y']);
  });

  it('refuses unknown terms and lists the known names and tags', () => {
    expect(names('edge-a,edge-z')).toMatch(
      /^E_USAGE: --to: no device or tag is named "edge-z"\. \| Known devices: .*"edge-a".*; tags: "\$\(id\)", "canary", "lab"\.$/,
    );
    expect(names(' , ')).toMatch(/^E_USAGE: wsep rollout needs --to/);
    const none = resolveTargets([], 'x');
    expect(!none.ok && none.error.hint).toMatch(/No devices are registered yet/);
  });
});
