/**
 * Connection failures that need no SSH server: key files, refused and silent ports, cancellation.
 * Everything that needs a real sshd is in test/devices/transport.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { failureOf } from '../../core/testing-result.ts';
import { useTempDir } from '../../core/testing-temp.ts';
import { describeTarget, openSsh, PASSPHRASE_ENV, probeHostKey, type SshTarget } from './connection.ts';

const dir = useTempDir('ssh-connection-');

function keygen(name: string, passphrase = ''): string {
  const path = join(dir, name);
  execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'test', '-f', path]);
  return path;
}

const plainKey = keygen('plain');
const lockedKey = keygen('locked', 'correct horse');

/** A port with nothing listening: bound, read, released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A server that accepts TCP and never says a word (a hung device). */
const silent: { server: Server; sockets: Set<Socket> } = { server: createServer(), sockets: new Set() };
silent.server.on('connection', (socket) => silent.sockets.add(socket));
let silentPort = 0;
beforeAll(async () => {
  await new Promise<void>((resolve) => silent.server.listen(0, '127.0.0.1', () => resolve()));
  silentPort = (silent.server.address() as AddressInfo).port;
});
afterAll(async () => {
  for (const socket of silent.sockets) socket.destroy();
  await new Promise<void>((resolve) => silent.server.close(() => resolve()));
});

function target(overrides: Partial<SshTarget> = {}): SshTarget {
  return {
    host: '127.0.0.1',
    port: 1,
    user: 'root',
    privateKeyPath: plainKey,
    hostKeyFingerprint: 'SHA256:' + 'A'.repeat(43),
    connectTimeoutMs: 2_000,
    ...overrides,
  };
}

const savedPassphrase = process.env[PASSPHRASE_ENV];
afterEach(() => {
  if (savedPassphrase === undefined) delete process.env[PASSPHRASE_ENV];
  else process.env[PASSPHRASE_ENV] = savedPassphrase;
});

describe('openSsh before any connection: the private key', () => {
  it('names a missing key file and its path', async () => {
    const error = failureOf(await openSsh(target({ privateKeyPath: join(dir, 'nope') })));
    expect(error.code).toBe('E_IO');
    expect(error.message).toContain(join(dir, 'nope'));
    expect(error.hint).toMatch(/ssh-keygen/);
  });

  it('refuses a public key, an empty file and garbage as the private key', async () => {
    const empty = join(dir, 'empty');
    writeFileSync(empty, '');
    const garbage = join(dir, 'garbage');
    writeFileSync(
      garbage,
      '-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n-----END OPENSSH PRIVATE KEY-----\n',
    );
    for (const path of [`${plainKey}.pub`, empty, garbage]) {
      const error = failureOf(await openSsh(target({ privateKeyPath: path })));
      expect(error.code).toBe('E_SSH_AUTH');
      expect(error.message).toContain(path);
    }
  });

  it('names an unreadable key file', async () => {
    // Root reads any file regardless of mode; a folder is unreadable as a file for everyone.
    const error = failureOf(await openSsh(target({ privateKeyPath: dir })));
    expect(error.code).toBe('E_IO');
    expect(error.message).toContain(dir);
  });

  it(`refuses a passphrase-protected key without ${PASSPHRASE_ENV}, and uses it when set`, async () => {
    delete process.env[PASSPHRASE_ENV];
    const locked = failureOf(await openSsh(target({ privateKeyPath: lockedKey })));
    expect(locked.code).toBe('E_SSH_AUTH');
    expect(locked.message).toMatch(/passphrase/);
    expect(locked.hint).toContain(PASSPHRASE_ENV);

    process.env[PASSPHRASE_ENV] = 'wrong';
    const wrong = failureOf(await openSsh(target({ privateKeyPath: lockedKey })));
    expect(wrong.code).toBe('E_SSH_AUTH');
    expect(wrong.message).toMatch(/decrypted/);

    // With the right passphrase the key loads and the attempt goes on to the (closed) port.
    process.env[PASSPHRASE_ENV] = 'correct horse';
    const port = await closedPort();
    const reached = failureOf(await openSsh(target({ privateKeyPath: lockedKey, port })));
    expect(reached.code).toBe('E_SSH_CONNECT');
  });
});

describe('openSsh and probeHostKey: unreachable devices', () => {
  it('says a refused port is refused', async () => {
    const port = await closedPort();
    const error = failureOf(await openSsh(target({ port })));
    expect(error.code).toBe('E_SSH_CONNECT');
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).toMatch(/refused/);
    expect(failureOf(await probeHostKey(target({ port }))).code).toBe('E_SSH_CONNECT');
  });

  it('gives up on a device that accepts TCP but never answers, within the connect timeout', async () => {
    const port = silentPort;
    const started = Date.now();
    const error = failureOf(await openSsh(target({ port, connectTimeoutMs: 400 })));
    expect(error.code).toBe('E_SSH_CONNECT');
    expect(error.message).toMatch(/in time/);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(failureOf(await probeHostKey(target({ port, connectTimeoutMs: 400 }))).code).toBe('E_SSH_CONNECT');
  });

  it('stops a connect when its signal fires', async () => {
    const port = silentPort;
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const error = failureOf(
      await openSsh(target({ port, connectTimeoutMs: 5_000 }), { signal: controller.signal }),
    );
    expect(error.code).toBe('E_CANCELLED');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(failureOf(await openSsh(target(), { signal: AbortSignal.abort() })).code).toBe('E_CANCELLED');
  });

  it('names endpoints as user@host:port (IPv6 in brackets)', () => {
    expect(describeTarget({ host: '10.0.0.5', port: 22, user: 'pi' })).toBe('pi@10.0.0.5:22');
    expect(describeTarget({ host: '::1', port: 2222, user: 'root' })).toBe('root@[::1]:2222');
  });
});
