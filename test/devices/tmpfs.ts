/**
 * A small tmpfs as a device's disk, for the full-disk fault: writes past its size fail with ENOSPC,
 * as on a device whose eMMC filled up. Needs root (CAP_SYS_ADMIN); CI and the dev machine run as root.
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface MountedTmpfs {
  readonly dir: string;
  readonly sizeBytes: number;
  /** Unmounts (lazily if busy); safe to call more than once. */
  unmount(): Promise<void>;
}

const mounted = new Set<MountedTmpfs>();

/** Mounts a tmpfs of `sizeBytes` on `dir` (made if missing). Throws a clear error where mounting is not permitted. */
export async function mountTmpfs(dir: string, sizeBytes: number): Promise<MountedTmpfs> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error(
      `Mounting a tmpfs on ${dir} needs root (this process runs as uid ${process.getuid()}); run the device tests as root, as CI does.`,
    );
  }
  mkdirSync(dir, { recursive: true });
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0755`, 'tmpfs', dir]);
  } catch (thrown) {
    const stderr = (thrown as { stderr?: unknown }).stderr;
    throw new Error(
      `Mounting a tmpfs on ${dir} failed (${String(stderr ?? thrown).trim()}); the container or sandbox does not permit mounts (needs CAP_SYS_ADMIN).`,
    );
  }
  let done = false;
  const fs: MountedTmpfs = {
    dir,
    sizeBytes,
    async unmount() {
      if (done) return;
      done = true;
      mounted.delete(fs);
      // -l: an sshd session still inside the folder must not leave the mount behind.
      await run('umount', ['-l', dir]);
    },
  };
  mounted.add(fs);
  return fs;
}

export async function unmount(fs: MountedTmpfs): Promise<void> {
  await fs.unmount();
}

/** Unmounts every tmpfs this process mounted (for afterAll, so a failed test leaves no mount behind). */
export async function unmountAll(): Promise<void> {
  await Promise.all([...mounted].map((fs) => fs.unmount().catch(() => {})));
}
