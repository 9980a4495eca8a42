/**
 * What the fleet commands (devices, rollout, rollback, telemetry, fleet) share: the `--store` option
 * (default: WSEP_STORE, else the user's data folder), opening the store for one command, and the
 * small renderers of plan ids, times and accuracies.
 */
import { isAbsolute, resolve } from 'node:path';
import { fail, ok, type Result } from '../../core/errors.ts';
import { resolveStorePath } from '../../fleet/store/paths.ts';
import { openFleetStore, type FleetStore } from '../../fleet/store/store.ts';
import type { OptionSpec, ParsedArgs } from '../args.ts';
import type { CommandContext } from '../command.ts';

export const STORE_OPTION: OptionSpec = {
  name: 'store',
  kind: 'string',
  value: 'path',
  description: 'The fleet store (SQLite); default $WSEP_STORE, else fleet.db in your data folder.',
};

export const JSON_OPTION: OptionSpec = {
  name: 'json',
  kind: 'flag',
  description: 'Print the result as JSON.',
};

export function storePathOf(args: ParsedArgs, ctx: CommandContext): string {
  const flag = args.options['store'];
  if (typeof flag === 'string' && flag !== '' && flag !== ':memory:' && !isAbsolute(flag))
    return resolveStorePath(resolve(ctx.cwd, flag));
  return resolveStorePath(typeof flag === 'string' ? flag : undefined);
}

/** Opens the store for one command and closes it afterwards, whatever `work` returns. */
export async function withStore<T>(
  args: ParsedArgs,
  ctx: CommandContext,
  work: (store: FleetStore) => Promise<Result<T>>,
): Promise<Result<T>> {
  const opened = openFleetStore(storePathOf(args, ctx));
  if (!opened.ok) return opened;
  try {
    return await work(opened.value);
  } finally {
    opened.value.close();
  }
}

export const json = (args: ParsedArgs): boolean => args.options['json'] === true;

export const shortId = (id: string | null | undefined): string => (id ? `${id.slice(0, 12)}…` : '—');

export const percent = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** A whole number option ≥ `min`, or a usage error naming the flag. */
export function wholeOption(args: ParsedArgs, name: string, min: number): Result<number | undefined> {
  const value = args.options[name];
  if (value === undefined) return ok(undefined);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min)
    return fail('E_USAGE', `--${name} must be a whole number ≥ ${min}, got ${String(value)}.`);
  return ok(value);
}

/** Pads the columns of a table (first row: the header). */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
