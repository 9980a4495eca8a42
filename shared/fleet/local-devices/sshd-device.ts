/**
 * Real Linux "devices" on this machine: each one is a private OpenSSH sshd with its own config, host
 * key, loopback address (127.0.0.x), high port and disk folder. The tests' device harness
 * (test/devices re-exports it) and the app's demo fleet (`wsep app --demo-fleet`) are made of them.
 * Nothing here touches the system sshd or port 22, and every process started is stopped by its pid.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { SshTarget } from '../ssh/connection.ts';
import { makeClientKey, type ClientKey } from './client-key.ts';

export const SSHD = '/usr/sbin/sshd';
export const SSH_KEYGEN = '/usr/bin/ssh-keygen';

export interface SshDeviceOptions {
  /** A loopback address of its own, e.g. 127.0.0.2 (all of 127/8 is loopback on Linux). */
  readonly address: string;
  /** The device's folder: ssh/ (config, host key, pid file, authorized_keys) and root/ (its disk). */
  readonly dir: string;
  /** The app's key, allowed to log in; one per test run is enough (default: made in `dir`). */
  readonly clientKey?: ClientKey;
  /** Default: a free high port. */
  readonly port?: number;
  /**
   * SFTP requests the device refuses (OpenSSH's sftp-server `-P`, names as `sftp-server -Q requests`
   * lists them), to play an older or stripped-down server; default: internal-sftp with everything.
   */
  readonly sftpDenied?: readonly string[];
}

export interface SshDevice {
  readonly address: string;
  readonly port: number;
  readonly dir: string;
  /** The device's disk: remote paths under it are what the device stores. */
  readonly root: string;
  readonly user: string;
  readonly clientKeyPath: string;
  /** `SHA256:…` of the current host key, as `ssh-keygen -lf` prints it. */
  readonly hostFingerprint: string;
  readonly hostPublicKeyPath: string;
  /** The sshd listener's pid; null while stopped. */
  readonly pid: number | null;
  /** A target pinned to the current host key (override fields, e.g. a proxy's port or a null pin). */
  target(overrides?: Partial<SshTarget>): SshTarget;
  /** The last lines sshd wrote to stderr (for failure messages). */
  log(): string;
  /** Kills the listener and its session processes by pid and waits until they are gone (a device offline). */
  stop(): Promise<void>;
  /** Starts sshd again on the same address and port; `newHostKey` generates a fresh host key first. */
  restart(options?: { readonly newHostKey?: boolean }): Promise<void>;
}

const running = new Map<number, ChildProcess>();
const devices = new Set<SshDevice>();

