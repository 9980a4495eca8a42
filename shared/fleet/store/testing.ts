/** Test fixtures for the store's tests (and the fleet's): valid inputs to vary, and a raw second connection. */
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import type { NewDevice, NewPlan } from './types.ts';

/** A plan id: the SHA-256 of `seed`, so each seed gives a stable, distinct, valid id. */
export function fakePlanId(seed: string): string {
  return createHash('sha256').update(seed).digest('hex');
}

/** A well-formed host-key fingerprint (not a real key's). */
export function fakeFingerprint(seed: string): string {
  return `SHA256:${createHash('sha256').update(seed).digest('base64').replace(/=+$/, '')}`;
}

export function newDevice(name: string, overrides: Partial<NewDevice> = {}): NewDevice {
  return {
    name,
    kind: 'linux',
    host: '127.0.0.2',
    port: 2222,
    user: 'wsep',
    keyPath: '/tmp/keys/id_ed25519',
    root: '/opt/wsep',
    ...overrides,
  };
}

export function newPlan(seed: string, overrides: Partial<NewPlan> = {}): NewPlan {
  const id = fakePlanId(seed);
  return {
    id,
    name: `plan ${seed}`,
    bundlePath: `/tmp/bundles/${id}`,
    summary: { models: 2, sharedPages: 10 },
    health: {
      tolerancePoints: 2,
      models: [
        { model: 'mnist', samples: 64, expectedAccuracy: 0.95 },
        { model: 'fashion', samples: 64, expectedAccuracy: 0.85 },
      ],
    },
    ...overrides,
  };
}

/** A second, raw connection to a store file: to edit rows by hand the way damage or a newer app would. */
export function rawConnection(path: string): Database.Database {
  return new Database(path);
}
