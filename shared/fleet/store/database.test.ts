import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unwrap } from '../../core/errors.ts';
import { failureOf } from '../../core/testing-result.ts';
import { testTempDir } from '../../core/testing-temp.ts';
import { SCHEMA_VERSION } from './migrations.ts';
import { openFleetStore } from './store.ts';
import { newDevice, rawConnection } from './testing.ts';

describe('opening the fleet store', () => {
  it('creates the file and its folders, in WAL mode with foreign keys, at the current schema', () => {
    const dir = testTempDir('store-open');
    const path = join(dir, 'deep', 'er', 'fleet.db');
    const store = unwrap(openFleetStore(path));
    try {
      expect(existsSync(path)).toBe(true);
      expect(store.schemaVersion).toBe(SCHEMA_VERSION);
      expect(store.bundlesDir).toBe(join(dir, 'deep', 'er', 'bundles'));
    } finally {
      store.close();
    }
    const raw = rawConnection(path);
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      const versions = raw.prepare('SELECT version, name FROM schema_version ORDER BY version').all();
      expect(versions).toHaveLength(SCHEMA_VERSION);
    } finally {
      raw.close();
    }
  });

  it('declares its references, so a step cannot point at a missing rollout', () => {
    const path = join(testTempDir('store-fk'), 'fleet.db');
    unwrap(openFleetStore(path)).close();
    const raw = rawConnection(path);
    try {
      raw.pragma('foreign_keys = ON');
      expect(() =>
        raw
          .prepare(
            "INSERT INTO rollout_steps (rollout_id, device, wave, state) VALUES (99, 'x', 0, 'pending')",
          )
          .run(),
      ).toThrow(/FOREIGN KEY/);
    } finally {
      raw.close();
    }
  });

  it('reopens an existing store without migrating it again, and keeps its rows', () => {
    const path = join(testTempDir('store-reopen'), 'fleet.db');
    const first = unwrap(openFleetStore(path));
    unwrap(first.addDevice(newDevice('a')));
    first.close();
    const second = unwrap(openFleetStore(path));
    try {
      expect(unwrap(second.listDevices()).map((d) => d.name)).toEqual(['a']);
    } finally {
      second.close();
    }
    const raw = rawConnection(path);
    expect(raw.prepare('SELECT COUNT(*) AS n FROM schema_version').get()).toEqual({ n: SCHEMA_VERSION });
    raw.close();
  });

  it('refuses a store written by a newer WeightSep, naming both versions, and leaves it as it is', () => {
    const path = join(testTempDir('store-newer'), 'fleet.db');
    unwrap(openFleetStore(path)).close();
    const raw = rawConnection(path);
    raw
      .prepare("INSERT INTO schema_version (version, name, applied_at) VALUES (?, 'future', 'x')")
      .run(SCHEMA_VERSION + 1);
    raw.close();
    const before = readFileSync(path);
    const failure = failureOf(openFleetStore(path));
    expect(failure.code).toBe('E_STORE');
    expect(failure.message).toContain(path);
    expect(failure.message).toContain(`schema version ${SCHEMA_VERSION + 1}`);
    expect(failure.hint).toMatch(/Update WeightSep/);
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('refuses a file that is not SQLite with its path, and does not touch it', () => {
    const dir = testTempDir('store-corrupt');
    const path = join(dir, 'fleet.db');
    const junk = Buffer.from('this is not a database, but it is somebody’s file\n'.repeat(100));
    writeFileSync(path, junk);
    const failure = failureOf(openFleetStore(path));
    expect(failure.code).toBe('E_STORE');
    expect(failure.message).toContain(path);
    expect(failure.message).toMatch(/not a SQLite database/);
    expect(failure.hint).toMatch(/untouched/);
    expect(readFileSync(path).equals(junk)).toBe(true);
    expect(existsSync(`${path}-wal`)).toBe(false);
    expect(existsSync(`${path}-shm`)).toBe(false);
  });

  it('refuses a SQLite file whose pages are damaged, as E_STORE naming the file', () => {
    const path = join(testTempDir('store-damaged'), 'fleet.db');
    const store = unwrap(openFleetStore(path));
    for (let i = 0; i < 50; i += 1) unwrap(store.addDevice(newDevice(`device-${i}`)));
    store.close();
    const bytes = readFileSync(path);
    // Keep the 100-byte header (so it still looks like SQLite) and wreck everything after it.
    bytes.fill(0xa5, 100);
    writeFileSync(path, bytes);
    const failure = failureOf(openFleetStore(path));
    expect(failure.code).toBe('E_STORE');
    expect(failure.message).toBe(
      `The fleet store ${path} is not a SQLite database (it is corrupt, or another kind of file).`,
    );
  });

  it('opens an empty file as a new store', () => {
    const path = join(testTempDir('store-empty'), 'fleet.db');
    writeFileSync(path, '');
    const store = unwrap(openFleetStore(path));
    expect(store.schemaVersion).toBe(SCHEMA_VERSION);
    store.close();
  });

  it('says so when the path is a folder', () => {
    const path = join(testTempDir('store-folder'), 'fleet.db');
    mkdirSync(path);
    const failure = failureOf(openFleetStore(path));
    expect(failure.code).toBe('E_STORE');
    expect(failure.message).toBe(`The fleet store path ${path} is not a file.`);
  });

  it('is safe to open twice: a write on one connection is seen by the other', () => {
    const path = join(testTempDir('store-twice'), 'fleet.db');
    const one = unwrap(openFleetStore(path));
    const two = unwrap(openFleetStore(path));
    try {
      unwrap(one.addDevice(newDevice('seen-by-two', { tags: ['lab'] })));
      expect(unwrap(two.getDevice('seen-by-two')).tags).toEqual(['lab']);
      unwrap(two.markOffline('seen-by-two', 'The device did not answer.'));
      expect(unwrap(one.getDevice('seen-by-two')).statusReason).toBe('The device did not answer.');
      // The same name from the other connection is refused by the shared UNIQUE index.
      expect(failureOf(two.addDevice(newDevice('seen-by-two'))).message).toBe(
        'A device named "seen-by-two" is already registered.',
      );
    } finally {
      one.close();
      two.close();
    }
  });

  it('reports a store held by another writer as busy, then works once it is free', () => {
    const path = join(testTempDir('store-busy'), 'fleet.db');
    const store = unwrap(openFleetStore(path, { busyTimeoutMs: 50 }));
    const other = rawConnection(path);
    try {
      other.exec('BEGIN IMMEDIATE');
      const failure = failureOf(store.addDevice(newDevice('waiting')));
      expect(failure.code).toBe('E_STORE');
      expect(failure.message).toMatch(/is busy: another wsep process held its write lock/);
      expect(failure.hint).toBe('Try again when the other command has finished.');
      other.exec('ROLLBACK');
      expect(unwrap(store.addDevice(newDevice('waiting'))).name).toBe('waiting');
    } finally {
      other.close();
      store.close();
    }
  });

  it('gives an in-memory store no bundle folder unless asked, and bundle folders by plan id', () => {
    const bare = unwrap(openFleetStore(':memory:'));
    expect(failureOf(bare.bundleDirFor('a'.repeat(64))).code).toBe('E_STORE');
    bare.close();
    const store = unwrap(openFleetStore(':memory:', { bundlesDir: '/srv/bundles' }));
    expect(unwrap(store.bundleDirFor('b'.repeat(64)))).toBe(join('/srv/bundles', 'b'.repeat(64)));
    expect(failureOf(store.bundleDirFor('../escape')).code).toBe('E_USAGE');
    store.close();
  });
});
