import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { failureOf } from '../../core/testing-result.ts';
import { unwrap } from '../../core/errors.ts';
import { useTempDir } from '../../core/testing-temp.ts';
import { fingerprintOf, isFingerprint, keyTypeOf, parsePublicKeyLine } from './host-key.ts';

const dir = useTempDir('host-key-');

function keygen(type: string, name: string): string {
  const path = join(dir, name);
  execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'test', '-f', path]);
  return `${path}.pub`;
}

function opensshFingerprint(publicKeyPath: string): string {
  return (
    execFileSync('/usr/bin/ssh-keygen', ['-lf', publicKeyPath], { encoding: 'utf8' }).split(' ')[1] ?? ''
  );
}

describe('host-key fingerprints', () => {
  it.each(['ed25519', 'ecdsa', 'rsa'])('match ssh-keygen -lf for %s keys', (type) => {
    const pub = keygen(type, `key_${type}`);
    const line = readFileSync(pub, 'utf8');
    const parsed = unwrap(parsePublicKeyLine(line));
    expect(parsed.fingerprint).toBe(opensshFingerprint(pub));
    expect(isFingerprint(parsed.fingerprint)).toBe(true);
    const blob = Buffer.from(line.split(' ')[1] ?? '', 'base64');
    expect(fingerprintOf(blob)).toBe(parsed.fingerprint);
    expect(keyTypeOf(blob)).toBe(line.split(' ')[0]);
  });

  it('tells fingerprints from other text', () => {
    expect(isFingerprint('SHA256:' + 'A'.repeat(43))).toBe(true);
    expect(isFingerprint('SHA256:' + 'A'.repeat(43) + '=')).toBe(false);
    expect(isFingerprint('MD5:' + 'A'.repeat(43))).toBe(false);
    expect(isFingerprint('SHA256:' + 'A'.repeat(42))).toBe(false);
  });

  it('refuses corrupt public-key lines', () => {
    const good = readFileSync(keygen('ed25519', 'key_corrupt'), 'utf8').trim();
    const [type, data] = good.split(' ') as [string, string];
    const truncated = Buffer.from(data, 'base64').subarray(0, 3).toString('base64');
    for (const bad of ['', 'ssh-ed25519', `${type} not*base64`, `ssh-rsa ${data}`, `${type} ${truncated}`]) {
      expect(failureOf(parsePublicKeyLine(bad)).code).toBe('E_USAGE');
    }
    expect(keyTypeOf(new Uint8Array([0, 0, 0, 200, 1, 2]))).toBeNull();
    expect(keyTypeOf(new Uint8Array([0, 0]))).toBeNull();
  });
});
