/**
 * SSH connections to devices: keys only, host keys pinned, remote commands only as quoted argv.
 *
 * A device's host key is learned once (`probeHostKey`, shown to the user, accepted explicitly) and
 * pinned; `openSsh` refuses an unknown or changed key during the key exchange, before authentication,
 * so nothing (not even the user name's proof of key) reaches an impostor. Every failure is a value
 * with a code the rollout logic can act on: E_SSH_CONNECT (retry later), E_SSH_AUTH (fix the key),
 * E_SSH_HOST_* (ask the user), E_SSH_LOST (the link dropped mid-operation), E_DISK_FULL, E_DEVICE.
 */
import { readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { posix } from 'node:path';
import ssh2 from 'ssh2';
import type { Client as SshClient, ClientChannel, ConnectConfig, ParsedKey, SFTPWrapper } from 'ssh2';
import { fail, makeError, ok, toError, WsepFailure, type Result, type WsepError } from '../../core/errors.ts';
import { fingerprintOf, keyTypeOf } from './host-key.ts';
import { remoteCommand } from './quote.ts';
import {
  bufferSource,
  fileSource,
  freeBytes,
  makeDirs,
  readWholeFile,
  removeFile,
  replaceFile,
  SFTP_STATUS,
  sftpStatus,
  uploadPhaseOf,
  writeFile,
  type UploadSource,
} from './sftp.ts';

/** Where a device's sshd is and how to log in; the fingerprint is the pinned host key (null: not yet accepted). */
export interface SshTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** An OpenSSH private key file (ed25519 recommended). */
  readonly privateKeyPath: string;
  /** `SHA256:…` as `ssh-keygen -lf` prints it; null until the user accepts the device's key. */
  readonly hostKeyFingerprint: string | null;
  /** TCP connect + key exchange + authentication; default 10 s. */
  readonly connectTimeoutMs?: number;
}

export interface HostKey {
  readonly fingerprint: string;
  /** e.g. `ssh-ed25519`. */
  readonly keyType: string;
}

export interface ExecOptions {
  /** Bytes written to the command's stdin, which is then closed (closed at once when absent). */
  readonly stdin?: Uint8Array | string;
  /** The command is killed and the call fails with E_DEVICE after this long; no limit when absent. */
  readonly timeoutMs?: number;
  /** Aborting closes the whole connection (a half-cancelled channel could still act on the device). */
  readonly signal?: AbortSignal;
  /** stdout and stderr each; more fails with E_DEVICE. Default 64 MiB. */
  readonly maxOutputBytes?: number;
}

export interface ExecResult {
  /** Exit status; 128 + the signal number when the command was killed by a signal (as a shell reports it). */
  readonly code: number;
  /** The signal's name as Node names them (`SIGKILL`) when the command was killed by one. */
  readonly signal: string | null;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
}

export interface TransferOptions {
  /** Progress: payload bytes the device has acknowledged so far, and the total. */
  readonly onBytes?: (bytesSoFar: number, totalBytes: number) => void;
  /** Aborting closes the whole connection; an upload leaves only its `.part` file. */
  readonly signal?: AbortSignal;
}

export interface SshConnection {
  readonly target: SshTarget;
  /** The host key the device presented (equal to the pin). */
  readonly hostKey: HostKey;
  /** Payload bytes uploaded and acknowledged on this connection. */
  readonly bytesSent: number;
  /** False once the connection was closed, cancelled or lost. */
  readonly isOpen: boolean;
  /** Runs `argv` on the device (quoted by remoteCommand; no PTY) and collects its output. */
  exec(argv: readonly string[], options?: ExecOptions): Promise<Result<ExecResult>>;
  /**
   * Copies a local file to `remotePath`: makes the parent folders, writes `<remotePath>.part` (mode
   * 0644), then renames it onto `remotePath` atomically, so the final name is never half-written.
   */
  upload(
    localPath: string,
    remotePath: string,
    options?: TransferOptions,
  ): Promise<Result<{ bytes: number }>>;
  /** As `upload`, from bytes in memory. */
  uploadBuffer(
    bytes: Uint8Array,
    remotePath: string,
    options?: TransferOptions,
  ): Promise<Result<{ bytes: number }>>;
  readFile(remotePath: string, options?: { readonly signal?: AbortSignal }): Promise<Result<Buffer>>;
  /** Ends the session; resolves when the socket is closed. Safe to call more than once. */
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Cancels the connect; if it fires later, it closes the connection (one signal per device job). */
  readonly signal?: AbortSignal;
}

