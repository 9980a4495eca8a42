/**
 * The app's SSH key for local devices (sshd-device.ts): one ed25519 key pair per test run, test file
 * or demo fleet, whose public half goes into every device's authorized_keys.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface ClientKey {
  /** OpenSSH private key file, mode 0600 (what SshTarget.privateKeyPath points at). */
  readonly privateKeyPath: string;
  /** The `ssh-ed25519 AAAA… comment` line for authorized_keys. */
  readonly publicKeyLine: string;
}

/** Makes (or reuses) `<dir>/client_ed25519` and its `.pub`. */
export function makeClientKey(dir: string): ClientKey {
  mkdirSync(dir, { recursive: true });
  const privateKeyPath = join(dir, 'client_ed25519');
  const publicKeyPath = `${privateKeyPath}.pub`;
  if (!existsSync(privateKeyPath) || !existsSync(publicKeyPath)) {
    // OpenSSH's own ssh-keygen, as users make their keys: about 0.7% of the ed25519 keys that
    // ssh2.utils.generateKeyPairSync wrote could not be parsed by ssh2 itself ("Malformed OpenSSH
    // private key"), which made device tests fail now and then.
    rmSync(privateKeyPath, { force: true });
    rmSync(publicKeyPath, { force: true });
    execFileSync(
      'ssh-keygen',
      ['-q', '-t', 'ed25519', '-N', '', '-C', 'wsep-test-client', '-f', privateKeyPath],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    chmodSync(privateKeyPath, 0o600);
  }
  return { privateKeyPath, publicKeyLine: readFileSync(publicKeyPath, 'utf8').trim() };
}
