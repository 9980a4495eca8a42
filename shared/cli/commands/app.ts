/**
 * `wsep app [--port N] [--data-dir D] [--demo-fleet]`: the app in server mode. It serves the built
 * renderer and the app's contract on 127.0.0.1, prints the URL with its token, and runs until Ctrl-C
 * (or SIGTERM), when it cancels running jobs, stops a demo fleet and closes the store.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail, ok } from '../../core/errors.ts';
import { createApiService } from '../../api/service.ts';
import { startAppServer } from '../../api/server.ts';
import { startDemoFleet, type DemoFleet } from '../../fleet/local-devices/demo-fleet.ts';
import { userDataDir } from '../../fleet/store/paths.ts';
import type { Command } from '../command.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** Where `npm run build:renderer` writes the pages. */
export const RENDERER_DIST = join(REPO, 'renderer', 'dist');
/** Telemetry is pulled from provisioned devices this often unless --pull-every says otherwise. */
export const DEFAULT_PULL_EVERY_SECONDS = 30;

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

export const appCommand: Command = {
  name: 'app',
  summary: 'Start the app in server mode: the fleet dashboard in your browser, on 127.0.0.1.',
  usage: 'wsep app [--port N] [--data-dir D] [--demo-fleet] [--pull-every s]',
  description: [
    'Serves the app’s pages and its commands on 127.0.0.1 only, and prints the URL to open; the URL carries a random token, and requests without it, or from another site, are refused.',
    'The data folder holds the fleet store (fleet.db), the plans computed in the app, and your own models and data. --demo-fleet starts two Linux devices and one MCU gateway on loopback (private sshd processes; needs npm run setup:system) and registers them, so a first start has a fleet to roll plans out to.',
  ].join('\n'),
  positionals: { min: 0, max: 0, names: '' },
  options: [
    { name: 'port', kind: 'number', value: 'n', description: 'The port (default: any free one).' },
    {
      name: 'data-dir',
      kind: 'string',
      value: 'dir',
      description: `The app data folder (default ${userDataDir()}).`,
    },
    { name: 'demo-fleet', kind: 'flag', description: 'Start and register the loopback demo devices.' },
    {
      name: 'pull-every',
      kind: 'number',
      value: 's',
      default: DEFAULT_PULL_EVERY_SECONDS,
      description: 'Pull provisioned devices’ telemetry every s seconds (0: only when asked).',
    },
  ],
  async run(args, ctx) {
    const port = args.options['port'] === undefined ? 0 : Number(args.options['port']);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      return fail(
        'E_USAGE',
        `--port must be a whole number from 0 to 65535, got ${String(args.options['port'])}.`,
      );
    const pullEvery = Number(args.options['pull-every'] ?? DEFAULT_PULL_EVERY_SECONDS);
    if (!(pullEvery >= 0)) return fail('E_USAGE', `--pull-every must be a number of seconds ≥ 0.`);
    const given = args.options['data-dir'];
    const dataDir = typeof given === 'string' && given !== '' ? resolve(ctx.cwd, given) : userDataDir();
    const demo = args.options['demo-fleet'] === true;

    const service = createApiService({
      dataDir,
      transport: 'server',
      cwd: ctx.cwd,
      plansDirs: [resolve(ctx.cwd, 'plans')],
      version: packageVersion(),
      demoFleet: demo,
      pullEverySeconds: pullEvery,
    });
    if (!service.ok) return service;
    let fleet: DemoFleet | null = null;
    const stopAll = async () => {
      await service.value.close();
      await fleet?.stop();
    };
    if (demo) {
      ctx.err('Starting the demo fleet (two Linux devices and an MCU gateway on loopback)…');
      const started = await startDemoFleet(service.value.store, join(service.value.dataDir, 'demo-fleet'));
      if (!started.ok) {
        await stopAll();
        return fail(
          started.error.code,
          `The demo fleet did not start: ${started.error.message}`,
          'It needs OpenSSH’s sshd: run npm run setup:system, or start without --demo-fleet.',
        );
      }
      fleet = started.value;
      ctx.err(`Demo devices: ${fleet.devices.map((d) => `${d.spec.name} (${d.spec.kind})`).join(', ')}.`);
    }
    const server = await startAppServer({ service: service.value, port, rendererDir: RENDERER_DIST });
    if (!server.ok) {
      await stopAll();
      return server;
    }
    ctx.out(`WeightSep is running. Open ${server.value.url}`);
    ctx.err(`Data folder: ${service.value.dataDir}. Press Ctrl-C to stop.`);

    // Ctrl-C aborts ctx.signal; SIGTERM (a service manager, a test) ends it the same way.
    await new Promise<void>((done) => {
      const onTerm = () => done();
      process.once('SIGTERM', onTerm);
      if (ctx.signal.aborted) done();
      ctx.signal.addEventListener('abort', () => {
        process.off('SIGTERM', onTerm);
        done();
      });
    });
    ctx.err('Stopping: cancelling running work…');
    await server.value.close();
    await stopAll();
    return ok(0);
  },
};
