/**
 * Remote command lines. An SSH `exec` request carries one string that the device's login shell
 * parses, so every argument must reach that shell quoted: device names, tags, plan ids and paths are
 * data, never code. `remoteCommand` is the only place where a remote command string is built.
 */
import { raise } from '../../core/errors.ts';

/** A UTF-16 surrogate without its partner (String.prototype.isWellFormed is ES2024). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * One argument as a POSIX shell word: wrapped in single quotes, inside which nothing is special
 * except `'` itself, written as `'\''` (close, escaped quote, reopen). Throws a `WsepFailure`
 * (E_USAGE) for a NUL character (a C string ends there, so the argument could not arrive intact)
 * and for a lone UTF-16 surrogate (it has no UTF-8 encoding, so the bytes would differ).
 */
export function shellQuote(arg: string): string {
  if (arg.includes('\0')) {
    raise(
      'E_USAGE',
      `A remote command argument contains a NUL character: ${JSON.stringify(arg.slice(0, 80))}.`,
      'Remove the NUL character; no remote program can receive it.',
    );
  }
  if (LONE_SURROGATE.test(arg)) {
    raise(
      'E_USAGE',
      `A remote command argument is not valid Unicode (a lone surrogate): ${JSON.stringify(arg.slice(0, 80))}.`,
      'Pass text that is valid Unicode.',
    );
  }
  // Plain words stay readable in logs and `ps`; anything else is quoted.
  if (/^[A-Za-z0-9_@%+:,./-]+$/.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * The command line for `argv` (program first), each element quoted by `shellQuote`, so the remote
 * program receives exactly `argv`. Throws a `WsepFailure` (E_USAGE) for an empty argv or an argument
 * `shellQuote` refuses.
 */
export function remoteCommand(argv: readonly string[]): string {
  if (argv.length === 0 || argv[0] === '') {
    raise('E_USAGE', 'A remote command needs a program name.', 'Pass argv with the program first.');
  }
  return argv.map(shellQuote).join(' ');
}
