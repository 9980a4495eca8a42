/**
 * What the app's end-to-end tests share: the built renderer (built here when missing or older than
 * its sources), the real app in server mode (`node bin/wsep.js app`) in a fresh data folder, stopped
 * by its pid, and Debian's Chromium driven by playwright-core with a fresh profile, whose pages are
 * saved as screenshots under test-results/app/ to look at.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { API_CALL_PATH, TOKEN_HEADER, type ApiResponse } from '../../shared/api/contract.ts';
import type { SshDevice } from '../devices/sshd-device.ts';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WSEP = join(REPO, 'bin', 'wsep.js');
const RENDERER = join(REPO, 'renderer');
export const SCREENSHOTS = join(REPO, 'test-results', 'app');
export const CHROMIUM = '/usr/bin/chromium';

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((newest, name) => Math.max(newest, newestMtime(join(path, name))), 0);
}

function rendererIsFresh(): boolean {
  const built = join(RENDERER, 'dist', 'index.html');
  const sources = Math.max(
    newestMtime(join(RENDERER, 'src')),
    newestMtime(join(RENDERER, 'index.html')),
    newestMtime(join(RENDERER, 'vite.config.ts')),
  );
  return existsSync(built) && statSync(built).mtimeMs >= sources;
}

/**
 * Builds renderer/dist with Vite unless it is newer than every source of the renderer. Test files run
 * in parallel processes: one builds while holding a lock folder, the others wait for it and look again.
 */
export async function ensureRendererBuilt(): Promise<void> {
  const lock = join(tmpdir(), 'wsep-renderer-build.lock');
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (rendererIsFresh()) return;
    try {
      mkdirSync(lock);
    } catch {
      // Another process builds; a lock older than the deadline was left by a killed one.
      const held = statSync(lock, { throwIfNoEntry: false });
      if (Date.now() > deadline || (held && Date.now() - held.mtimeMs > 120_000))
        rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    try {
      if (rendererIsFresh()) return;
      const { build } = await import('vite');
      await build({ configFile: join(RENDERER, 'vite.config.ts'), logLevel: 'warn' });
      return;
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

export interface RunningApp {
  /** The URL the app printed, with its token. */
  readonly url: string;
  readonly origin: string;
  readonly token: string;
  readonly dataDir: string;
  /** A contract call with the token, for a test's own setup and checks (not the UI's way). */
  call<T>(method: string, ...args: unknown[]): Promise<T>;
  /** What the app wrote to stdout and stderr, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `wsep app` with its data in `<work>/data`, its working folder `work` (so `<work>/plans` is
 * its plans folder), on a free port, without background telemetry pulls (the tests pull).
 */
export async function startApp(work: string): Promise<RunningApp> {
  const dataDir = join(work, 'data');
  mkdirSync(dataDir, { recursive: true });
  const child: ChildProcess = spawn(
    process.execPath,
    [WSEP, 'app', '--data-dir', dataDir, '--port', '0', '--pull-every', '0'],
    { cwd: work, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
  );
  let log = '';
  child.stdout?.setEncoding('utf8').on('data', (text: string) => (log += text));
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (log += text));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`wsep app printed no URL in 30 s:\n${log}`)), 30_000);
    const look = (): void => {
      const match = /Open (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(log);
      if (match?.[1]) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    };
    child.stdout?.on('data', look);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`wsep app exited with ${code}:\n${log}`));
    });
  });
  const parsed = new URL(url);
  const token = parsed.searchParams.get('token') ?? '';
  const exited = new Promise<void>((done) => {
    if (child.exitCode !== null) done();
    else child.once('exit', () => done());
  });
  return {
    url,
    origin: parsed.origin,
    token,
    dataDir,
    async call<T>(method: string, ...args: unknown[]): Promise<T> {
      const response = await fetch(new URL(API_CALL_PATH, parsed.origin), {
        method: 'POST',
        headers: { 'content-type': 'application/json', [TOKEN_HEADER]: token },
        body: JSON.stringify({ method, args }),
      });
      const body = (await response.json()) as ApiResponse;
      if (!body.ok) throw new Error(`${method}: ${body.error.code} ${body.error.message}`);
      return body.value as T;
    },
    output: () => log,
    async stop() {
      if (child.exitCode === null && child.pid !== undefined) {
        child.kill('SIGTERM');
        const killed = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(killed);
      }
    },
  };
}

export interface AppBrowser {
  readonly page: Page;
  readonly context: BrowserContext;
  /** What the page logged as errors (uncaught exceptions, console.error). */
  readonly errors: string[];
  close(): Promise<void>;
}

/** Chromium with a fresh profile in `<work>/chromium`, one page open at `url`. */
export async function openBrowser(work: string, url: string): Promise<AppBrowser> {
  const profile = join(work, 'chromium');
  mkdirSync(profile, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    // A refused request's resource error is what some tests cause on purpose; they check it themselves.
    if (message.type() === 'error' && !/favicon/.test(message.location().url)) errors.push(message.text());
  });
  await page.goto(url);
  return { page, context, errors, close: () => context.close() };
}

/** Saves the whole page as test-results/app/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Goes to a page of the app by its route and waits for its heading. */
export async function visit(page: Page, route: string, heading: string): Promise<void> {
  await page.goto(new URL(`/#/${route}`, page.url()).href);
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
}

/** Fills the Devices page's registration form with `device`'s connection under `name` (not its tags). */
export async function fillDeviceForm(page: Page, name: string, device: SshDevice): Promise<void> {
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Host', { exact: true }).fill(device.address);
  await page.getByLabel('SSH port').fill(String(device.port));
  await page.getByLabel('User', { exact: true }).fill(device.user);
  await page.getByLabel('Private key file').fill(device.clientKeyPath);
  await page.getByLabel('Agent folder on the device').fill(device.root);
  await page.getByLabel('Node.js on the device').fill(process.execPath);
}