/** Passphrase for a protected private key (ssh2 decrypts OpenSSH keys itself; no agent support yet). */
export const PASSPHRASE_ENV = 'WSEP_SSH_KEY_PASSPHRASE';

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
/** OpenSSH allows 10 sessions per connection (MaxSessions); one is the SFTP channel. */
const MAX_EXEC_CHANNELS = 8;
const KEEPALIVE_INTERVAL_MS = 5_000;
const KEEPALIVE_COUNT_MAX = 3;
const CLOSE_GRACE_MS = 1_000;
/** Time for the kill requests and the disconnect to leave before a cancelled socket is destroyed. */
const CANCEL_GRACE_MS = 200;

/** `user@host:port`, as messages name a device's endpoint. */
export function describeTarget(target: Pick<SshTarget, 'host' | 'port' | 'user'>): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `${target.user}@${host}:${target.port}`;
}

/**
 * Connects far enough to see the device's host key, then disconnects without authenticating: what
 * the user is shown on first contact (`wsep devices add`) before accepting the key.
 */
export async function probeHostKey(
  target: Pick<SshTarget, 'host' | 'port' | 'user' | 'connectTimeoutMs'>,
  options: OpenOptions = {},
): Promise<Result<HostKey>> {
  const attempt = await handshake(
    { ...target, privateKeyPath: '', hostKeyFingerprint: null },
    null,
    options.signal,
  );
  if (attempt.presented !== null) return ok(attempt.presented);
  return { ok: false, error: attempt.error ?? connectError(target, new Error('the connection closed')) };
}

/**
 * Opens an authenticated connection to a device whose host key matches the pin. Refuses a target
 * with no pin (E_SSH_HOST_UNKNOWN, details.fingerprint is what the device presented) and a changed
 * key (E_SSH_HOST_CHANGED, details.expected and details.presented); both before authentication.
 */
export async function openSsh(target: SshTarget, options: OpenOptions = {}): Promise<Result<SshConnection>> {
  const key = loadPrivateKey(target.privateKeyPath);
  if (!key.ok) return key;
  const attempt = await handshake(target, key.value, options.signal);
  if (attempt.client === null || attempt.presented === null) {
    return { ok: false, error: attempt.error ?? connectError(target, new Error('the connection closed')) };
  }
  return ok(new Connection(target, attempt.client, attempt.presented, options.signal));
}

interface Handshake {
  readonly client: SshClient | null;
  readonly presented: HostKey | null;
  readonly error: WsepError | null;
}

/**
 * One connection attempt. With `key` null it stops at the host key (a probe); otherwise it checks
 * the key against the pin and authenticates.
 */
function handshake(
  target: SshTarget,
  key: LoadedKey | null,
  signal: AbortSignal | undefined,
): Promise<Handshake> {
  return new Promise<Handshake>((resolve) => {
    if (signal?.aborted) {
      resolve({ client: null, presented: null, error: cancelled() });
      return;
    }
    const client = new ssh2.Client();
    let presented: HostKey | null = null;
    let refusal: WsepError | null = null;
    let settled = false;
    const timeoutMs = target.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const finish = (result: Handshake): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      client.removeAllListeners('ready');
      if (result.client === null) {
        // Later socket errors of a failed attempt must not crash the process as unhandled 'error's.
        client.on('error', () => {});
        client.end();
        destroySocket(client);
      }
      resolve(result);
    };
    const onAbort = (): void => finish({ client: null, presented, error: cancelled() });
    // ssh2's readyTimeout covers the handshake; this guard also covers a stalled authentication.
    const timer = setTimeout(
      () => finish({ client: null, presented, error: connectError(target, timeoutFailure(timeoutMs)) }),
      timeoutMs + 500,
    );
    signal?.addEventListener('abort', onAbort, { once: true });

    const hostVerifier = (blob: Buffer): boolean => {
      presented = { fingerprint: fingerprintOf(blob), keyType: keyTypeOf(blob) ?? 'unknown' };
      if (key === null) return false;
      refusal = hostKeyRefusal(target, presented);
      return refusal === null;
    };
    client.on('ready', () => finish({ client, presented, error: null }));
    client.on('error', (err: Error & { level?: string }) => {
      if (key === null && presented !== null) finish({ client: null, presented, error: null });
      else finish({ client: null, presented, error: refusal ?? connectError(target, err) });
    });
    client.on('close', () =>
      finish({
        client: null,
        presented,
        error: refusal ?? connectError(target, new Error('the connection closed')),
      }),
    );

    const config: ConnectConfig = {
      host: target.host,
      port: target.port,
      username: target.user,
      readyTimeout: timeoutMs,
      hostVerifier,
      keepaliveInterval: KEEPALIVE_INTERVAL_MS,
      keepaliveCountMax: KEEPALIVE_COUNT_MAX,
      // Keys only: no password or keyboard-interactive prompt can appear.
      tryKeyboard: false,
    };
    if (key !== null) {
      config.privateKey = key.bytes;
      if (key.passphrase !== undefined) config.passphrase = key.passphrase;
    }
    try {
      client.connect(config);
    } catch (thrown) {
      finish({ client: null, presented, error: connectError(target, thrown) });
    }
  });
}

