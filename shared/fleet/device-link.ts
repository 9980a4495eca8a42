/**
 * A registered device as something to talk to: its SSH target (with the pinned host key) and the
 * agent client on an open connection. Whoever opens a link closes it; `withDevice` does both.
 */
import { makeError, type Result, type WsepError } from '../core/errors.ts';
import { AgentClient } from './agent-client.ts';
import { openSsh, type SshConnection, type SshTarget } from './ssh/connection.ts';
import type { Device } from './store/types.ts';

/** How long connecting (TCP, key exchange, authentication) may take before it counts as unreachable. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export interface LinkOptions {
  readonly signal?: AbortSignal;
  readonly connectTimeoutMs?: number;
}

export function sshTargetOf(device: Device, connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS): SshTarget {
  return {
    host: device.host,
    port: device.port,
    user: device.user,
    privateKeyPath: device.keyPath,
    hostKeyFingerprint: device.hostKeyFingerprint,
    connectTimeoutMs,
  };
}

/** The error with the device's name in front, unless the message already names it. */
export function namingDevice(device: string, error: WsepError): WsepError {
  if (error.message.includes(`"${device}"`)) return error;
  return makeError(error.code, `Device "${device}": ${error.message}`, error.hint, error.details);
}

/** Opens an SSH connection to the device, refusing an unknown or changed host key. */
export async function connectDevice(
  device: Device,
  options: LinkOptions = {},
): Promise<Result<SshConnection>> {
  const opened = await openSsh(
    sshTargetOf(device, options.connectTimeoutMs),
    options.signal ? { signal: options.signal } : {},
  );
  if (!opened.ok) return { ok: false, error: namingDevice(device.name, opened.error) };
  return opened;
}

export function agentOf(connection: SshConnection, device: Device): AgentClient {
  return new AgentClient(connection, { device: device.name, nodePath: device.nodePath, root: device.root });
}

/** Connects, runs `work` with the connection and its agent client, and closes the connection. */
export async function withDevice<T>(
  device: Device,
  options: LinkOptions,
  work: (connection: SshConnection, agent: AgentClient) => Promise<Result<T>>,
): Promise<Result<T>> {
  const connection = await connectDevice(device, options);
  if (!connection.ok) return connection;
  try {
    return await work(connection.value, agentOf(connection.value, device));
  } finally {
    await connection.value.close();
  }
}

/** Failures that say the device could not be reached (as opposed to one that answered with an error). */
export function isUnreachable(error: WsepError): boolean {
  return error.code === 'E_SSH_CONNECT' || error.code === 'E_SSH_LOST';
}
