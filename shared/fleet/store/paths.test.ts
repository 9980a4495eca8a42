import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultStorePath, resolveStorePath } from './paths.ts';

describe('where the store lives', () => {
  const home = '/home/ann';
  it('follows each platform’s user data folder', () => {
    expect(defaultStorePath({ platform: 'linux', env: {}, home })).toBe(
      '/home/ann/.local/share/weightsep/fleet.db',
    );
    expect(defaultStorePath({ platform: 'linux', env: { XDG_DATA_HOME: '/data/x' }, home })).toBe(
      '/data/x/weightsep/fleet.db',
    );
    // A relative XDG_DATA_HOME is invalid by the XDG spec and ignored.
    expect(defaultStorePath({ platform: 'linux', env: { XDG_DATA_HOME: 'rel' }, home })).toBe(
      '/home/ann/.local/share/weightsep/fleet.db',
    );
    expect(defaultStorePath({ platform: 'darwin', env: {}, home })).toBe(
      '/home/ann/Library/Application Support/WeightSep/fleet.db',
    );
    expect(
      defaultStorePath({ platform: 'win32', env: { APPDATA: 'C:\\Users\\ann\\AppData\\Roaming' }, home }),
    ).toBe(join('C:\\Users\\ann\\AppData\\Roaming', 'WeightSep', 'fleet.db'));
  });

  it('takes --store first, then WSEP_STORE, then the default', () => {
    const context = { platform: 'linux' as const, env: { WSEP_STORE: '/env/fleet.db' }, home };
    expect(resolveStorePath('/flag/fleet.db', context)).toBe('/flag/fleet.db');
    expect(resolveStorePath('relative.db', context)).toBe(resolve('relative.db'));
    expect(resolveStorePath(undefined, context)).toBe('/env/fleet.db');
    expect(resolveStorePath(undefined, { ...context, env: {} })).toBe(
      '/home/ann/.local/share/weightsep/fleet.db',
    );
    expect(resolveStorePath(':memory:', context)).toBe(':memory:');
  });
});
