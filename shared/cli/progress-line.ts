/**
 * Progress on stderr in the form chosen with `--progress`: one redrawn status line on a terminal
 * ("[fisher] mnist 120/256  43%  ETA 0:52"), plain lines for logs and CI, or JSON lines for programs.
 */
import { fail, ok, type Result, type WsepError } from '../core/errors.ts';
import type { ProgressEvent, ValidationFigures } from '../core/progress.ts';

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0
    ? `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}`
    : `${m}:${String(r).padStart(2, '0')}`;
}

const percent = (x: number): string => `${(x * 100).toFixed(1)}%`;

/**
 * The short form of an evaluation's validation figures, for a status line or a log line: the mean,
 * the lowest task, how many are below their floors, and the selection criterion (JSON carries them all).
 */
export function formatValidation(v: ValidationFigures): string {
  if (v.tasks.length === 0) return '';
  const mean = v.tasks.reduce((a, t) => a + t.accuracy, 0) / v.tasks.length;
  const lowest = v.tasks.reduce((a, t) => (t.accuracy < a.accuracy ? t : a));
  const below = v.tasks.filter((t) => t.floor !== undefined && t.accuracy < t.floor).length;
  const parts = [`val mean ${percent(mean)}`, `lowest ${lowest.task} ${percent(lowest.accuracy)}`];
  if (below > 0) parts.push(`${below} below floor`);
  return `${parts.join(', ')}; criterion ${percent(v.criterion.value)}${v.best ? ' (best)' : ''}`;
}

export function formatProgress(e: ProgressEvent): string {
  const parts = [`[${e.stage}]`];
  if (e.task) parts.push(e.task);
  if (e.total !== undefined) parts.push(`${e.step}/${e.total}`);
  parts.push(`${(e.fraction * 100).toFixed(0).padStart(3)}%`);
  if (e.etaSeconds !== undefined) parts.push(`ETA ${formatDuration(e.etaSeconds)}`);
  if (e.message) parts.push(e.message);
  if (e.validation) parts.push(formatValidation(e.validation));
  return parts.join('  ');
}

export const PROGRESS_CHOICES = ['auto', 'line', 'lines', 'json', 'none'] as const;
export type ProgressMode = Exclude<(typeof PROGRESS_CHOICES)[number], 'auto'>;

/** `auto` is the redrawn line where stderr is a terminal, and plain lines where it is a file or a pipe. */
export function resolveProgressMode(value: string, stderrIsTty: boolean): Result<ProgressMode> {
  if (value === 'auto') return ok(stderrIsTty ? 'line' : 'lines');
  if ((PROGRESS_CHOICES as readonly string[]).includes(value)) return ok(value as ProgressMode);
  return fail(
    'E_USAGE',
    `--progress must be one of ${PROGRESS_CHOICES.join(', ')}, got "${value}".`,
    'Run "wsep --help" for what each one shows.',
  );
}

/** The `wsep --help` text for --progress, shown with every command's help too. */
export const PROGRESS_HELP = [
  'Global options (any command):',
  '  --progress <mode>  How progress is shown on stderr (default: auto):',
  '                       auto   a redrawn line on a terminal, otherwise lines',
  '                       line   one status line, redrawn in place',
  '                       lines  a plain line at each stage change and about every 5% of the job, with the ETA',
  '                       json   every stderr line is one JSON object: {"type":"progress",...} events, and',
  '                              last {"type":"result","exitCode":0} or {"type":"error","exitCode":n,"code",...}',
  '                       none   no progress',
].join('\n');

/** Share of the whole job between two `lines` progress lines within one stage. */
export const LINES_STEP = 0.05;

/**
 * Picks the events worth a line of their own in a log: every stage change, each time the whole job
 * passes another `step` of its fraction, and every evaluation's validation figures (a few dozen per
 * plan: the figures a user watches during the long stage). Events arrive hundreds of times per job.
 */
