/**
 * A layer violation on purpose: shared/image must not import shared/separation (nor the CLI). This
 * file is left out of `npm run lint` (eslint.config.js ignores it) and linted by
 * test/layer-rules.test.ts, which expects the layer rule's errors here. Nothing imports it.
 */
import { DEFAULT_PLANNER_OPTIONS } from '../separation/planner.ts';
import type { CommandContext } from '../cli/command.ts';

export const forbidden: [typeof DEFAULT_PLANNER_OPTIONS, CommandContext | undefined] = [
  DEFAULT_PLANNER_OPTIONS,
  undefined,
];
