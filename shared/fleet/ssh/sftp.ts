/**
 * SFTP steps for atomic uploads, as promises over ssh2's callback API. Errors are thrown as they come
 * (ssh2 errors carry the SFTP status in `code`); the connection classifies them, because only it
 * knows whether the link dropped, the user cancelled, or the device's disk is full.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';
import type { SFTPWrapper, Stats } from 'ssh2';

/** SFTP v3 status codes (draft-ietf-secsh-filexfer-02, section 7). */
export const SFTP_STATUS = { noSuchFile: 2, permissionDenied: 3, failure: 4, opUnsupported: 8 } as const;

/** Bytes per WRITE request: below every server's packet limit, so ssh2 never splits one serially. */
const CHUNK_BYTES = 32 * 1024;
/** WRITE requests awaiting their acknowledgement: enough to fill a LAN link, bounded in memory (2 MiB). */
const WINDOW = 64;
/** Bytes read from the local file at a time. */
const READ_BYTES = 512 * 1024;

export function sftpStatus(thrown: unknown): number | null {
  const code = (thrown as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : null;
}

/**
 * One SFTP request as a promise. ssh2 fails the requests pending when the channel closes, but one
 * made after that would wait forever; so a closed channel, or one that closes meanwhile, rejects.
 */
function call<T>(
  sftp: SFTPWrapper,
  start: (done: (err: Error | null | undefined, value?: T) => void) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if ((sftp as unknown as { incoming?: { state?: string } }).incoming?.state === 'closed') {
      reject(new Error('the SFTP channel is closed'));
      return;
    }
    const onClose = (): void => reject(new Error('the SFTP channel closed'));
    // Up to WINDOW writes wait at once, each with its listener.
    sftp.setMaxListeners(0);
    sftp.once('close', onClose);
    try {
      start((err, value) => {
        sftp.removeListener('close', onClose);
        if (err) reject(err);
        else resolve(value as T);
      });
    } catch (thrown) {
      // ssh2 throws at once for an extension the server did not advertise.
      sftp.removeListener('close', onClose);
      reject(thrown);
    }
  });
}

export const stat = (sftp: SFTPWrapper, path: string): Promise<Stats> =>
  call(sftp, (done) => sftp.stat(path, done));

/**
 * mkdir -p. `known` remembers folders made or seen on this connection, so a bundle's files cost one
 * check. Uploads running at once may make the same folder: one that appears meanwhile is what we want.
 */
export async function makeDirs(sftp: SFTPWrapper, dir: string, known: Set<string>): Promise<void> {
  if (dir === '' || dir === '.' || dir === '/' || known.has(dir)) return;
  try {
    await mkdirOrThere(sftp, dir);
  } catch (thrown) {
    if (sftpStatus(thrown) !== SFTP_STATUS.noSuchFile) throw thrown;
    await makeDirs(sftp, posix.dirname(dir), known);
    await mkdirOrThere(sftp, dir);
  }
  known.add(dir);
}

async function mkdirOrThere(sftp: SFTPWrapper, dir: string): Promise<void> {
  try {
    await call<void>(sftp, (done) => sftp.mkdir(dir, done));
  } catch (thrown) {
    if (sftpStatus(thrown) === SFTP_STATUS.noSuchFile) throw thrown;
    // OpenSSH answers an existing folder with a plain "Failure"; a folder there is what we want.
    const there = await stat(sftp, dir).catch(() => null);
    if (!there?.isDirectory()) throw thrown;
  }
}

/** Where upload bytes come from: a local file (read in blocks) or bytes in memory. */
export interface UploadSource {
  readonly size: number;
  blocks(): AsyncIterable<Buffer>;
  close(): Promise<void>;
}

export async function fileSource(path: string): Promise<UploadSource> {
  const handle: FileHandle = await open(path, 'r');
  const { size } = await handle.stat();
  return {
    size,
    async *blocks() {
      for (let position = 0; position < size;) {
        // A fresh buffer per block: writes still in flight keep slices of earlier blocks.
        const block = Buffer.allocUnsafe(Math.min(READ_BYTES, size - position));
        const { bytesRead } = await handle.read(block, 0, block.byteLength, position);
        if (bytesRead === 0) throw new Error(`${path} became shorter while it was being uploaded`);
        position += bytesRead;
        yield block.subarray(0, bytesRead);
      }
    },
    close: () => handle.close(),
  };
}

export function bufferSource(bytes: Uint8Array): UploadSource {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    size: buffer.byteLength,
    async *blocks() {
      for (let at = 0; at < buffer.byteLength; at += READ_BYTES) yield buffer.subarray(at, at + READ_BYTES);
    },
    close: async () => {},
  };
}

export interface WriteHooks {
  /** Called as the server acknowledges bytes; `total` is the bytes acknowledged so far. */
  onAcked(delta: number, total: number): void;
  /** Stops issuing writes (the connection is gone or cancelled); in-flight ones still settle. */
  stopped(): boolean;
}

/**
 * Writes `source` to `partPath` (created or truncated, mode `mode`), with up to WINDOW writes in
 * flight, then fsyncs (when the server offers fsync@openssh.com) and closes it. Throws the first
 * failure; `phase` on the error says which step failed.
 */