function hostKeyRefusal(target: SshTarget, presented: HostKey): WsepError | null {
  const where = describeTarget(target);
  if (target.hostKeyFingerprint === null) {
    return makeError(
      'E_SSH_HOST_UNKNOWN',
      `The host key of ${where} is not accepted yet (it presents ${presented.keyType} ${presented.fingerprint}).`,
      'Compare the fingerprint with the device (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then run `wsep devices accept-key <device>`.',
      {
        fingerprint: presented.fingerprint,
        keyType: presented.keyType,
        host: target.host,
        port: target.port,
      },
    );
  }
  if (target.hostKeyFingerprint !== presented.fingerprint) {
    return makeError(
      'E_SSH_HOST_CHANGED',
      `The host key of ${where} changed: expected ${target.hostKeyFingerprint}, the device presents ${presented.fingerprint}; nothing was sent.`,
      'If the device was reinstalled, check the new fingerprint on its console and run `wsep devices accept-key <device>`; otherwise something else answers at that address.',
      { expected: target.hostKeyFingerprint, presented: presented.fingerprint, keyType: presented.keyType },
    );
  }
  return null;
}

function connectError(target: Pick<SshTarget, 'host' | 'port' | 'user'>, thrown: unknown): WsepError {
  const where = describeTarget(target);
  const err = thrown as { level?: unknown; code?: unknown; message?: unknown };
  const message = typeof err.message === 'string' ? err.message : String(thrown);
  const check =
    'Check that the device is on and its sshd runs, and the host and port (`wsep devices show <device>`).';
  if (err.level === 'client-authentication') {
    return makeError(
      'E_SSH_AUTH',
      `${where} rejected the key for user ${target.user}.`,
      "Add the key's public half (<key>.pub) to that user's ~/.ssh/authorized_keys on the device, or set the device's key path.",
    );
  }
  if (err.level === 'client-timeout' || err.code === 'ETIMEDOUT') {
    return makeError('E_SSH_CONNECT', `${where} did not answer the SSH handshake in time.`, check, {
      cause: message,
    });
  }
  if (err.code === 'ECONNREFUSED') {
    return makeError(
      'E_SSH_CONNECT',
      `${where} refused the connection (no SSH server listens there).`,
      check,
    );
  }
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') {
    return makeError(
      'E_SSH_CONNECT',
      `The host name ${target.host} does not resolve.`,
      "Check the device's host (`wsep devices show <device>`).",
    );
  }
  return makeError('E_SSH_CONNECT', `Could not connect to ${where}: ${message}.`, check, { cause: message });
}

function timeoutFailure(ms: number): Error {
  return Object.assign(new Error(`no answer within ${ms} ms`), { level: 'client-timeout' });
}

function cancelled(): WsepError {
  return makeError('E_CANCELLED', 'The operation was cancelled.');
}

interface LoadedKey {
  readonly bytes: Buffer;
  readonly passphrase?: string;
}

