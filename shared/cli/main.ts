/**
 * The `wsep` entry point: dispatches sub-commands, prints errors as one clear message (never a stack
 * trace), and maps results to exit codes (0 ok, 1 failure, 2 usage, 130 cancelled by Ctrl-C).
 */
import { fail, makeError, ok, toError, type Result, type WsepError } from '../core/errors.ts';
import { HELP_OPTION, type Command, type CommandContext } from './command.ts';
import { formatOptions, parseArgs } from './args.ts';
import { COMMANDS } from './commands/index.ts';
import {
  createStderrOutput,
  formatError,
  PROGRESS_HELP,
  resolveProgressMode,
  type StderrOutput,
} from './progress-line.ts';

export { formatError };

export interface MainIo {
  readonly out: (text: string) => void;
  /** Writes one line to stderr. */
  readonly err: (text: string) => void;
  /** Redraws a one-line status in place on stderr ('' clears it); without it progress comes as lines. */
  readonly status?: (text: string) => void;
  /** Whether stderr is a terminal: `--progress auto` draws a line there, and writes lines elsewhere. */
  readonly tty?: boolean;
  readonly signal?: AbortSignal;
  readonly cwd?: string;
  /** Receives what to write last if a second Ctrl-C ends the process before the command returns. */
  readonly onForcedExit?: (writeLast: () => void) => void;
}

const VERSION = '0.1.0';

/** The conventional exit status of a program stopped by SIGINT (128 + 2). */
export const EXIT_CANCELLED = 130;

function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    'wsep — weight separation for running many DNNs in small device memory',
    '',
    'Usage: wsep <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    PROGRESS_HELP,
    '',
    'Run "wsep <command> --help" for a command’s options.',
  ].join('\n');
}

function commandHelp(c: Command): string {
  const parts = [`Usage: ${c.usage}`, '', c.summary];
  if (c.description) parts.push('', c.description);
  parts.push('', 'Options:', formatOptions([...c.options, HELP_OPTION]), '', PROGRESS_HELP);
  return parts.join('\n');
}

/**
 * Takes `--progress <mode>` (or `--progress=<mode>`) out of argv wherever it stands before `--`, so
 * that every command accepts it without declaring it.
 */
export function takeGlobalOptions(
  argv: readonly string[],
): Result<{ argv: readonly string[]; progress: string }> {
  const rest: string[] = [];
  let progress = 'auto';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (arg.startsWith('--progress=')) {
      progress = arg.slice('--progress='.length);
    } else if (arg === '--progress') {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('-'))
        return fail('E_USAGE', '--progress needs a value (auto, line, lines, json or none).');
      progress = value;
      i++;
    } else {
      rest.push(arg);
    }
  }
  return ok({ argv: rest, progress });
}

export function exitCodeFor(error: WsepError): number {
  if (error.code === 'E_USAGE') return 2;
  if (error.code === 'E_CANCELLED') return EXIT_CANCELLED;
  return 1;
}

interface Outcome {
  readonly code: number;
  readonly error?: WsepError;
  readonly command?: string;
}

function failed(error: WsepError, command?: string): Outcome {
  return { code: exitCodeFor(error), error, ...(command ? { command } : {}) };
}

export async function main(argv: readonly string[], io: MainIo = defaultIo()): Promise<number> {
  const globals = takeGlobalOptions(argv);
  if (!globals.ok) {
    io.err(formatError(globals.error));
    return 2;
  }
  const mode = resolveProgressMode(globals.value.progress, io.tty === true);
  if (!mode.ok) {
    io.err(formatError(mode.error));
    return 2;
  }
  const stderr = createStderrOutput(mode.value, {
    line: io.err,
    ...(io.status ? { redraw: io.status } : {}),
  });
  const signal = io.signal ?? new AbortController().signal;
  io.onForcedExit?.(() =>
    stderr.finish(
      EXIT_CANCELLED,
      makeError('E_CANCELLED', 'Stopped by a second Ctrl-C.'),
      globals.value.argv[0],
    ),
  );
  const outcome = await dispatch(globals.value.argv, io, stderr, signal);
  stderr.finish(outcome.code, outcome.error, outcome.command);
  return outcome.code;
}

async function dispatch(
  argv: readonly string[],
  io: MainIo,
  stderr: StderrOutput,
  signal: AbortSignal,
): Promise<Outcome> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(topHelp());
    return { code: name === undefined ? 2 : 0 };
  }
  if (name === '--version' || name === '-V') {
    io.out(VERSION);
    return { code: 0 };
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    return failed(
      makeError('E_USAGE', `unknown command "${name}".`, 'Run "wsep --help" for the list of commands.'),
    );
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(commandHelp(command));
    return { code: 0 };
  }
  const parsed = parseArgs(rest, command.options, command.name);
  if (!parsed.ok) return failed(parsed.error);
  const count = parsed.value.positionals.length;
  if (count < command.positionals.min || count > command.positionals.max) {
    const expected = command.positionals.names || 'no arguments';
    return failed(
      makeError(
        'E_USAGE',
        `wsep ${command.name} expects ${expected}, got ${count} argument(s).`,
        `usage: ${command.usage}`,
      ),
    );
  }
  const ctx: CommandContext = {
    out: io.out,
    err: (t) => stderr.note(t),
    status: (t) => stderr.status(t),
    progress: (e) => stderr.progress(e),
    signal,
    cwd: io.cwd ?? process.cwd(),
  };
  let error: WsepError;
  try {
    const result = await command.run(parsed.value, ctx);
    if (result.ok) return { code: result.value, command: command.name };
    error = result.error;
  } catch (thrown) {
    error = toError(thrown);
  }
  // After Ctrl-C, whatever the interrupted work failed with (a closed worker, a half-read file) is
  // the cancellation's doing, and the user asked for it.
  if (signal.aborted && error.code !== 'E_CANCELLED' && error.code !== 'E_USAGE') {
    error = makeError('E_CANCELLED', 'The operation was cancelled.', undefined, { cause: error });
  }
  return failed(error, command.name);
}

/** Ctrl-C asks the running command to stop (it returns E_CANCELLED); a second Ctrl-C quits at once. */
export function interruptHandler(controller: AbortController, quit: () => void): () => void {
  return () => {
    if (controller.signal.aborted) quit();
    else controller.abort();
  };
}

function defaultIo(): MainIo {
  const tty = process.stderr.isTTY === true;
  const controller = new AbortController();
  let writeLast: () => void = () => {};
  process.on(
    'SIGINT',
    interruptHandler(controller, () => {
      writeLast();
      process.exit(EXIT_CANCELLED);
    }),
  );
  let statusShown = false;
  const clearStatus = () => {
    if (statusShown) process.stderr.write('\r\x1b[2K');
    statusShown = false;
  };
  return {
    out: (t) => {
      clearStatus();
      process.stdout.write(`${t}\n`);
    },
    err: (t) => {
      clearStatus();
      process.stderr.write(`${t}\n`);
    },
    status: (t) => {
      if (t === '') return clearStatus();
      // A pseudo-terminal may report 0 columns; one character short of the width avoids a wrap.
      const width = process.stderr.columns || 100;
      process.stderr.write(`\r\x1b[2K${t.slice(0, width - 1)}`);
      statusShown = true;
    },
    tty,
    signal: controller.signal,
    onForcedExit: (write) => {
      writeLast = write;
    },
  };
}
