import type { Command } from '../command.ts';
import { bundleCommand } from './bundle.ts';
import { dataCommand } from './data.ts';
import { evalCommand } from './eval.ts';
import { inspectCommand } from './inspect.ts';
import { modelCommand } from './model.ts';
import { planCommand } from './plan.ts';
import { runCommand } from './run.ts';
import { trainCommand } from './train.ts';
import { zooCommand } from './zoo.ts';

/** Every `wsep` sub-command, in the order `wsep --help` lists them. */
export const COMMANDS: readonly Command[] = [
  inspectCommand,
  modelCommand,
  dataCommand,
  trainCommand,
  planCommand,
  bundleCommand,
  evalCommand,
  runCommand,
  zooCommand,
];