// A process (a test worker, the app) that dies must not leave sshd listeners behind: kill what is still running, by pid.
process.once('exit', () => {
  for (const pid of running.keys()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** Starts an sshd device and waits until its port accepts connections. */
export async function startSshDevice(options: SshDeviceOptions): Promise<SshDevice> {
  if (!existsSync(SSHD) || !existsSync(SSH_KEYGEN)) {
    throw new Error(
      `OpenSSH is missing (${SSHD}, ${SSH_KEYGEN}); run \`npm run setup:system\` to install openssh-server.`,
    );
  }
  const sshDir = join(options.dir, 'ssh');
  const root = join(options.dir, 'root');
  mkdirSync(sshDir, { recursive: true });
  mkdirSync(root, { recursive: true });
  // sshd refuses to start without its privilege-separation folder.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const clientKey = options.clientKey ?? makeClientKey(sshDir);
  writeFileSync(join(sshDir, 'authorized_keys'), `${clientKey.publicKeyLine}\n`, { mode: 0o600 });
  const hostKeyPath = join(sshDir, 'host_ed25519');
  makeHostKey(hostKeyPath);

  let port = options.port ?? (await freePort(options.address));
  let fingerprint = fingerprintOfFile(`${hostKeyPath}.pub`);
  let child: ChildProcess | null = null;
  let logTail = '';

  const launch = async (): Promise<void> => {
    for (let tries = 0; ; tries += 1) {
      const config = join(sshDir, 'sshd_config');
      writeFileSync(config, sshdConfig(options.address, port, sshDir, hostKeyPath, options.sftpDenied ?? []));
      checkConfig(config);
      logTail = '';
      const started = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      started.stderr?.setEncoding('utf8').on('data', (text: string) => {
        logTail = (logTail + text).slice(-16_384);
      });
      if (started.pid === undefined) throw new Error(`Could not start ${SSHD} for ${options.address}.`);
      running.set(started.pid, started);
      started.once('exit', () => running.delete(started.pid as number));
      const up = await waitForPort(options.address, port, started, 10_000);
      if (up) {
        child = started;
        return;
      }
      await stopProcess(started);
      // Another process took the free port between our check and sshd's bind: take another one.
      if (options.port === undefined && tries < 4 && /Address already in use/.test(logTail)) {
        port = await freePort(options.address);
        continue;
      }
      throw new Error(`sshd for ${options.address}:${port} did not start: ${logTail.trim() || 'no output'}`);
    }
  };

  await launch();

  const device: SshDevice = {
    address: options.address,
    get port() {
      return port;
    },
    dir: options.dir,
    root,
    user: userInfo().username,
    clientKeyPath: clientKey.privateKeyPath,
    get hostFingerprint() {
      return fingerprint;
    },
    hostPublicKeyPath: `${hostKeyPath}.pub`,
    get pid() {
      return child?.pid ?? null;
    },
    target(overrides = {}) {
      return {
        host: options.address,
        port,
        user: device.user,
        privateKeyPath: clientKey.privateKeyPath,
        hostKeyFingerprint: fingerprint,
        connectTimeoutMs: 5_000,
        ...overrides,
      };
    },
    log: () => logTail,
    async stop() {
      const listener = child;
      child = null;
      if (listener) await stopProcess(listener);
      devices.delete(device);
    },
    async restart(restartOptions = {}) {
      await device.stop();
      if (restartOptions.newHostKey) {
        rmSync(hostKeyPath, { force: true });
        rmSync(`${hostKeyPath}.pub`, { force: true });
        makeHostKey(hostKeyPath);
        fingerprint = fingerprintOfFile(`${hostKeyPath}.pub`);
      }
      await launch();
      devices.add(device);
    },
  };
  devices.add(device);
  return device;
}

/** Stops every device this process started and has not stopped yet (for afterAll). */
export async function stopAllSshDevices(): Promise<void> {
  await Promise.all([...devices].map((device) => device.stop()));
}

const SFTP_SERVER = '/usr/lib/openssh/sftp-server';

function sshdConfig(
  address: string,
  port: number,
  sshDir: string,
  hostKeyPath: string,
  sftpDenied: readonly string[],
): string {
  const path = (p: string): string => `"${p}"`;
  return [
    `ListenAddress ${address}:${port}`,
    `HostKey ${path(hostKeyPath)}`,
    `PidFile ${path(join(sshDir, 'sshd.pid'))}`,
    `AuthorizedKeysFile ${path(join(sshDir, 'authorized_keys'))}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'PermitRootLogin prohibit-password',
    'StrictModes no',
    'PrintMotd no',
    // Rollouts open several connections at once; the default (10:30:100) drops some under load.
    'MaxStartups 64',
    sftpDenied.length === 0
      ? 'Subsystem sftp internal-sftp'
      : `Subsystem sftp ${SFTP_SERVER} -P ${sftpDenied.join(',')}`,
    '',
  ].join('\n');
}

function checkConfig(config: string): void {
  try {
    execFileSync(SSHD, ['-t', '-f', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (thrown) {
    const stderr = String((thrown as { stderr?: unknown }).stderr ?? thrown).trim();
    throw new Error(`sshd rejects the local device's config ${config}: ${stderr}`);
  }
}

function makeHostKey(path: string): void {
  if (existsSync(path)) return;
  execFileSync(SSH_KEYGEN, ['-q', '-t', 'ed25519', '-N', '', '-C', 'wsep-test-device', '-f', path], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** The fingerprint as OpenSSH itself computes it (the app's own computation is checked against this). */
export function fingerprintOfFile(publicKeyPath: string): string {
  const line = execFileSync(SSH_KEYGEN, ['-lf', publicKeyPath], { encoding: 'utf8' });
  const fingerprint = line.split(/\s+/)[1];
  if (fingerprint === undefined || !fingerprint.startsWith('SHA256:')) {
    throw new Error(`Unexpected ssh-keygen -lf output for ${publicKeyPath}: ${line}`);
  }
  return fingerprint;
}

function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, address, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(
  address: string,
  port: number,
  child: ChildProcess,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = connect(port, address);
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (accepted) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

/** Kills `child` and the session processes it forked (each sshd session is its own process group). */
async function stopProcess(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  // Collect the sessions first: once the listener is gone they are re-parented and cannot be found.
  const sessions = descendantsOf(pid);
  const exited =
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (const target of [pid, ...sessions]) signal(target, 'SIGTERM');
  const killer = setTimeout(() => signal(pid, 'SIGKILL'), 3_000);
  await exited;
  clearTimeout(killer);
  running.delete(pid);
  await waitGone(sessions, 3_000);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

/** Pids whose parent chain leads to `pid` (from /proc; Linux only, like the devices). */
function descendantsOf(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(Number(entry));
    if (stat) parents.set(Number(entry), stat.ppid);
  }
  const found: number[] = [];
  const walk = (parent: number): void => {
    for (const [child, ppid] of parents) {
      if (ppid === parent && !found.includes(child)) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

function readProcStat(pid: number): { state: string; ppid: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses; the fields after the last ')' are fixed.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '?', ppid: Number(fields[1]) };
  } catch {
    return null;
  }
}

async function waitGone(pids: readonly number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let alive = pids.filter(isAlive);
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    alive = alive.filter(isAlive);
  }
  for (const pid of alive) signal(pid, 'SIGKILL');
}

function isAlive(pid: number): boolean {
  const stat = readProcStat(pid);
  return stat !== null && stat.state !== 'Z';
}
