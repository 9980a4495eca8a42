import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { unwrap } from '../../core/errors.ts';
import { failureOf } from '../../core/testing-result.ts';
import { testTempDir } from '../../core/testing-temp.ts';
import { openFleetStore, type FleetStore } from './store.ts';
import { fakeFingerprint, fakePlanId, newDevice, rawConnection } from './testing.ts';

/** Names a shell would act on; the store must keep them as plain data. */
const HOSTILE_NAMES = [
  'dev;touch /tmp/pwned-$$',
  '$(id)',
  '`reboot`',
  'it\'s "quoted"',
  '  spaced  out  ',
  'a && b || c > /etc/passwd',
  '-rf',
  '--help',
  '*?[a-z]{1,2}',
  '%s%n%x',
  "'; DROP TABLE devices; --",
  'Ünïcödé 设备 🚀',
  '🚀'.repeat(64),
];

describe('the device registry', () => {
  let store: FleetStore;
  beforeEach(() => {
    store = unwrap(openFleetStore(':memory:'));
  });
  afterEach(() => store.close());

  it('stores a device and reads it back field by field', () => {
    const added = unwrap(
      store.addDevice(
        newDevice('jetson-1', {
          kind: 'mcu-gateway',
          host: '10.0.0.7',
          port: 2200,
          user: 'ops',
          keyPath: '/home/ops/.ssh/id_ed25519',
          root: '/var/lib/wsep',
          nodePath: '/usr/local/bin/node',
          probedHostKeyFingerprint: fakeFingerprint('k1'),
          tags: ['lab', 'arm64', 'lab'],
          createdAt: '2025-01-02T03:04:05.006Z',
        }),
      ),
    );
    expect(added).toEqual({
      name: 'jetson-1',
      kind: 'mcu-gateway',
      host: '10.0.0.7',
      port: 2200,
      user: 'ops',
      keyPath: '/home/ops/.ssh/id_ed25519',
      root: '/var/lib/wsep',
      nodePath: '/usr/local/bin/node',
      hostKeyFingerprint: null,
      probedHostKeyFingerprint: fakeFingerprint('k1'),
      capacities: null,
      tags: ['arm64', 'lab'],
      status: 'new',
      statusReason: null,
      lastSeen: null,
      activePlan: null,
      previousPlan: null,
      createdAt: '2025-01-02T03:04:05.006Z',
    });
    expect(unwrap(store.getDevice('jetson-1'))).toEqual(added);
    expect(unwrap(store.addDevice(newDevice('plain'))).nodePath).toBe('node');
  });

  it('keeps names and tags with shell metacharacters, quotes and unicode exactly as given', () => {
    for (const name of HOSTILE_NAMES) unwrap(store.addDevice(newDevice(name, { tags: HOSTILE_NAMES })));
    for (const name of HOSTILE_NAMES) {
      const device = unwrap(store.getDevice(name));
      expect(device.name).toBe(name);
      expect(new Set(device.tags)).toEqual(new Set(HOSTILE_NAMES));
    }
    expect(unwrap(store.listDevices()).map((d) => d.name)).toEqual([...HOSTILE_NAMES].sort());
    expect(unwrap(store.listDevices({ tag: '$(id)' }))).toHaveLength(HOSTILE_NAMES.length);
    // The injection attempt in a name did not drop anything.
    expect(unwrap(store.listDevices())).toHaveLength(HOSTILE_NAMES.length);
  });

  it('refuses names and tags that are empty, too long, or hold control characters', () => {
    const cases: [string, RegExp][] = [
      ['', /is not valid: it is empty\./],
      ['x'.repeat(65), /it has 65 characters, more than 64/],
      ['🚀'.repeat(65), /it has 65 characters, more than 64/],
      ['new\nline', /contains a control character/],
      ['tab\there', /contains a control character/],
      ['nul\u0000', /contains a control character/],
      ['esc\u001b[31m', /contains a control character/],
      ['c1\u0085', /contains a control character/],
      ['half\ud800', /not well-formed Unicode/],
    ];
    for (const [name, message] of cases) {
      const failure = failureOf(store.addDevice(newDevice(name)));
      expect(failure.code).toBe('E_USAGE');
      expect(failure.message).toMatch(message);
      expect(failure.hint).toMatch(/1 to 64 characters/);
      const tagFailure = failureOf(store.addDevice(newDevice('ok', { tags: [name] })));
      expect(tagFailure.message).toMatch(/^The tag /);
    }
    expect(unwrap(store.listDevices())).toEqual([]);
  });

  it('refuses other bad fields with the field named', () => {
    expect(failureOf(store.addDevice(newDevice('p', { port: 0 }))).message).toBe(
      'The port (0) is not valid.',
    );
    expect(failureOf(store.addDevice(newDevice('p', { port: 70000 }))).code).toBe('E_USAGE');
    expect(failureOf(store.addDevice(newDevice('p', { host: '' }))).message).toBe(
      'The host "" is not valid.',
    );
    expect(failureOf(store.addDevice(newDevice('p', { kind: 'windows' as 'linux' }))).hint).toBe(
      'Use one of: linux, mcu-gateway.',
    );
    expect(
      failureOf(store.addDevice(newDevice('p', { probedHostKeyFingerprint: 'MD5:aa' }))).message,
    ).toMatch(/fingerprint "MD5:aa" is not valid/);
  });

  it('says a duplicate name is already registered, with a hint', () => {
    unwrap(store.addDevice(newDevice('twin')));
    const failure = failureOf(store.addDevice(newDevice('twin', { host: 'elsewhere' })));
    expect(failure.code).toBe('E_USAGE');
    expect(failure.message).toBe('A device named "twin" is already registered.');
    expect(failure.hint).toMatch(/wsep devices remove/);
    expect(unwrap(store.getDevice('twin')).host).toBe('127.0.0.2');
  });

  it('says when a device is not registered', () => {
    for (const failure of [
      failureOf(store.getDevice('nobody')),
      failureOf(store.updateDevice('nobody', { port: 22 })),
      failureOf(store.removeDevice('nobody')),
      failureOf(store.markSeen('nobody')),
      failureOf(store.acceptHostKey('nobody', fakeFingerprint('x'))),
    ]) {
      expect(failure.code).toBe('E_NOT_FOUND');
      expect(failure.message).toBe('No device named "nobody" is registered.');
      expect(failure.hint).toMatch(/wsep devices list/);
    }
  });

  it('lists by tag', () => {
    unwrap(store.addDevice(newDevice('a', { tags: ['lab', 'canary'] })));
    unwrap(store.addDevice(newDevice('b', { tags: ['lab'] })));
    unwrap(store.addDevice(newDevice('c')));
    expect(unwrap(store.listDevices({ tag: 'lab' })).map((d) => d.name)).toEqual(['a', 'b']);
    expect(unwrap(store.listDevices({ tag: 'canary' })).map((d) => [d.name, d.tags])).toEqual([
      ['a', ['canary', 'lab']],
    ]);
    expect(unwrap(store.listDevices({ tag: 'none' }))).toEqual([]);
  });

  it('patches only the fields given, and replaces tags as a set', () => {
    unwrap(store.addDevice(newDevice('d', { tags: ['old'] })));
    const capacities = {
      level1Bytes: 8 * 2 ** 30,
      level2Bytes: 64 * 2 ** 30,
      arch: 'arm64',
      agentVersion: '0.1.0',
      onnxruntime: null,
    };
    const patched = unwrap(
      store.updateDevice('d', { port: 2022, capacities, status: 'provisioned', tags: ['new', 'newer'] }),
    );
    expect(patched).toMatchObject({ port: 2022, host: '127.0.0.2', capacities, status: 'provisioned' });
    expect(patched.tags).toEqual(['new', 'newer']);
    expect(unwrap(store.updateDevice('d', {}))).toEqual(patched);
    expect(unwrap(store.updateDevice('d', { capacities: null })).capacities).toBeNull();
    const bad = failureOf(store.updateDevice('d', { capacities: { ...capacities, arch: 7 } as never }));
    expect(bad.code).toBe('E_USAGE');
    expect(unwrap(store.getDevice('d')).capacities).toBeNull();
  });

  it('pins an accepted host key and forgets the probed one', () => {
    unwrap(store.addDevice(newDevice('k', { probedHostKeyFingerprint: fakeFingerprint('probe') })));
    const accepted = unwrap(store.acceptHostKey('k', fakeFingerprint('probe')));
    expect(accepted.hostKeyFingerprint).toBe(fakeFingerprint('probe'));
    expect(accepted.probedHostKeyFingerprint).toBeNull();
    expect(failureOf(store.acceptHostKey('k', 'SHA256:short')).code).toBe('E_USAGE');
    expect(unwrap(store.getDevice('k')).hostKeyFingerprint).toBe(fakeFingerprint('probe'));
  });

  it('marks devices seen and offline, keeping new and error devices as they are', () => {
    unwrap(store.addDevice(newDevice('n')));
    unwrap(store.addDevice(newDevice('p')));
    unwrap(store.updateDevice('p', { status: 'provisioned' }));
    expect(unwrap(store.markSeen('n', '2025-05-01T00:00:00.000Z'))).toMatchObject({
      status: 'new',
      lastSeen: '2025-05-01T00:00:00.000Z',
    });
    expect(unwrap(store.markOffline('p', 'The connection to 127.0.0.2:2222 was refused.'))).toMatchObject({
      status: 'offline',
      statusReason: 'The connection to 127.0.0.2:2222 was refused.',
    });
    expect(unwrap(store.markSeen('p', '2025-05-01T00:00:01.000Z'))).toMatchObject({
      status: 'online',
      statusReason: null,
      lastSeen: '2025-05-01T00:00:01.000Z',
    });
    unwrap(store.updateDevice('p', { status: 'error', statusReason: 'Provisioning failed.' }));
    expect(unwrap(store.markSeen('p'))).toMatchObject({
      status: 'error',
      statusReason: 'Provisioning failed.',
    });
    expect(failureOf(store.markSeen('p', 'yesterday')).code).toBe('E_USAGE');
    expect(failureOf(store.markOffline('p', '')).code).toBe('E_USAGE');
  });

  it('records the plans the agent reports, refusing the same plan twice', () => {
    unwrap(store.addDevice(newDevice('planned')));
    const a = fakePlanId('a');
    const b = fakePlanId('b');
    expect(unwrap(store.setDevicePlans('planned', a, null))).toMatchObject({
      activePlan: a,
      previousPlan: null,
    });
    expect(unwrap(store.setDevicePlans('planned', b, a))).toMatchObject({ activePlan: b, previousPlan: a });
    expect(failureOf(store.setDevicePlans('planned', a, a)).code).toBe('E_USAGE');
    expect(failureOf(store.setDevicePlans('planned', 'not-a-plan', null)).message).toMatch(/active plan id/);
    expect(unwrap(store.setDevicePlans('planned', null, null))).toMatchObject({
      activePlan: null,
      previousPlan: null,
    });
  });
});

