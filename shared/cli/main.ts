/**
 * The `wsep` entry point: dispatches sub-commands, prints errors as one clear message (never a stack
 * trace), and maps results to exit codes (0 ok, 1 failure, 2 usage).
 */
import { toError, type WsepError } from '../core/errors.ts';
import { HELP_OPTION, type Command, type CommandContext } from './command.ts';
import { formatOptions, parseArgs } from './args.ts';
import { COMMANDS } from './commands/index.ts';

export interface MainIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly status?: (text: string) => void;
  readonly signal?: AbortSignal;
  readonly cwd?: string;
}

const VERSION = '0.1.0';

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
    'Run "wsep <command> --help" for a command’s options.',
  ].join('\n');
}

function commandHelp(c: Command): string {
  const parts = [`Usage: ${c.usage}`, '', c.summary];
  if (c.description) parts.push('', c.description);
  parts.push('', 'Options:', formatOptions([...c.options, HELP_OPTION]));
  return parts.join('\n');
}

export function formatError(error: WsepError): string {
  return `error: ${error.message}${error.hint ? `\n  hint: ${error.hint}` : ''}`;
}

export async function main(argv: readonly string[], io: MainIo = defaultIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(topHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    io.out(VERSION);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.err(`error: unknown command "${name}".\n  hint: run "wsep --help" for the list of commands.`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(commandHelp(command));
    return 0;
  }
  const parsed = parseArgs(rest, command.options, command.name);
  if (!parsed.ok) {
    io.err(formatError(parsed.error));
    return 2;
  }
  const count = parsed.value.positionals.length;
  if (count < command.positionals.min || count > command.positionals.max) {
    const expected = command.positionals.names || 'no arguments';
    io.err(
      `error: wsep ${command.name} expects ${expected}, got ${count} argument(s).\n  hint: usage: ${command.usage}`,
    );
    return 2;
  }
  const ctx: CommandContext = {
    out: io.out,
    err: io.err,
    status: io.status ?? (() => {}),
    signal: io.signal ?? new AbortController().signal,
    cwd: io.cwd ?? process.cwd(),
  };
  try {
    const result = await command.run(parsed.value, ctx);
    if (result.ok) return result.value;
    io.err(formatError(result.error));
    return result.error.code === 'E_USAGE' ? 2 : 1;
  } catch (thrown) {
    io.err(formatError(toError(thrown)));
    return 1;
  }
}

function defaultIo(): MainIo {
  const tty = process.stderr.isTTY === true;
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
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
      if (!tty) return;
      const width = process.stderr.columns ?? 100;
      process.stderr.write(`\r\x1b[2K${t.slice(0, width - 1)}`);
      statusShown = true;
    },
    signal: controller.signal,
  };
}
