/**
 * Runs one command in-process for tests, the way main() would after parsing: the command's own
 * options, a fresh context in `cwd`, and what it printed. Usage errors map to exit 2, others to 1.
 */
import type { Result } from '../core/errors.ts';
import { parseArgs } from './args.ts';
import type { Command, CommandContext } from './command.ts';

export interface CommandRun {
  readonly result: Result<number>;
  /** Exit code as main() would return it. */
  readonly code: number;
  readonly out: string;
  readonly err: string;
  readonly status: readonly string[];
  readonly error?: string;
  readonly hint?: string;
}

export async function runCommandInProcess(
  command: Command,
  argv: readonly string[],
  cwd: string,
  signal: AbortSignal = new AbortController().signal,
): Promise<CommandRun> {
  const out: string[] = [];
  const err: string[] = [];
  const status: string[] = [];
  const ctx: CommandContext = {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    status: (t) => status.push(t),
    signal,
    cwd,
  };
  const parsed = parseArgs(argv, command.options, command.name);
  if (!parsed.ok) throw new Error(parsed.error.message);
  const result = await command.run(parsed.value, ctx);
  const printed = { out: out.join('\n'), err: err.join('\n'), status };
  if (result.ok) return { result, code: result.value, ...printed };
  const { code, message, hint } = result.error;
  return {
    result,
    code: code === 'E_USAGE' ? 2 : 1,
    ...printed,
    error: message,
    ...(hint !== undefined ? { hint } : {}),
  };
}
