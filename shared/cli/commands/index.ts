import type { Command } from '../command.ts';
import { bundleCommand } from './bundle.ts';
import { inspectCommand } from './inspect.ts';
import { planCommand } from './plan.ts';
import { trainCommand } from './train.ts';
import { zooCommand } from './zoo.ts';

/** Every `wsep` sub-command, in the order `wsep --help` lists them. */
export const COMMANDS: readonly Command[] = [
  inspectCommand,
  trainCommand,
  planCommand,
  bundleCommand,
  zooCommand,
];
