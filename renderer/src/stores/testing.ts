/** What the stores' tests share: a fresh Pinia and a client over a fake transport, and sample records. */
import { createPinia, setActivePinia } from 'pinia';
import { createClient, setClient, type AnyJob, type Device, type JobKind } from '../api/client.ts';
import { fakeTransport, type FakeTransport } from '../api/fake-transport.ts';

export function freshApp(): FakeTransport {
  const transport = fakeTransport();
  setClient(createClient(transport));
  setActivePinia(createPinia());
  return transport;
}

/** Lets the promises started by an event handler settle. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

export function device(name: string, patch: Partial<Device> = {}): Device {
  return {
    name,
    kind: 'linux',
    host: '127.0.0.2',
    port: 2222,
    user: 'wsep',
    keyPath: '/keys/id',
    root: '/opt/wsep',
    nodePath: 'node',
    hostKeyFingerprint: null,
    probedHostKeyFingerprint: null,
    capacities: null,
    tags: [],
    status: 'new',
    statusReason: null,
    lastSeen: null,
    activePlan: null,
    previousPlan: null,
    createdAt: '2025-01-01T00:00:00.000Z',
    ...patch,
  };
}

export function job(id: string, kind: JobKind, subject: string, patch: Partial<AnyJob> = {}): AnyJob {
  return {
    id,
    kind,
    subject,
    state: 'running',
    startedAt: '2025-01-01T00:00:00.000Z',
    endedAt: null,
    progress: null,
    perTask: {},
    result: null,
    error: null,
    ...patch,
  } as AnyJob;
}
