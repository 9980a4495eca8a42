/** The shape of a `wsep` sub-command. Commands print through the context, never to process streams. */
import type { Result } from '../core/errors.ts';
import type { ProgressSink } from '../core/progress.ts';
import type { OptionSpec, ParsedArgs } from './args.ts';
import { formatProgress } from './progress-line.ts';

export interface CommandContext {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Free-form status text: redrawn in place on a terminal, an occasional line in a log. */
  readonly status: (text: string) => void;
  /**
   * Progress of long work, shown as `--progress` asks (a redrawn line, log lines, JSON events).
   * Optional so that hand-made contexts (tests) may leave it out; read it through `progressSink(ctx)`.
   */
  readonly progress?: ProgressSink;
  /** Aborted by Ctrl-C; a command that stops on it returns E_CANCELLED (exit code 130). */
  readonly signal: AbortSignal;
  readonly cwd: string;
}

/** Where a command sends its progress events: the context's sink, else its status line as text. */
export function progressSink(ctx: CommandContext): ProgressSink {
  return ctx.progress ?? ((e) => ctx.status(formatProgress(e)));
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
