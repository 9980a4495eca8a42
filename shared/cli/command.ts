/** The shape of a `wsep` sub-command. Commands print through the context, never to process streams. */
import type { Result } from '../core/errors.ts';
import type { OptionSpec, ParsedArgs } from './args.ts';

export interface CommandContext {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Redraws a one-line status (progress); a no-op when the output is not a terminal. */
  readonly status: (text: string) => void;
  readonly signal: AbortSignal;
  readonly cwd: string;
}

export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** e.g. 'wsep inspect <model.onnx> [--json]'. */
  readonly usage: string;
  /** Paragraphs shown by --help after the usage line. */
  readonly description?: string;
  readonly options: readonly OptionSpec[];
  /** Number of required positionals, and the most accepted (Infinity for any). */
  readonly positionals: { readonly min: number; readonly max: number; readonly names: string };
  /** Resolves to the exit code, or an error to print. */
  run(args: ParsedArgs, ctx: CommandContext): Promise<Result<number>>;
}

/** Options every command accepts. */
export const HELP_OPTION: OptionSpec = {
  name: 'help',
  short: 'h',
  kind: 'flag',
  description: 'Show this help.',
};
