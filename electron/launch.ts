/**
 * `npm start`: the Electron window when Electron's binary is installed, else the server mode
 * (`wsep app`, with the demo fleet where OpenSSH's sshd is installed: `npm run setup:system`). The
 * renderer (and the preload, for Electron) are built first when missing. Arguments after `--` go to
 * `wsep app` (e.g. `npm start -- --port 8080`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function build(script: string, output: string): void {
  if (existsSync(join(REPO, output))) return;
  const ran = spawnSync(NPM, ['run', script], { cwd: REPO, stdio: 'inherit' });
  if (ran.status !== 0) process.exit(ran.status ?? 1);
}

/** The Electron binary's path, or null when the package was installed without it. */
function electronBinary(): string | null {
  try {
    // The package's main answers the binary's path, and throws when it was never downloaded.
    const path = createRequire(import.meta.url)('electron') as unknown;
    return typeof path === 'string' && existsSync(path) ? path : null;
  } catch {
    return null;
  }
}

build('build:renderer', 'renderer/dist/index.html');
const electron = electronBinary();
let child;
if (electron) {
  build('build:electron', 'electron/dist/preload.cjs');
  child = spawn(electron, [REPO], { cwd: REPO, stdio: 'inherit' });
} else {
  const demo = existsSync('/usr/sbin/sshd') ? ['--demo-fleet'] : [];
  console.error('Electron is not installed here: starting the server mode (see README, "The app").');
  child = spawn(process.execPath, [join(REPO, 'bin', 'wsep.js'), 'app', ...demo, ...process.argv.slice(2)], {
    cwd: REPO,
    stdio: 'inherit',
  });
}
// Ctrl-C reaches the child from the terminal; a SIGTERM sent to npm start is passed on.
process.on('SIGTERM', () => child.kill('SIGTERM'));
process.on('SIGINT', () => undefined);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
