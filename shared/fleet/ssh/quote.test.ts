import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WsepFailure } from '../../core/errors.ts';
import { remoteCommand, shellQuote } from './quote.ts';

/** Runs the command line as an SSH server would (`<shell> -c <line>`) and returns printf's NUL-separated words. */
function echoedBy(shell: string, args: readonly string[]): string[] {
  const line = remoteCommand(['printf', '%s\\0', ...args]);
  const out = execFileSync(shell, ['-c', line], { encoding: 'utf8' });
  const words = out.split('\0');
  expect(words.pop()).toBe('');
  return words;
}

const NASTY = [
  `'`,
  `"`,
  '$HOME',
  '$(touch /tmp/wsep-pwned)',
  '`id`',
  ';',
  '|',
  '&&',
  '<',
  '>',
  '*',
  '?',
  '(',
  ')',
  '{a,b}',
  '[x]',
  '!',
  '#',
  '~',
  '~root',
  '\\',
  '\\n',
  'two\nlines',
  ' leading and trailing ',
  '\t',
  'héllo wörld ✓ 🚀',
  '-n',
  '--root=/x',
  '',
  'it\'s "quoted" $x `y`',
  "''",
  "'\\''",
  'a=b',
  '%s',
];

const SHELLS = ['/bin/sh', '/bin/bash', '/bin/dash'].filter((shell) => existsSync(shell));

describe('shellQuote', () => {
  it('leaves plain words readable and quotes everything else', () => {
    expect(shellQuote('wsep-agent.mjs')).toBe('wsep-agent.mjs');
    expect(shellQuote('/opt/wsep/bin')).toBe('/opt/wsep/bin');
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote('')).toBe("''");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    // `=` would make a first word an environment assignment, `~` a home folder.
    expect(shellQuote('A=b')).toBe("'A=b'");
    expect(shellQuote('~')).toBe("'~'");
  });

  it('refuses NUL and lone surrogates, which cannot reach a remote program intact', () => {
    for (const bad of ['a\0b', '\uD800', 'x\uDC00y']) {
      expect(() => shellQuote(bad)).toThrow(WsepFailure);
      try {
        shellQuote(bad);
      } catch (thrown) {
        expect((thrown as WsepFailure).error.code).toBe('E_USAGE');
      }
    }
    expect(shellQuote('🚀')).toBe("'🚀'");
  });
});

describe('remoteCommand', () => {
  it('refuses an empty argv or an empty program', () => {
    expect(() => remoteCommand([])).toThrow(/program/);
    expect(() => remoteCommand(['', 'x'])).toThrow(/program/);
  });

  it.each(SHELLS)('every argument survives %s -c intact', (shell) => {
    expect(echoedBy(shell, NASTY)).toEqual(NASTY);
  });

  it('random strings of shell metacharacters survive /bin/sh -c intact (fuzz, seeded)', () => {
    const alphabet = [...`'"$\`;|&<>*?(){}[]!#~\\ \n\t=%-.,:/@^+ab0é✓🚀`];
    let seed = 0x5eed;
    const random = (n: number): number => {
      // xorshift32: the same cases on every run, so a failure can be reproduced.
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    for (let round = 0; round < 8; round += 1) {
      const args = Array.from({ length: 40 }, () =>
        Array.from({ length: random(12) }, () => alphabet[random(alphabet.length)]).join(''),
      );
      expect(echoedBy('/bin/sh', args)).toEqual(args);
    }
  });

  it('a quoted program name runs that program, never an assignment or an expansion', () => {
    const out = execFileSync('/bin/sh', ['-c', remoteCommand(['echo', '$(echo pwned)', ';', 'id'])], {
      encoding: 'utf8',
    });
    expect(out).toBe('$(echo pwned) ; id\n');
    expect(() =>
      execFileSync('/bin/sh', ['-c', remoteCommand(['A=b', 'true'])], { stdio: 'pipe' }),
    ).toThrow();
  });
});
