/**
 * Where the fleet store lives when the user does not say: the platform's per-user data folder, like
 * other desktop tools. `--store` wins, then WSEP_STORE, then this.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

export const STORE_FILE = 'fleet.db';
export const STORE_ENV = 'WSEP_STORE';

export interface StorePathContext {
  readonly platform?: NodeJS.Platform;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly home?: string;
}

/** The data folder WeightSep uses on this platform (Linux: XDG_DATA_HOME or ~/.local/share). */
export function userDataDir(context: StorePathContext = {}): string {
  const platform = context.platform ?? process.platform;
  const env = context.env ?? process.env;
  const home = context.home ?? homedir();
  if (platform === 'win32') {
    const appData = env['APPDATA'];
    return join(
      appData !== undefined && appData !== '' ? appData : join(home, 'AppData', 'Roaming'),
      'WeightSep',
    );
  }
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'WeightSep');
  // XDG: a relative XDG_DATA_HOME is invalid and must be ignored.
  const xdg = env['XDG_DATA_HOME'];
  return join(xdg !== undefined && isAbsolute(xdg) ? xdg : join(home, '.local', 'share'), 'weightsep');
}

export function defaultStorePath(context: StorePathContext = {}): string {
  return join(userDataDir(context), STORE_FILE);
}

/** The store path for a command: its `--store` flag, else WSEP_STORE, else the default. */
export function resolveStorePath(flag: string | undefined, context: StorePathContext = {}): string {
  const env = context.env ?? process.env;
  if (flag !== undefined && flag !== '') return flag === ':memory:' ? flag : resolve(flag);
  const fromEnv = env[STORE_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv === ':memory:' ? fromEnv : resolve(fromEnv);
  return defaultStorePath(context);
}