/** Reads and checks the private key before any connection, so key problems are named as such. */
function loadPrivateKey(path: string): Result<LoadedKey> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (thrown) {
    const code = (thrown as { code?: unknown }).code;
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES'
          ? 'is not readable'
          : `cannot be read (${String(code)})`;
    return fail(
      'E_IO',
      `The SSH private key ${path} ${why}.`,
      "Set the device's key path to an OpenSSH private key (create one with `ssh-keygen -t ed25519`).",
    );
  }
  let passphrase = process.env[PASSPHRASE_ENV];
  let parsed = ssh2.utils.parseKey(bytes);
  if (parsed instanceof Error && /passphrase/i.test(parsed.message)) {
    if (passphrase === undefined || passphrase === '') {
      return fail(
        'E_SSH_AUTH',
        `The SSH private key ${path} is protected by a passphrase.`,
        `Set ${PASSPHRASE_ENV} to its passphrase, or use a key without one (ssh-keygen -t ed25519 -N '').`,
      );
    }
    parsed = ssh2.utils.parseKey(bytes, passphrase);
    if (parsed instanceof Error) {
      return fail(
        'E_SSH_AUTH',
        `The SSH private key ${path} could not be decrypted with the passphrase in ${PASSPHRASE_ENV}.`,
        `Check ${PASSPHRASE_ENV}.`,
      );
    }
  } else {
    passphrase = undefined;
  }
  const first: ParsedKey | Error | undefined = Array.isArray(parsed) ? parsed[0] : parsed;
  if (first === undefined || first instanceof Error || !first.isPrivateKey()) {
    return fail(
      'E_SSH_AUTH',
      `${path} is not an SSH private key${first instanceof Error ? ` (${first.message})` : ''}.`,
      "Point the device's key path at the private half of the key pair (not the .pub file).",
    );
  }
  return ok(passphrase === undefined ? { bytes } : { bytes, passphrase });
}

/**
 * Sends SIGKILL to a command's process group (the "signal" channel request; OpenSSH >= 7.9 obeys it).
 * ssh2's own `channel.signal` refuses once stdin was closed, which it always is here, so this goes
 * to its protocol object; a device that ignores the request leaves the command to finish on its own.
 */
function killRemote(channel: ClientChannel): void {
  const internals = channel as unknown as {
    outgoing?: { id?: number; state?: string };
    _client?: { _protocol?: { signal(id: number, name: string): void } };
  };
  const id = internals.outgoing?.id;
  const state = internals.outgoing?.state;
  // 'eof': our side closed stdin, the channel itself is still open.
  if (id === undefined || (state !== 'open' && state !== 'eof')) return;
  try {
    internals._client?._protocol?.signal(id, 'KILL');
  } catch {
    // The connection is already closing.
  }
}

/** `SIGTERM` for `TERM` or `SIGTERM` (ssh2 passes the name as the device sent it). */
function normalizeSignal(name: string): string {
  return name.startsWith('SIG') ? name : `SIG${name}`;
}

function destroySocket(client: SshClient): void {
  // ssh2 keeps its socket private; destroying it ends a session whose peer no longer answers.
  (client as unknown as { _sock?: { destroy(): void } })._sock?.destroy();
}

type State = 'open' | 'closed' | 'cancelled' | 'lost';

/** Hands out at most `limit` slots; waiters are served in order. */
class Slots {
  private used = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async acquire(): Promise<() => void> {
    if (this.used >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.used += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.used -= 1;
    };
  }
}

class Connection implements SshConnection {
  private state: State = 'open';
  private lostReason = 'the connection closed';
  private sent = 0;
  private sftpChannel: Promise<SFTPWrapper> | null = null;
  private readonly madeDirs = new Set<string>();
  private readonly running = new Set<ClientChannel>();
  private readonly channels = new Slots(MAX_EXEC_CHANNELS);
  private readonly closed: Promise<void>;
  private readonly detachSignal: () => void;

