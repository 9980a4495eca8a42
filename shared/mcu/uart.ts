/**
 * The firmware's UART output, parsed. Every line is `<kind> [<name>] key=value ...` (README.md,
 * "Output"); `pred` lines list one predicted class per sample and `logits` lines the f32 bits of the
 * logits in hex.
 */
import { fail, ok, type Result } from '../core/errors.ts';

export interface UartTask {
  readonly name: string;
  readonly n: number;
  readonly correct: number;
  readonly accuracy: number;
  readonly insnPerInference: number;
  readonly l2BytesPerSwitch: number;
  readonly macs: number;
  readonly predictions: readonly number[];
  /** Sample index → logits, for the samples the export asked to print. */
  readonly logits: ReadonlyMap<number, Float32Array>;
}

export interface UartReport {
  readonly board: string;
  readonly weights: string;
  readonly memory: {
    readonly fram: Readonly<Record<string, number>>;
    readonly l2: Readonly<Record<string, number>>;
  };
  readonly tasks: readonly UartTask[];
  readonly done?: Readonly<Record<string, number>>;
  /** The firmware's `error` line, when it printed one. */
  readonly error?: string;
}

function pairs(words: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq > 0) out[w.slice(0, eq)] = w.slice(eq + 1);
  }
  return out;
}

/** The numeric pairs of a line (a word such as `values=i8` is not a number and is left out). */
const numbers = (o: Record<string, string>): Record<string, number> =>
  Object.fromEntries(
    Object.entries(o)
      .map(([k, v]) => [k, v.startsWith('0x') ? Number.parseInt(v, 16) : Number(v)] as const)
      .filter(([, v]) => Number.isFinite(v)),
  );

export function parseUart(text: string): Result<UartReport> {
  let board = '';
  let weights = '';
  let error: string | undefined;
  let done: Record<string, number> | undefined;
  const memory: { fram: Record<string, number>; l2: Record<string, number> } = { fram: {}, l2: {} };
  const predictions = new Map<string, number[]>();
  const logits = new Map<string, Map<number, Float32Array>>();
  const tasks: UartTask[] = [];
  for (const line of text.split(/\r?\n/)) {
    const words = line.trim().split(/\s+/);
    const [kind, name = ''] = words;
    switch (kind) {
      case 'wsep-mcu': {
        const p = pairs(words);
        board = p['board'] ?? '';
        weights = p['weights'] ?? '';
        break;
      }
      case 'mem':
        if (name === 'fram' || name === 'l2') memory[name] = numbers(pairs(words.slice(2)));
        break;
      case 'pred':
        predictions.set(name, words.slice(2).map(Number));
        break;
      case 'logits': {
        const p = pairs(words.slice(2, 3));
        const values = words.slice(3).map((h) => {
          const v = new DataView(new ArrayBuffer(4));
          v.setUint32(0, Number.parseInt(h, 16));
          return v.getFloat32(0);
        });
        if (!logits.has(name)) logits.set(name, new Map());
        logits.get(name)!.set(Number(p['i']), Float32Array.from(values));
        break;
      }
      case 'task': {
        const p = numbers(pairs(words.slice(2)));
        tasks.push({
          name,
          n: p['n'] ?? 0,
          correct: p['correct'] ?? 0,
          accuracy: p['acc'] ?? 0,
          insnPerInference: p['insn_per_inf'] ?? 0,
          l2BytesPerSwitch: p['l2_bytes_per_switch'] ?? 0,
          macs: p['macs'] ?? 0,
          predictions: predictions.get(name) ?? [],
          logits: logits.get(name) ?? new Map(),
        });
        break;
      }
      case 'done':
        done = numbers(pairs(words.slice(1)));
        break;
      case 'error':
        error = line.trim().slice('error '.length);
        break;
      default:
        break;
    }
  }
  if (!board && !error)
    return fail('E_MCU_FIRMWARE', 'The firmware printed no header line: it did not start.');
  for (const t of tasks)
    if (t.predictions.length !== t.n)
      return fail(
        'E_MCU_FIRMWARE',
        `The firmware printed ${t.predictions.length} predictions for task "${t.name}", not ${t.n}.`,
      );
  return ok({
    board,
    weights,
    memory,
    tasks,
    ...(done ? { done } : {}),
    ...(error !== undefined ? { error } : {}),
  });
}
