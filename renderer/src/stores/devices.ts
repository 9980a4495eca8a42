/**
 * The fleet's devices: the list, registration with the first-contact host-key confirmation, key
 * checks after a change, provisioning (a job), the workload that writes telemetry, and removal. A
 * device's key is never trusted by registering it: the user sees the fingerprint the device presented
 * and accepts exactly that one (the service refuses if the device now presents another).
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import {
  useClient,
  type ApiEvent,
  type CallResult,
  type Device,
  type PresentedHostKey,
  type RegisterDeviceInput,
  type RegisteredDevice,
  type WsepError,
} from '../api/client.ts';
import { useJobsStore } from './jobs.ts';
import { useLoadState } from './load-state.ts';

/** A key waiting for the user's decision: a new device's first key, or a key that changed. */
export interface PendingKey {
  readonly device: string;
  readonly presented: PresentedHostKey;
  /** 'first': nothing accepted yet; 'changed': the device presents another key than the accepted one. */
  readonly reason: 'first' | 'changed';
}

export const useDevicesStore = defineStore('devices', () => {
  const client = useClient();
  const jobs = useJobsStore();

  const devices = ref<Device[]>([]);
  const { loading, loaded, error, load: loadList } = useLoadState();
  /** Keys shown for confirmation, by device name. */
  const pendingKeys = ref<Record<string, PendingKey>>({});
  /** Devices whose workload loop this window started (the store does not record it). */
  const workloads = ref<Record<string, boolean>>({});
  /** The last failed action per device (provision, accept, probe…), shown on its row. */
  const actionErrors = ref<Record<string, WsepError>>({});

  const byName = computed(() => new Map(devices.value.map((device) => [device.name, device])));
  const tags = computed(() => [...new Set(devices.value.flatMap((device) => device.tags))].sort());
  /** Devices whose key is accepted and whose agent is installed: what a rollout can reach. */
  const ready = computed(() =>
    devices.value.filter((device) => device.hostKeyFingerprint !== null && device.capacities !== null),
  );

  function setActionError(name: string, failure: WsepError | null): void {
    const next = { ...actionErrors.value };
    if (failure) next[name] = failure;
    else delete next[name];
    actionErrors.value = next;
  }

  function setPending(name: string, pending: PendingKey | null): void {
    const next = { ...pendingKeys.value };
    if (pending) next[name] = pending;
    else delete next[name];
    pendingKeys.value = next;
  }

  function upsert(device: Device): void {
    const index = devices.value.findIndex((d) => d.name === device.name);
    if (index < 0) devices.value = [...devices.value, device].sort((a, b) => a.name.localeCompare(b.name));
    else devices.value = devices.value.map((d, i) => (i === index ? device : d));
  }

  function drop(name: string): void {
    devices.value = devices.value.filter((d) => d.name !== name);
    setPending(name, null);
    setActionError(name, null);
  }

  async function load(): Promise<void> {
    await loadList(
      () => client.call('listDevices'),
      (list) => (devices.value = [...list].sort((a, b) => a.name.localeCompare(b.name))),
    );
  }

  /** Reloads one device after a 'devices.changed' event; a device that is gone leaves the list. */
  async function refresh(name: string): Promise<void> {
    const answer = await client.call('getDevice', name);
    if (answer.ok) upsert(answer.value.device);
    else if (answer.error.code === 'E_NOT_FOUND') drop(name);
  }

  async function register(input: RegisterDeviceInput): Promise<CallResult<RegisteredDevice>> {
    const answer = await client.call('registerDevice', input);
    if (!answer.ok) return answer;
    upsert(answer.value.device);
    if (answer.value.presented) {
      setPending(input.name, { device: input.name, presented: answer.value.presented, reason: 'first' });
      setActionError(input.name, null);
    } else if (answer.value.probeError) {
      setActionError(input.name, answer.value.probeError);
    }
    return answer;
  }

  /** Asks the device for its key now: a key other than the accepted one waits for a decision. */
  async function probe(name: string): Promise<void> {
    const answer = await client.call('probeHostKey', name);
    if (!answer.ok) {
      setActionError(name, answer.error);
      return;
    }
    upsert(answer.value.device);
    setActionError(name, null);
    if (answer.value.matchesAccepted) setPending(name, null);
    else
      setPending(name, {
        device: name,
        presented: answer.value.presented,
        reason: answer.value.device.hostKeyFingerprint === null ? 'first' : 'changed',
      });
  }

  async function acceptKey(name: string): Promise<boolean> {
    const pending = pendingKeys.value[name];
    if (!pending) return false;
    const answer = await client.call('acceptHostKey', name, pending.presented.fingerprint);
    if (!answer.ok) {
      setActionError(name, answer.error);
      return false;
    }
    upsert(answer.value);
    setPending(name, null);
    setActionError(name, null);
    return true;
  }

  /** The user declined the key shown: nothing is accepted, the device stays untrusted. */
  function rejectKey(name: string): void {
    setPending(name, null);
  }

  async function remove(name: string): Promise<boolean> {
    const answer = await client.call('removeDevice', name);
    if (!answer.ok) {
      setActionError(name, answer.error);
      return false;
    }
    drop(name);
    return true;
  }

  async function provision(name: string): Promise<void> {
    const answer = jobs.track(await client.call('provisionDevice', name));
    setActionError(name, answer.ok ? null : answer.error);
  }

  async function startWorkload(name: string, intervalMs?: number): Promise<boolean> {
    const answer =
      intervalMs === undefined
        ? await client.call('startWorkload', name)
        : await client.call('startWorkload', name, intervalMs);
    setActionError(name, answer.ok ? null : answer.error);
    if (answer.ok) workloads.value = { ...workloads.value, [name]: true };
    return answer.ok;
  }

  async function stopWorkload(name: string): Promise<boolean> {
    const answer = await client.call('stopWorkload', name);
    setActionError(name, answer.ok ? null : answer.error);
    if (answer.ok) workloads.value = { ...workloads.value, [name]: false };
    return answer.ok;
  }

  /** The provisioning job of a device: running, or the last one's end. */
  function provisioning(name: string) {
    return jobs.latest('provision', name);
  }

  function apply(event: ApiEvent): void {
    if (event.type === 'devices.changed') void refresh(event.device);
    if (event.type === 'job.ended' && event.job.kind === 'provision') {
      if (event.job.state === 'failed' && event.job.error) setActionError(event.job.subject, event.job.error);
      void refresh(event.job.subject);
    }
  }

  client.onEvent(apply);

  return {
    devices,
    loading,
    loaded,
    error,
    pendingKeys,
    workloads,
    actionErrors,
    byName,
    tags,
    ready,
    load,
    refresh,
    register,
    probe,
    acceptKey,
    rejectKey,
    remove,
    provision,
    provisioning,
    startWorkload,
    stopWorkload,
    setActionError,
  };
});
