import type { Command } from '../command.ts';
import { appCommand } from './app.ts';
import { bundleCommand } from './bundle.ts';
import { dataCommand } from './data.ts';
import { devicesCommand } from './devices.ts';
import { evalCommand } from './eval.ts';
import { fleetCommand } from './fleet.ts';
import { inspectCommand } from './inspect.ts';
import { mcuCommand } from './mcu.ts';
import { modelCommand } from './model.ts';
import { planCommand } from './plan.ts';
import { rollbackCommand } from './rollback.ts';
import { rolloutCommand } from './rollout.ts';
import { runCommand } from './run.ts';
import { telemetryCommand } from './telemetry.ts';
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
  devicesCommand,
  rolloutCommand,
  rollbackCommand,
  telemetryCommand,
  fleetCommand,
  mcuCommand,
  appCommand,
];