export class LinesThrottle {
  private stage: string | undefined;
  private bucket = -1;

  constructor(private readonly step: number = LINES_STEP) {}

  accept(e: ProgressEvent): boolean {
    // The small epsilon keeps 0.15 (0.1499999… in binary) in the bucket a reader expects.
    const bucket = Math.floor(Math.max(0, e.fraction) / this.step + 1e-9);
    if (e.stage === this.stage && bucket <= this.bucket && !e.validation) return false;
    this.stage = e.stage;
    this.bucket = bucket;
    return true;
  }
}

/** Free-form status text in `lines` mode: at most one line this often, so a chatty caller cannot flood a log. */
export const STATUS_LINE_MS = 1000;

export interface StderrWriters {
  /** Writes one whole line. */
  readonly line: (text: string) => void;
  /** Redraws the one status line in place (a terminal); '' clears it. */
  readonly redraw?: (text: string) => void;
}

/** Everything `wsep` writes to stderr, in the chosen mode. */
export interface StderrOutput {
  readonly mode: ProgressMode;
  progress(e: ProgressEvent): void;
  /** Free-form status text (older commands' progress, or a note such as "loading…"). */
  status(text: string): void;
  /** A message for the user that is not an error (e.g. the plan's summary line). */
  note(text: string): void;
  /** The run's last word: the error (or "cancelled"), and in json mode the result event. */
  finish(exitCode: number, error?: WsepError, command?: string): void;
}

export function formatError(error: WsepError): string {
  return `error: ${error.message}${error.hint ? `\n  hint: ${error.hint}` : ''}`;
}

function jsonLine(fields: Record<string, unknown>): string {
  try {
    return JSON.stringify(fields);
  } catch {
    // details that JSON cannot hold (a BigInt, a cycle) must not cost the program its error event.
    const { details: _details, ...rest } = fields;
    return JSON.stringify(rest);
  }
}

export function createStderrOutput(
  mode: ProgressMode,
  writers: StderrWriters,
  now: () => number = () => Date.now(),
): StderrOutput {
  const { line, redraw } = writers;
  const drawn = mode === 'line' && redraw !== undefined;
  const throttle = new LinesThrottle();
  // The redrawn line keeps showing the stage's latest validation figures between evaluations.
  let shown: ProgressEvent | undefined;
  const withValidation = (e: ProgressEvent): ProgressEvent => {
    if (e.validation || shown?.stage !== e.stage) shown = e.validation ? e : undefined;
    return shown && !e.validation ? { ...e, validation: shown.validation! } : e;
  };
  let lastStatus = '';
  let lastStatusAt = -Infinity;
  return {
    mode,
    progress(e) {
      if (mode === 'none') return;
      if (mode === 'json') line(jsonLine({ type: 'progress', ...e }));
      else if (drawn) redraw(formatProgress(withValidation(e)));
      else if (throttle.accept(e)) line(formatProgress(e));
    },
    status(text) {
      if (mode === 'none') return;
      if (drawn) return redraw(text);
      if (text === '') return;
      if (mode === 'json') return line(jsonLine({ type: 'status', message: text }));
      const t = now();
      if (text === lastStatus || t - lastStatusAt < STATUS_LINE_MS) return;
      lastStatus = text;
      lastStatusAt = t;
      line(text);
    },
    note(text) {
      if (drawn) redraw('');
      line(mode === 'json' ? jsonLine({ type: 'log', message: text }) : text);
    },
    finish(exitCode, error, command) {
      if (drawn) redraw('');
      if (mode === 'json') {
        if (!error) return line(jsonLine({ type: 'result', exitCode }));
        return line(jsonLine({ type: 'error', exitCode, ...error }));
      }
      if (!error) return;
      if (error.code === 'E_CANCELLED') line(command ? `wsep ${command}: cancelled.` : 'cancelled.');
      else line(formatError(error));
    },
  };
}
