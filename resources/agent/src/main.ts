/**
 * Entry point of `wsep-agent` (built into one file, resources/agent/dist/wsep-agent.mjs). With --json,
 * stdout must be exactly the one reply line the app parses, so anything a library prints through the
 * console goes to stderr instead.
 */
import { runAgent } from './cli.ts';

const argv = process.argv.slice(2);
if (argv.includes('--json')) {
  const toStderr = (...parts: unknown[]): void => {
    process.stderr.write(`${parts.map(String).join(' ')}\n`);
  };
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
}

const out = await runAgent(argv);
if (out.stderr) process.stderr.write(out.stderr);
// Exit only once stdout has been handed to the OS (a pipe to ssh may be slow to drain).
process.stdout.write(out.stdout, () => process.exit(out.exitCode));