export async function writeFile(
  sftp: SFTPWrapper,
  source: UploadSource,
  partPath: string,
  mode: number,
  hooks: WriteHooks,
): Promise<void> {
  const handle = await tagged(
    'open',
    call<Buffer>(sftp, (done) => sftp.open(partPath, 'w', { mode }, done)),
  );
  let failure: unknown = null;
  try {
    const inFlight = new Set<Promise<void>>();
    let acked = 0;
    let position = 0;
    outer: for await (const block of source.blocks()) {
      for (let at = 0; at < block.byteLength; at += CHUNK_BYTES) {
        if (failure !== null || hooks.stopped()) break outer;
        while (inFlight.size >= WINDOW) await Promise.race(inFlight);
        const chunk = block.subarray(at, at + CHUNK_BYTES);
        const offset = position;
        position += chunk.byteLength;
        const write = call<void>(sftp, (done) =>
          sftp.write(handle, chunk, 0, chunk.byteLength, offset, done),
        ).then(
          () => {
            acked += chunk.byteLength;
            hooks.onAcked(chunk.byteLength, acked);
          },
          (thrown: unknown) => {
            failure ??= thrown;
          },
        );
        const tracked: Promise<void> = write.finally(() => inFlight.delete(tracked));
        inFlight.add(tracked);
      }
    }
    await Promise.all(inFlight);
    if (failure !== null) throw phaseOf(failure, 'write');
    if (hooks.stopped()) throw phaseOf(new Error('stopped'), 'write');
    await tagged('fsync', fsyncIfOffered(sftp, handle));
  } finally {
    // A close after a dropped link fails too; the first error is the one that says what happened.
    await call<void>(sftp, (done) => sftp.close(handle, done)).catch((thrown: unknown) => {
      failure ??= thrown;
    });
  }
  if (failure !== null) throw phaseOf(failure, 'close');
}

async function fsyncIfOffered(sftp: SFTPWrapper, handle: Buffer): Promise<void> {
  try {
    await call<unknown>(sftp, (done) => sftp.ext_openssh_fsync(handle, done));
  } catch (thrown) {
    if (isUnsupported(thrown)) return;
    throw thrown;
  }
}

/**
 * rename(2) of `from` onto `to`, replacing it atomically (posix-rename@openssh.com). A server without
 * the extension gets remove + rename: not atomic, but plain SFTP rename refuses an existing target.
 */
export async function replaceFile(sftp: SFTPWrapper, from: string, to: string): Promise<void> {
  try {
    await call<void>(sftp, (done) => sftp.ext_openssh_rename(from, to, done));
    return;
  } catch (thrown) {
    if (!isUnsupported(thrown)) throw phaseOf(thrown, 'rename');
  }
  await call<void>(sftp, (done) => sftp.unlink(to, done)).catch((thrown: unknown) => {
    if (sftpStatus(thrown) !== SFTP_STATUS.noSuchFile) throw phaseOf(thrown, 'rename');
  });
  await tagged(
    'rename',
    call<void>(sftp, (done) => sftp.rename(from, to, done)),
  );
}

export const removeFile = (sftp: SFTPWrapper, path: string): Promise<void> =>
  call<void>(sftp, (done) => sftp.unlink(path, done));

export const readWholeFile = (sftp: SFTPWrapper, path: string): Promise<Buffer> =>
  call<Buffer>(sftp, (done) => sftp.readFile(path, done));

/** Free bytes for unprivileged writers on the file system of `dir` (statvfs@openssh.com), or null. */
export async function freeBytes(sftp: SFTPWrapper, dir: string): Promise<number | null> {
  try {
    const info = await call<Record<string, unknown>>(sftp, (done) => sftp.ext_openssh_statvfs(dir, done));
    // 64-bit fields come as number, bigint or string depending on ssh2's big-integer option.
    const available = Number(info.f_bavail);
    const blockSize = Number(info.f_frsize);
    if (!Number.isFinite(available) || !Number.isFinite(blockSize)) return null;
    return available * blockSize;
  } catch {
    return null;
  }
}

/** The server does not offer the request: ssh2 throws for one not advertised, a server answers OP_UNSUPPORTED. */
function isUnsupported(thrown: unknown): boolean {
  if (sftpStatus(thrown) === SFTP_STATUS.opUnsupported) return true;
  return thrown instanceof Error && thrown.message.includes('does not support this extended request');
}

export type UploadPhase = 'open' | 'write' | 'fsync' | 'close' | 'rename';

export function phaseOf(thrown: unknown, phase: UploadPhase): unknown {
  if (thrown !== null && typeof thrown === 'object' && !('uploadPhase' in thrown)) {
    Object.assign(thrown, { uploadPhase: phase });
  }
  return thrown;
}

export function uploadPhaseOf(thrown: unknown): UploadPhase | null {
  const phase = (thrown as { uploadPhase?: unknown } | null)?.uploadPhase;
  return typeof phase === 'string' ? (phase as UploadPhase) : null;
}

async function tagged<T>(phase: UploadPhase, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (thrown) {
    throw phaseOf(thrown, phase);
  }
}
