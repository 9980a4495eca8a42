/**
 * A strict argument parser for `wsep`: declared options only, typed values, clear errors.
 * Unknown flags and missing values are usage errors, never silently ignored.
 */
import { fail, ok, type Result } from '../core/errors.ts';

export interface OptionSpec {
  /** Long name without dashes, e.g. 'l1'. */
  readonly name: string;
  readonly short?: string;
  /** 'strings': a string that may be given more than once; its value is every one, in order. */
  readonly kind: 'flag' | 'string' | 'number' | 'strings';
  readonly description: string;
  /** Shown in help as the value's placeholder. */
  readonly value?: string;
  readonly default?: string | number | boolean;
  /**
   * The option this former name was renamed to: accepted so that old scripts still run, parsed as
   * that option (its value lands under that name), and left out of --help.
   */
  readonly aliasOf?: string;
}

export type OptionValue = string | number | boolean | readonly string[] | undefined;

export interface ParsedArgs {
  readonly positionals: readonly string[];
  readonly options: Readonly<Record<string, OptionValue>>;
}

export function parseArgs(
  argv: readonly string[],
  specs: readonly OptionSpec[],
  command: string,
): Result<ParsedArgs> {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  const options: Record<string, OptionValue> = {};
  for (const s of specs) if (s.default !== undefined) options[s.name] = s.default;
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    } else {
      const spec = byShort.get(arg.slice(1));
      if (!spec) return usage(command, `unknown option ${arg}`);
      name = spec.name;
    }
    const spec = byName.get(name);
    if (!spec) return usage(command, `unknown option --${name}`);
    // A former name sets the option it was renamed to.
    const key = spec.aliasOf ?? spec.name;
    if (spec.kind === 'flag') {
      if (inline !== undefined) return usage(command, `--${name} takes no value`);
      options[key] = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) {
      return usage(command, `--${name} needs a value${spec.value ? ` (${spec.value})` : ''}`);
    }
    if (spec.kind === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n)) return usage(command, `--${name} must be a number, got "${value}"`);
      options[key] = n;
    } else if (spec.kind === 'strings') {
      const before = options[key];
      options[key] = [...(Array.isArray(before) ? (before as readonly string[]) : []), value];
    } else {
      options[key] = value;
    }
  }
  return ok({ positionals, options });
}

function usage(command: string, what: string): Result<never> {
  return fail('E_USAGE', `wsep ${command}: ${what}.`, `Run "wsep ${command} --help" for the options.`);
}

export function formatOptions(specs: readonly OptionSpec[]): string {
  const rows = specs
    .filter((s) => s.aliasOf === undefined)
    .map((s) => {
      const placeholder =
        s.kind === 'flag' ? '' : ` <${s.value ?? (s.kind === 'strings' ? 'string' : s.kind)}>`;
      const left = `${s.short ? `-${s.short}, ` : '    '}--${s.name}${placeholder}${s.kind === 'strings' ? ' …' : ''}`;
      const def = s.default !== undefined && s.kind !== 'flag' ? ` (default: ${s.default})` : '';
      return [left, `${s.description}${def}`] as const;
    });
  const width = Math.max(0, ...rows.map(([l]) => l.length)) + 2;
  return rows.map(([l, r]) => `  ${l.padEnd(width)}${r}`).join('\n');
}