  constructor(
    readonly target: SshTarget,
    private readonly client: SshClient,
    readonly hostKey: HostKey,
    signal: AbortSignal | undefined,
  ) {
    this.closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const drop = (reason: string): void => {
      if (this.state !== 'open') return;
      this.state = 'lost';
      this.lostReason = reason;
    };
    client.on('error', (err: Error) => drop(err.message));
    client.on('end', () => drop('the device closed the connection'));
    client.on('close', () => drop('the connection closed'));
    const onAbort = (): void => this.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    this.detachSignal = () => signal?.removeEventListener('abort', onAbort);
    if (signal?.aborted) this.cancel();
  }

  get bytesSent(): number {
    return this.sent;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  async close(): Promise<void> {
    if (this.state === 'open') this.state = 'closed';
    this.detachSignal();
    this.client.end();
    const grace = setTimeout(() => destroySocket(this.client), CLOSE_GRACE_MS);
    await this.closed;
    clearTimeout(grace);
  }

  private cancel(): void {
    if (this.state !== 'open') return;
    this.state = 'cancelled';
    this.detachSignal();
    // A dropped connection does not stop a command without a PTY: kill them before leaving.
    for (const channel of this.running) killRemote(channel);
    this.client.end();
    setTimeout(() => destroySocket(this.client), CANCEL_GRACE_MS).unref();
  }

  /** Binds an operation's signal to the connection; returns the detach function. */
  private watch(signal: AbortSignal | undefined): () => void {
    if (signal === undefined) return () => {};
    const onAbort = (): void => this.cancel();
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) this.cancel();
    return () => signal.removeEventListener('abort', onAbort);
  }

  /** The error for an operation that failed because of the connection's state, or null if it is open. */
  private stateError(doing: string): WsepError | null {
    const where = describeTarget(this.target);
    switch (this.state) {
      case 'open':
        return null;
      case 'cancelled':
        return cancelled();
      case 'closed':
        return makeError(
          'E_SSH_LOST',
          `The connection to ${where} was already closed while ${doing}.`,
          'Open a new connection.',
        );
      case 'lost':
        return makeError(
          'E_SSH_LOST',
          `The connection to ${where} dropped while ${doing} (${this.lostReason}).`,
          'Check the device and its network, then retry; an interrupted upload leaves only a .part file, never a half-written target.',
          { reason: this.lostReason },
        );
    }
  }

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<Result<ExecResult>> {
    let command: string;
    try {
      command = remoteCommand(argv);
    } catch (thrown) {
      return { ok: false, error: toError(thrown, 'E_USAGE') };
    }
    const program = argv[0] ?? '';
    const doing = `running ${program}`;
    const detach = this.watch(options.signal);
    const release = await this.channels.acquire();
    try {
      const early = this.stateError(doing);
      if (early) return { ok: false, error: early };
      return await this.runChannel(command, program, options);
    } finally {
      release();
      detach();
    }
  }

