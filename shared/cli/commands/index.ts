import type { Command } from '../command.ts';
import { inspectCommand } from './inspect.ts';

/** Every `wsep` sub-command, in the order `wsep --help` lists them. */
export const COMMANDS: readonly Command[] = [inspectCommand];
