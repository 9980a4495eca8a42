/**
 * An MCU gateway's figures as its latest telemetry holds them (protocol.ts: `mcu` on task and device
 * records): the memory map the firmware printed, and per task the instructions per inference and the
 * level-2 bytes per switch. For `wsep devices show` and `wsep fleet status`.
 */
import { formatBytes } from '../core/units.ts';
import type { TelemetrySummary } from './store/types.ts';

export interface McuFigures {
  readonly framUsedBytes: number;
  readonly framBudgetBytes: number;
  readonly l2UsedBytes: number;
  readonly l2BudgetBytes: number;
  readonly tasks: readonly {
    readonly model: string;
    readonly insnPerInference: number;
    readonly l2BytesPerSwitch: number;
  }[];
}

const num = (o: unknown, key: string): number | undefined => {
  const v = (o as Record<string, unknown> | null | undefined)?.[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
};

/** The figures, or null when the device sent no MCU telemetry (a Linux device, or none pulled yet). */
export function mcuFigures(summary: TelemetrySummary): McuFigures | null {
  const memory = summary.latestDevice?.fields['mcu'];
  const framUsedBytes = num(memory, 'framUsedBytes');
  const framBudgetBytes = num(memory, 'framBudgetBytes');
  const l2UsedBytes = num(memory, 'l2UsedBytes');
  const l2BudgetBytes = num(memory, 'l2BudgetBytes');
  if (
    framUsedBytes === undefined ||
    framBudgetBytes === undefined ||
    l2UsedBytes === undefined ||
    l2BudgetBytes === undefined
  )
    return null;
  const tasks = summary.latestTasks.flatMap((t) => {
    const insn = num(t.fields['mcu'], 'insnPerInference');
    const l2 = num(t.fields['mcu'], 'l2BytesPerSwitch');
    return t.model !== null && insn !== undefined && l2 !== undefined
      ? [{ model: t.model, insnPerInference: insn, l2BytesPerSwitch: l2 }]
      : [];
  });
  return { framUsedBytes, framBudgetBytes, l2UsedBytes, l2BudgetBytes, tasks };
}

/** One line for a person: the memory map and the range of per-task figures. */
export function describeMcuFigures(f: McuFigures): string {
  const range = (values: number[], fmt: (v: number) => string): string =>
    values.length === 0
      ? '—'
      : Math.min(...values) === Math.max(...values)
        ? fmt(values[0]!)
        : `${fmt(Math.min(...values))}–${fmt(Math.max(...values))}`;
  return [
    `FRAM ${formatBytes(f.framUsedBytes)} of ${formatBytes(f.framBudgetBytes)}`,
    `flash ${formatBytes(f.l2UsedBytes)} of ${formatBytes(f.l2BudgetBytes)}`,
    `${range(
      f.tasks.map((t) => t.insnPerInference),
      (v) => v.toLocaleString('en'),
    )} instructions per inference`,
    `${range(
      f.tasks.map((t) => t.l2BytesPerSwitch),
      formatBytes,
    )} from flash per switch (${f.tasks.length} tasks)`,
  ].join(', ');
}
