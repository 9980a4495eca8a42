#!/usr/bin/env node
// The engine is TypeScript run through tsx, so the CLI, the app, workers and tests share one source.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../shared/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