describe('removing a device', () => {
  it('takes its tags, telemetry and cursor with it (foreign keys on) and keeps rollout history', () => {
    const path = join(testTempDir('store-remove'), 'fleet.db');
    const store = unwrap(openFleetStore(path));
    try {
      unwrap(store.addDevice(newDevice('gone', { tags: ['t'] })));
      unwrap(store.addDevice(newDevice('stays', { tags: ['t'] })));
      const record = {
        seq: 1,
        time: '2025-01-01T00:00:00.000Z',
        kind: 'device' as const,
        planId: null,
        rssBytes: 1,
      };
      unwrap(store.appendTelemetry('gone', [record], 1, 0));
      unwrap(store.appendTelemetry('stays', [record], 1, 0));
      unwrap(store.removeDevice('gone'));
      expect(failureOf(store.getDevice('gone')).code).toBe('E_NOT_FOUND');
      expect(unwrap(store.listDevices({ tag: 't' })).map((d) => d.name)).toEqual(['stays']);
      // A device added again under the same name starts without the old one's telemetry.
      unwrap(store.addDevice(newDevice('gone')));
      expect(unwrap(store.telemetryCursor('gone'))).toEqual({ cursor: 0, lost: 0 });
      expect(unwrap(store.queryTelemetry('gone'))).toEqual([]);
    } finally {
      store.close();
    }
    const raw = rawConnection(path);
    try {
      expect(raw.prepare('SELECT COUNT(*) AS n FROM telemetry').get()).toEqual({ n: 1 });
      expect(raw.prepare('SELECT COUNT(*) AS n FROM telemetry_cursors').get()).toEqual({ n: 1 });
      expect(raw.prepare('SELECT COUNT(*) AS n FROM device_tags').get()).toEqual({ n: 1 });
    } finally {
      raw.close();
    }
  });

  it('reads a damaged capacities column as a clear E_STORE, not a wrong value', () => {
    const path = join(testTempDir('store-bad-row'), 'fleet.db');
    const store = unwrap(openFleetStore(path));
    try {
      unwrap(store.addDevice(newDevice('$(damaged)')));
      const raw = rawConnection(path);
      raw.prepare('UPDATE devices SET capacities = \'{"level1Bytes": "lots"}\'').run();
      raw.close();
      const failure = failureOf(store.getDevice('$(damaged)'));
      expect(failure.code).toBe('E_STORE');
      expect(failure.message).toMatch(/devices row "\$\(damaged\)" has an unreadable capacities column/);
      const raw2 = rawConnection(path);
      raw2.prepare("UPDATE devices SET capacities = '{not json'").run();
      raw2.close();
      expect(failureOf(store.listDevices()).message).toMatch(/it is not JSON/);
    } finally {
      store.close();
    }
  });
});
