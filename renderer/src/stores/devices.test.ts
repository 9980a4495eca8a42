import { beforeEach, describe, expect, it } from 'vitest';
import { createClient, serverTransport, type RegisterDeviceInput } from '../api/client.ts';
import type { FakeTransport } from '../api/fake-transport.ts';
import { useDevicesStore } from './devices.ts';
import { useJobsStore } from './jobs.ts';
import { device, freshApp, job, settle } from './testing.ts';

const KEY = { keyType: 'ssh-ed25519', fingerprint: 'SHA256:first' };
const INPUT: RegisterDeviceInput = { name: 'dev-b', host: '127.0.0.3', port: 2222, keyPath: '/k' };

let wire: FakeTransport;
beforeEach(() => {
  wire = freshApp();
});

describe('devices store', () => {
  it('loads the devices sorted by name, and keeps the error of a failed load', async () => {
    wire.answer('listDevices', () => [device('dev-b'), device('dev-a')]);
    const store = useDevicesStore();
    await store.load();
    expect(store.devices.map((d) => d.name)).toEqual(['dev-a', 'dev-b']);
    expect(store.error).toBeNull();

    wire.refuse('listDevices', { code: 'E_STORE', message: 'The store is locked.' });
    await store.load();
    expect(store.error?.code).toBe('E_STORE');
    // What was shown stays until a load succeeds.
    expect(store.devices).toHaveLength(2);
  });

  it('registers without trusting, shows the presented key, and accepts exactly that fingerprint', async () => {
    wire.answer('registerDevice', () => ({ device: device('dev-b'), presented: KEY, probeError: null }));
    wire.answer('acceptHostKey', (name: string, fingerprint: string) =>
      device(name, { hostKeyFingerprint: fingerprint }),
    );
    const store = useDevicesStore();
    const answer = await store.register(INPUT);
    expect(answer.ok).toBe(true);
    expect(store.pendingKeys['dev-b']).toEqual({ device: 'dev-b', presented: KEY, reason: 'first' });
    expect(store.byName.get('dev-b')?.hostKeyFingerprint).toBeNull();

    expect(await store.acceptKey('dev-b')).toBe(true);
    expect(wire.argsOf('acceptHostKey')).toEqual([['dev-b', 'SHA256:first']]);
    expect(store.pendingKeys['dev-b']).toBeUndefined();
    expect(store.byName.get('dev-b')?.hostKeyFingerprint).toBe('SHA256:first');
  });

  it('keeps the key pending and the device untrusted when the accept is refused', async () => {
    wire.answer('registerDevice', () => ({ device: device('dev-b'), presented: KEY, probeError: null }));
    wire.refuse('acceptHostKey', { code: 'E_SSH_HOST_CHANGED', message: 'dev-b now presents another key.' });
    const store = useDevicesStore();
    await store.register(INPUT);
    expect(await store.acceptKey('dev-b')).toBe(false);
    expect(store.actionErrors['dev-b']?.code).toBe('E_SSH_HOST_CHANGED');
    expect(store.pendingKeys['dev-b']).toBeDefined();
    expect(store.byName.get('dev-b')?.hostKeyFingerprint).toBeNull();
  });

  it('shows a probe error when the device could not be reached, with nothing pending', async () => {
    wire.answer('registerDevice', () => ({
      device: device('dev-b'),
      presented: null,
      probeError: { code: 'E_SSH_CONNECT', message: 'Nothing listens on 127.0.0.3:2222.' },
    }));
    const store = useDevicesStore();
    await store.register(INPUT);
    expect(store.pendingKeys).toEqual({});
    expect(store.actionErrors['dev-b']?.code).toBe('E_SSH_CONNECT');
    expect(await store.acceptKey('dev-b')).toBe(false);
    expect(wire.argsOf('acceptHostKey')).toEqual([]);
  });

  it('marks a key other than the accepted one as changed, and clears it when it matches again', async () => {
    const accepted = device('dev-a', { hostKeyFingerprint: 'SHA256:old' });
    wire.answer('probeHostKey', () => ({
      device: accepted,
      presented: { keyType: 'ssh-ed25519', fingerprint: 'SHA256:new' },
      matchesAccepted: false,
    }));
    const store = useDevicesStore();
    await store.probe('dev-a');
    expect(store.pendingKeys['dev-a']?.reason).toBe('changed');
    expect(store.pendingKeys['dev-a']?.presented.fingerprint).toBe('SHA256:new');

    wire.answer('probeHostKey', () => ({
      device: accepted,
      presented: { keyType: 'ssh-ed25519', fingerprint: 'SHA256:old' },
      matchesAccepted: true,
    }));
    await store.probe('dev-a');
    expect(store.pendingKeys['dev-a']).toBeUndefined();
  });

  it('reloads a changed device on its event, and drops one the service no longer knows', async () => {
    wire.answer('listDevices', () => [device('dev-a'), device('dev-b')]);
    const store = useDevicesStore();
    await store.load();
    wire.answer('getDevice', (name: string) => ({
      device: device(name, { status: 'online' }),
      rollouts: [],
      telemetry: {
        device: name,
        rows: 0,
        lastTime: null,
        latestTasks: [],
        latestDevice: null,
        cursor: 0,
        lost: 0,
      },
    }));
    wire.emit({ type: 'devices.changed', device: 'dev-a' });
    await settle();
    expect(store.byName.get('dev-a')?.status).toBe('online');

    wire.refuse('getDevice', { code: 'E_NOT_FOUND', message: 'No device dev-b.' });
    wire.emit({ type: 'devices.changed', device: 'dev-b' });
    await settle();
    expect(store.devices.map((d) => d.name)).toEqual(['dev-a']);
  });

  it('tracks provisioning as a job and shows how a failed one ended', async () => {
    wire.answer('provisionDevice', (name: string) => job('job-1', 'provision', name));
    wire.answer('getDevice', (name: string) => ({
      device: device(name, { status: 'error' }),
      rollouts: [],
      telemetry: {
        device: name,
        rows: 0,
        lastTime: null,
        latestTasks: [],
        latestDevice: null,
        cursor: 0,
        lost: 0,
      },
    }));
    const store = useDevicesStore();
    const jobs = useJobsStore();
    await store.provision('dev-a');
    expect(jobs.isRunning('provision', 'dev-a')).toBe(true);

    const error = { code: 'E_SSH_HOST_CHANGED' as const, message: 'dev-a presents another host key.' };
    wire.emit({ type: 'job.ended', job: job('job-1', 'provision', 'dev-a', { state: 'failed', error }) });
    await settle();
    expect(jobs.isRunning('provision', 'dev-a')).toBe(false);
    expect(store.actionErrors['dev-a']).toEqual(error);
    expect(store.byName.get('dev-a')?.status).toBe('error');
  });

  it('removes a device only when the service did', async () => {
    wire.answer('listDevices', () => [device('dev-a')]);
    wire.refuse('removeDevice', { code: 'E_STORE', message: 'busy' });
    const store = useDevicesStore();
    await store.load();
    expect(await store.remove('dev-a')).toBe(false);
    expect(store.devices).toHaveLength(1);
    wire.answer('removeDevice', (name: string) => ({ removed: name }));
    expect(await store.remove('dev-a')).toBe(true);
    expect(store.devices).toHaveLength(0);
  });
});

describe('client', () => {
  it('turns a transport that cannot reach the app into an E_IO failure', async () => {
    const client = createClient({
      send: () => Promise.reject(new Error('connection refused')),
      listen: () => () => {},
    });
    const answer = await client.call('listDevices');
    expect(answer).toMatchObject({ ok: false, error: { code: 'E_IO' } });
    expect(!answer.ok && answer.error.message).toContain('connection refused');
  });

  it('answers a refused server-mode request (no token) with a failure that says so', async () => {
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async () => new Response('forbidden', { status: 403 })) as typeof fetch;
    try {
      const transport = serverTransport({ origin: 'http://127.0.0.1:1', token: null });
      const answer = await transport.send({ method: 'listDevices', args: [] });
      expect(answer).toMatchObject({ ok: false, error: { code: 'E_USAGE' } });
      expect(!answer.ok && answer.error.message).toContain('HTTP 403');
    } finally {
      globalThis.fetch = realFetch;
    }
  });
});
