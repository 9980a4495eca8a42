/** Renders progress events as one status line: "[fisher] mnist 120/256  43%  ETA 0:52". */
import type { ProgressEvent } from '../core/progress.ts';

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0
    ? `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}`
    : `${m}:${String(r).padStart(2, '0')}`;
}

export function formatProgress(e: ProgressEvent): string {
  const parts = [`[${e.stage}]`];
  if (e.task) parts.push(e.task);
  if (e.total !== undefined) parts.push(`${e.step}/${e.total}`);
  parts.push(`${(e.fraction * 100).toFixed(0).padStart(3)}%`);
  if (e.etaSeconds !== undefined) parts.push(`ETA ${formatDuration(e.etaSeconds)}`);
  if (e.message) parts.push(e.message);
  return parts.join('  ');
}
