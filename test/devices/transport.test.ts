/**
 * The SSH transport against real OpenSSH servers: two devices on their own loopback addresses, host
 * keys pinned, commands through a real remote shell, atomic uploads, and the faults a fleet meets
 * (a pulled cable, a full disk, a reinstalled device, a cancelled job).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { unwrap } from '../../shared/core/errors.ts';
import { failureOf } from '../../shared/core/testing-result.ts';
import { useTempDir } from '../../shared/core/testing-temp.ts';
import { openSsh, probeHostKey, type SshConnection } from '../../shared/fleet/ssh/connection.ts';
import { makeClientKey } from './client-key.ts';
import { startSshDevice, type SshDevice } from './sshd-device.ts';
import { startCutProxy } from './tcp-proxy.ts';
import { useDeviceTeardown } from './teardown.ts';
import { mountTmpfs } from './tmpfs.ts';

const dir = useTempDir('transport-');
useDeviceTeardown();

const MiB = 1024 * 1024;
const payloadPath = join(dir, 'payload.bin');
let payloadSha = '';
let a: SshDevice;
let b: SshDevice;

beforeAll(async () => {
  // Incompressible, so the byte counts on the wire are the payload's.
  const payload = Buffer.alloc(5 * MiB);
  for (let i = 0; i < payload.length; i += 32)
    createHash('sha256').update(String(i)).digest().copy(payload, i);
  writeFileSync(payloadPath, payload);
  payloadSha = createHash('sha256').update(payload).digest('hex');
  const clientKey = makeClientKey(join(dir, 'client'));
  [a, b] = await Promise.all([
    startSshDevice({ address: '127.0.0.2', dir: join(dir, 'a'), clientKey }),
    startSshDevice({ address: '127.0.0.3', dir: join(dir, 'b'), clientKey }),
  ]);
});

async function connect(device: SshDevice, overrides = {}): Promise<SshConnection> {
  const opened = await openSsh(device.target(overrides));
  if (!opened.ok) throw new Error(`${opened.error.message} sshd log:\n${device.log()}`);
  return opened.value;
}

async function remoteSha256(conn: SshConnection, path: string): Promise<string> {
  const ran = unwrap(await conn.exec(['sha256sum', '--', path]));
  expect(ran.code).toBe(0);
  return ran.stdout.toString('utf8').split(' ')[0] ?? '';
}

async function waitFor(condition: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(condition()).toBe(true);
}

/**
 * "signal" channel requests sshd logged. sshd obeys them for ordinary users; for root logins OpenSSH
 * runs without privilege separation after authentication and logs that it refuses. Either way the
 * log proves the kill request reached the device.
 */
function signalRequests(device: SshDevice): number {
  return device.log().match(/session_signal_req/g)?.length ?? 0;
}

describe('first contact and pinning', () => {
  it('probes each device and sees the fingerprint ssh-keygen computes for its host key', async () => {
    expect(a.hostFingerprint).not.toBe(b.hostFingerprint);
    for (const device of [a, b]) {
      const probed = unwrap(await probeHostKey(device.target({ hostKeyFingerprint: null })));
      expect(probed).toEqual({ fingerprint: device.hostFingerprint, keyType: 'ssh-ed25519' });
    }
  });

  it('refuses an unknown key, with the fingerprint to show the user', async () => {
    const error = failureOf(await openSsh(a.target({ hostKeyFingerprint: null })));
    expect(error.code).toBe('E_SSH_HOST_UNKNOWN');
    expect(error.details).toMatchObject({ fingerprint: a.hostFingerprint });
    expect(error.hint).toContain('wsep devices accept-key');
  });

  it("refuses one device's pin on the other", async () => {
    const error = failureOf(await openSsh(b.target({ hostKeyFingerprint: a.hostFingerprint })));
    expect(error.code).toBe('E_SSH_HOST_CHANGED');
    expect(error.details).toMatchObject({ expected: a.hostFingerprint, presented: b.hostFingerprint });
  });

  it('refuses a key the device does not authorize', async () => {
    const stranger = makeClientKey(join(dir, 'stranger'));
    const error = failureOf(await openSsh(a.target({ privateKeyPath: stranger.privateKeyPath })));
    expect(error.code).toBe('E_SSH_AUTH');
    expect(error.message).toContain('127.0.0.2');
  });
});