  private runChannel(command: string, program: string, options: ExecOptions): Promise<Result<ExecResult>> {
    const where = describeTarget(this.target);
    const limit = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    return new Promise<Result<ExecResult>>((resolve) => {
      this.client.exec(command, (err: Error | undefined, channel: ClientChannel) => {
        if (err) {
          resolve({
            ok: false,
            error:
              this.stateError(`starting ${program}`) ??
              makeError(
                'E_DEVICE',
                `${where} refused to start ${program}: ${err.message}.`,
                "Check the device's sshd (MaxSessions) and retry.",
              ),
          });
          return;
        }
        this.running.add(channel);
        const stdout: Buffer[] = [];
        const stderr: Buffer[] = [];
        let outBytes = 0;
        let errBytes = 0;
        let exit: { code: number; signal: string | null } | null = null;
        let settled = false;
        const settle = (result: Result<ExecResult>): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(result);
        };
        // sshd keeps a session open while its command runs (no PTY, so no hangup): kill it, and
        // answer now rather than when the device gets round to closing the channel.
        const stop = (error: WsepError): void => {
          killRemote(channel);
          channel.close();
          settle({ ok: false, error });
        };
        const overflow = (stream: string): void =>
          stop(
            makeError(
              'E_DEVICE',
              `${program} on ${where} wrote more than ${limit} bytes to ${stream}.`,
              'Ask for less output (a --limit or a file to read back).',
            ),
          );
        channel.on('data', (chunk: Buffer) => {
          outBytes += chunk.byteLength;
          if (outBytes > limit) overflow('stdout');
          else stdout.push(chunk);
        });
        channel.stderr.on('data', (chunk: Buffer) => {
          errBytes += chunk.byteLength;
          if (errBytes > limit) overflow('stderr');
          else stderr.push(chunk);
        });
        channel.on('exit', (code: number | null, signalName?: string) => {
          const signal =
            typeof signalName === 'string' && signalName !== '' ? normalizeSignal(signalName) : null;
          const signalNumber =
            signal === null ? undefined : (osConstants.signals as Record<string, number>)[signal];
          exit = { code: code ?? 128 + (signalNumber ?? 127), signal };
        });
        const timer =
          options.timeoutMs === undefined
            ? undefined
            : setTimeout(
                () =>
                  stop(
                    makeError(
                      'E_DEVICE',
                      `${program} on ${where} did not finish within ${options.timeoutMs} ms and was stopped.`,
                      'Check the device (load, a stuck process) and retry, or allow more time.',
                      { argv0: program, timeoutMs: options.timeoutMs },
                    ),
                  ),
                options.timeoutMs,
              );
        channel.on('close', () => {
          this.running.delete(channel);
          const error = this.stateError(`running ${program}`);
          if (error) settle({ ok: false, error });
          else if (exit === null)
            settle(
              fail(
                'E_DEVICE',
                `${program} on ${where} ended without an exit status.`,
                "Retry; if it persists, check the device's sshd log.",
              ),
            );
          else settle(ok({ ...exit, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr) }));
        });
        channel.end(options.stdin === undefined ? undefined : Buffer.from(options.stdin));
      });
    });
  }

  private sftp(): Promise<SFTPWrapper> {
    this.sftpChannel ??= new Promise<SFTPWrapper>((resolve, reject) => {
      this.client.sftp((err: Error | undefined, sftp: SFTPWrapper) => {
        if (err) {
          this.sftpChannel = null;
          reject(err);
        } else {
          sftp.on('close', () => (this.sftpChannel = null));
          resolve(sftp);
        }
      });
    });
    return this.sftpChannel;
  }

  upload(
    localPath: string,
    remotePath: string,
    options: TransferOptions = {},
  ): Promise<Result<{ bytes: number }>> {
    return this.transfer(
      async () => {
        try {
          return await fileSource(localPath);
        } catch (thrown) {
          const code = (thrown as { code?: unknown }).code;
          throw new WsepFailure(
            makeError(
              code === 'ENOENT' ? 'E_NOT_FOUND' : 'E_IO',
              `Cannot read ${localPath} to upload it (${String(code ?? (thrown as Error).message)}).`,
              'Check that the file exists and is readable.',
            ),
          );
        }
      },
      remotePath,
      options,
    );
  }

  uploadBuffer(
    bytes: Uint8Array,
    remotePath: string,
    options: TransferOptions = {},
  ): Promise<Result<{ bytes: number }>> {
    return this.transfer(async () => bufferSource(bytes), remotePath, options);
  }

  private async transfer(
    openSource: () => Promise<UploadSource>,
    remotePath: string,
    options: TransferOptions,
  ): Promise<Result<{ bytes: number }>> {
    const doing = `uploading ${remotePath}`;
    const detach = this.watch(options.signal);
    let source: UploadSource | null = null;
    let acked = 0;
    let sftp: SFTPWrapper | null = null;
    try {
      source = await openSource();
      const total = source.size;
      const early = this.stateError(doing);
      if (early) return { ok: false, error: early };
      sftp = await this.sftp();
      const partPath = `${remotePath}.part`;
      const hooks = {
        onAcked: (delta: number, soFar: number) => {
          this.sent += delta;
          acked = soFar;
          options.onBytes?.(soFar, total);
        },
        stopped: () => this.state !== 'open',
      };
      await makeDirs(sftp, posix.dirname(remotePath), this.madeDirs);
      options.onBytes?.(0, total);
      try {
        await writeFile(sftp, source, partPath, 0o644, hooks);
      } catch (thrown) {
        // A folder made earlier on this connection may have been moved away since (the agent moves
        // staged plans); forget what we knew and make it again, once.
        if (uploadPhaseOf(thrown) !== 'open' || sftpStatus(thrown) !== SFTP_STATUS.noSuchFile) throw thrown;
        this.madeDirs.clear();
        await makeDirs(sftp, posix.dirname(remotePath), this.madeDirs);
        await writeFile(sftp, source, partPath, 0o644, hooks);
      }
      await replaceFile(sftp, partPath, remotePath);
      return ok({ bytes: total });
    } catch (thrown) {
      if (thrown instanceof WsepFailure) return { ok: false, error: thrown.error };
      const lost = this.stateError(doing);
      if (lost) return { ok: false, error: lost };
      return {
        ok: false,
        error: await this.uploadFailure(sftp, thrown, remotePath, (source?.size ?? 0) - acked),
      };
    } finally {
      detach();
      await source?.close().catch(() => {});
    }
  }

  /** Names a failed upload step; a failure with too little free space left is E_DISK_FULL. */
  private async uploadFailure(
    sftp: SFTPWrapper | null,
    thrown: unknown,
    remotePath: string,
    bytesLeft: number,
  ): Promise<WsepError> {
    const where = describeTarget(this.target);
    const status = sftpStatus(thrown);
    const phase = uploadPhaseOf(thrown) ?? 'prepare';
    const message = thrown instanceof Error ? thrown.message : String(thrown);
    const dir = posix.dirname(remotePath);
    if (sftp !== null && (phase === 'write' || phase === 'fsync' || phase === 'close' || phase === 'open')) {
      // SFTP v3 has no "no space" status: OpenSSH reports ENOSPC as a plain Failure, so ask the file system.
      const free = (await freeBytes(sftp, dir)) ?? (await this.freeBytesByDf(dir));
      if (free !== null && free < Math.max(bytesLeft, 1)) {
        // The partial file only takes space the device needs; the final name was never touched.
        await removeFile(sftp, `${remotePath}.part`).catch(() => {});
        const lost = this.stateError(`uploading ${remotePath}`);
        if (lost) return lost;
        return makeError(
          'E_DISK_FULL',
          `The disk of ${where} is full: ${remotePath} needs ${bytesLeft} more bytes, ${free} are free in ${dir}.`,
          'Free space on the device (old plans, logs) or choose a device root on a larger file system.',
          { path: remotePath, freeBytes: free, bytesLeft },
        );
      }
    }
    if (status === SFTP_STATUS.permissionDenied) {
      return makeError(
        'E_DEVICE',
        `${where} does not allow writing ${remotePath} (permission denied).`,
        `Check the owner and mode of ${dir} on the device, or the device's user.`,
      );
    }
    return makeError(
      'E_DEVICE',
      `Uploading ${remotePath} to ${where} failed in its ${phase} step: ${message}.`,
      "Retry; if it persists, check the device's disk and the sshd log.",
      { phase, status },
    );
  }

  /** `df -Pk <dir>` (POSIX output: the 4th field of the 2nd line is the available KiB), or null. */
  private async freeBytesByDf(dir: string): Promise<number | null> {
    const result = await this.exec(['df', '-Pk', dir], { timeoutMs: 10_000 });
    if (!result.ok || result.value.code !== 0) return null;
    const fields = result.value.stdout.toString('utf8').trim().split('\n')[1]?.trim().split(/\s+/);
    const available = Number(fields?.[3]);
    return Number.isFinite(available) ? available * 1024 : null;
  }

  async readFile(
    remotePath: string,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Result<Buffer>> {
    const doing = `reading ${remotePath}`;
    const detach = this.watch(options.signal);
    try {
      const early = this.stateError(doing);
      if (early) return { ok: false, error: early };
      return ok(await readWholeFile(await this.sftp(), remotePath));
    } catch (thrown) {
      const lost = this.stateError(doing);
      if (lost) return { ok: false, error: lost };
      const where = describeTarget(this.target);
      if (sftpStatus(thrown) === SFTP_STATUS.noSuchFile) {
        return fail(
          'E_NOT_FOUND',
          `${where} has no file ${remotePath}.`,
          'Check the path (and that the upload finished).',
        );
      }
      const message = thrown instanceof Error ? thrown.message : String(thrown);
      return fail(
        'E_DEVICE',
        `Reading ${remotePath} from ${where} failed: ${message}.`,
        "Check the file's permissions on the device.",
      );
    } finally {
      detach();
    }
  }
}