describe('exec', () => {
  it('passes every argv element through the remote shell byte for byte', async () => {
    const conn = await connect(a);
    const args = [
      `'`,
      `"`,
      '$HOME',
      '$(touch pwned)',
      '`id`',
      ';|&<>*?(){}[]!#~\\',
      'two\nlines',
      '  spaced  out  ',
      'ünïcødé ✓ 🚀',
      '-n',
      '--flag=value',
      '',
      'a=b',
      'it\'s "all" $x',
    ];
    const ran = unwrap(await conn.exec(['printf', '%s\\0', ...args]));
    expect(ran.code).toBe(0);
    const words = ran.stdout.toString('utf8').split('\0');
    expect(words.pop()).toBe('');
    expect(words).toEqual(args);
    expect(existsSync('/root/pwned')).toBe(false);
    await conn.close();
  });

  it('returns exit codes, stderr, stdin and signals as they are, without a PTY', async () => {
    const conn = await connect(a);
    const failed = unwrap(await conn.exec(['sh', '-c', 'echo oops >&2; exit 7']));
    expect(failed).toMatchObject({ code: 7, signal: null });
    expect(failed.stderr.toString()).toBe('oops\n');
    const echoed = unwrap(await conn.exec(['cat'], { stdin: 'line one\nline two\n' }));
    expect(echoed.stdout.toString()).toBe('line one\nline two\n');
    const tty = unwrap(await conn.exec(['tty']));
    expect(tty.code).not.toBe(0);
    const killed = unwrap(await conn.exec(['sh', '-c', 'kill -TERM $$']));
    expect(killed).toMatchObject({ signal: 'SIGTERM', code: 143 });
    await conn.close();
  });

  it('stops waiting for a command past its timeout, asks sshd to kill it, and keeps the connection usable', async () => {
    const conn = await connect(a);
    const requestsBefore = signalRequests(a);
    const started = Date.now();
    const error = failureOf(await conn.exec(['sh', '-c', 'exec sleep 5'], { timeoutMs: 300 }));
    expect(error.code).toBe('E_DEVICE');
    expect(error.message).toContain('sh on root@127.0.0.2');
    expect(error.details).toMatchObject({ argv0: 'sh', timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(unwrap(await conn.exec(['true'])).code).toBe(0);
    await waitFor(() => signalRequests(a) > requestsBefore);
    await conn.close();
  });

  it('fails a command whose output exceeds the limit', async () => {
    const conn = await connect(a);
    const error = failureOf(await conn.exec(['head', '-c', '100000', '/dev/zero'], { maxOutputBytes: 1000 }));
    expect(error.code).toBe('E_DEVICE');
    expect(error.message).toMatch(/more than 1000 bytes/);
    await conn.close();
  });

  it('runs more commands at once than sshd allows sessions, by queueing them', async () => {
    const conn = await connect(a);
    const runs = await Promise.all(Array.from({ length: 12 }, (_, i) => conn.exec(['echo', String(i)])));
    expect(runs.map((run) => unwrap(run).stdout.toString().trim())).toEqual(
      Array.from({ length: 12 }, (_, i) => String(i)),
    );
    await conn.close();
  });
});

describe('upload', () => {
  it('uploads 5 MiB atomically: the remote sha256 matches, mode 0644, no .part left, progress to the end', async () => {
    const conn = await connect(a);
    const remote = join(a.root, 'staging', 'plan one', 'shared.bin');
    const progress: number[] = [];
    const sent = unwrap(await conn.upload(payloadPath, remote, { onBytes: (soFar) => progress.push(soFar) }));
    expect(sent.bytes).toBe(5 * MiB);
    expect(await remoteSha256(conn, remote)).toBe(payloadSha);
    expect(statSync(remote).mode & 0o777).toBe(0o644);
    expect(readdirSync(join(a.root, 'staging', 'plan one'))).toEqual(['shared.bin']);
    expect(progress[0]).toBe(0);
    expect(progress.at(-1)).toBe(5 * MiB);
    expect(progress.every((value, i) => i === 0 || value >= (progress[i - 1] ?? 0))).toBe(true);
    expect(conn.bytesSent).toBe(5 * MiB);

    // A second upload replaces the file in one rename; uploadBuffer and readFile round-trip.
    unwrap(await conn.upload(payloadPath, remote));
    const small = Buffer.from('{"format":"test"}\n');
    unwrap(await conn.uploadBuffer(small, remote));
    expect(unwrap(await conn.readFile(remote))).toEqual(small);
    expect(conn.bytesSent).toBe(10 * MiB + small.length);
    expect(failureOf(await conn.readFile(join(a.root, 'missing'))).code).toBe('E_NOT_FOUND');

    // An empty file is a file; a folder removed behind the connection's back is made again.
    const empty = join(a.root, 'staging', 'plan one', 'empty.bin');
    unwrap(await conn.uploadBuffer(new Uint8Array(0), empty));
    expect(statSync(empty).size).toBe(0);
    rmSync(join(a.root, 'staging'), { recursive: true });
    unwrap(await conn.uploadBuffer(small, remote));
    expect(readFileSync(remote)).toEqual(small);
    await conn.close();
  });

  it('an upload cut mid-transfer fails with E_SSH_LOST, leaves only .part, and a retry on a fresh link succeeds', async () => {
    const remote = join(b.root, 'cut', 'shared.bin');
    const proxy = await startCutProxy({ targetHost: b.address, targetPort: b.port, dropAfterBytes: 2 * MiB });
    const conn = await connect(b, { host: proxy.host, port: proxy.port });
    const error = failureOf(await conn.upload(payloadPath, remote));
    expect(error.code).toBe('E_SSH_LOST');
    expect((await proxy.cut).bytes).toBe(2 * MiB);
    expect(conn.isOpen).toBe(false);
    expect(existsSync(remote)).toBe(false);
    expect(statSync(`${remote}.part`).size).toBeLessThan(5 * MiB);
    expect(failureOf(await conn.exec(['true'])).code).toBe('E_SSH_LOST');
    await proxy.stop();

    const fresh = await startCutProxy({
      targetHost: b.address,
      targetPort: b.port,
      dropAfterBytes: Infinity,
    });
    const retry = await connect(b, { host: fresh.host, port: fresh.port });
    unwrap(await retry.upload(payloadPath, remote));
    expect(await remoteSha256(retry, remote)).toBe(payloadSha);
    expect(existsSync(`${remote}.part`)).toBe(false);
    await retry.close();
    await fresh.stop();
  });

  it('a full disk fails with E_DISK_FULL, the final path absent and the space given back', async () => {
    const small = join(a.root, 'small-disk');
    await mountTmpfs(small, 2 * MiB);
    const conn = await connect(a);
    const remote = join(small, 'plans', 'shared.bin');
    const error = failureOf(await conn.upload(payloadPath, remote));
    expect(error.code).toBe('E_DISK_FULL');
    expect(error.message).toContain(remote);
    expect(existsSync(remote)).toBe(false);
    expect(existsSync(`${remote}.part`)).toBe(false);
    // The connection and the disk still work for what fits.
    unwrap(await conn.uploadBuffer(Buffer.alloc(MiB, 1), remote));
    expect(statSync(remote).size).toBe(MiB);
    await conn.close();
  });

  it('cancelling an upload closes the connection and leaves the final path untouched', async () => {
    const conn = await connect(a);
    const remote = join(a.root, 'cancelled', 'shared.bin');
    const controller = new AbortController();
    const error = failureOf(
      await conn.upload(payloadPath, remote, {
        signal: controller.signal,
        onBytes: (soFar) => {
          if (soFar >= MiB) controller.abort();
        },
      }),
    );
    expect(error.code).toBe('E_CANCELLED');
    expect(conn.isOpen).toBe(false);
    expect(existsSync(remote)).toBe(false);
    expect(failureOf(await conn.exec(['true'])).code).toBe('E_CANCELLED');
  });

  it('cancelling a running command returns at once, after asking sshd to kill it', async () => {
    const conn = await connect(a);
    const startedFile = join(a.root, 'cancel-started');
    const requestsBefore = signalRequests(a);
    const controller = new AbortController();
    const ran = conn.exec(['sh', '-c', `touch ${startedFile}; exec sleep 5`], { signal: controller.signal });
    await waitFor(() => existsSync(startedFile));
    const started = Date.now();
    controller.abort();
    expect(failureOf(await ran).code).toBe('E_CANCELLED');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(conn.isOpen).toBe(false);
    await waitFor(() => signalRequests(a) > requestsBefore);
  });
});

describe('a device whose SFTP server lacks the OpenSSH extensions', () => {
  it('replaces files by remove + rename and still tells a full disk (df instead of statvfs)', async () => {
    const plain = await startSshDevice({
      address: '127.0.0.4',
      dir: join(dir, 'plain'),
      clientKey: makeClientKey(join(dir, 'client')),
      sftpDenied: ['posix-rename', 'fsync', 'statvfs'],
    });
    const conn = await connect(plain);
    const remote = join(plain.root, 'plans', 'manifest.json');
    unwrap(await conn.uploadBuffer(Buffer.from('first'), remote));
    unwrap(await conn.uploadBuffer(Buffer.from('second'), remote));
    expect(readFileSync(remote, 'utf8')).toBe('second');
    expect(readdirSync(join(plain.root, 'plans'))).toEqual(['manifest.json']);

    const small = join(plain.root, 'small-disk');
    await mountTmpfs(small, 2 * MiB);
    const error = failureOf(await conn.upload(payloadPath, join(small, 'shared.bin')));
    expect(error.code).toBe('E_DISK_FULL');
    expect(readdirSync(small)).toEqual([]);
    await conn.close();
    await plain.stop();
  });
});

describe('devices that change or go away', () => {
  it('a device restarted with a new host key is refused before authentication; nothing reaches its disk', async () => {
    const oldPin = b.hostFingerprint;
    await b.restart({ newHostKey: true });
    expect(b.hostFingerprint).not.toBe(oldPin);
    const marker = join(b.root, 'after-rekey.txt');
    const before = readdirSync(b.root).sort();

    const opened = await openSsh(b.target({ hostKeyFingerprint: oldPin }));
    if (opened.ok) await opened.value.uploadBuffer(Buffer.from('should never arrive'), marker);
    const error = failureOf(opened);
    expect(error.code).toBe('E_SSH_HOST_CHANGED');
    expect(error.details).toMatchObject({ expected: oldPin, presented: b.hostFingerprint });
    expect(readdirSync(b.root).sort()).toEqual(before);
    // sshd logs every accepted login; the refused client never authenticated.
    expect(b.log()).not.toMatch(/Accepted publickey/);

    // The user checks and accepts the new key; then it works.
    const probed = unwrap(await probeHostKey(b.target({ hostKeyFingerprint: null })));
    expect(probed.fingerprint).toBe(b.hostFingerprint);
    const conn = await connect(b, { hostKeyFingerprint: probed.fingerprint });
    unwrap(await conn.uploadBuffer(Buffer.from('hello'), marker));
    expect(readFileSync(marker, 'utf8')).toBe('hello');
    expect(b.log()).toMatch(/Accepted publickey/);
    await conn.close();
  });

  it('a device that goes offline: the open connection is lost, a new one is refused', async () => {
    const conn = await connect(b);
    const pending = conn.exec(['sleep', '30']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const pid = b.pid;
    await b.stop();
    expect(pid).not.toBeNull();
    const error = failureOf(await pending);
    expect(error.code).toBe('E_SSH_LOST');
    expect(error.message).toContain('127.0.0.3');
    expect(failureOf(await openSsh(b.target())).code).toBe('E_SSH_CONNECT');
    await b.restart();
    const back = await connect(b);
    expect(unwrap(await back.exec(['true'])).code).toBe(0);
    await back.close();
  });
});
