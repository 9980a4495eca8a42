/**
 * What a local device's disk needs beside the agent: onnxruntime-node made resolvable without sending
 * it (as on a device that has it already), and the end of a workload loop left running (it is detached
 * from sshd, so stopping sshd does not end it). Shared by the tests' harness and the demo fleet.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This app's node_modules (the repository's). */
const NODE_MODULES = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'node_modules');

/**
 * Symlinks this app's onnxruntime-node (and -common) into `<deviceDir>/node_modules`, the folder
 * above the device's disk: Node resolves from `<root>/bin` upwards, so the agent finds it there.
 */
export function preinstallRuntime(deviceDir: string): void {
  const modules = join(deviceDir, 'node_modules');
  mkdirSync(modules, { recursive: true });
  for (const name of ['onnxruntime-node', 'onnxruntime-common']) {
    const link = join(modules, name);
    if (!existsSync(link)) symlinkSync(join(NODE_MODULES, name), link);
  }
}

/** Ends any workload loop still running under these agent roots, by its pid file (SIGTERM). */
export function killWorkloads(roots: readonly string[]): void {
  for (const root of roots) {
    const pidFile = join(root, 'run', 'workload.pid');
    if (!existsSync(pidFile)) continue;
    const pid = Number(readFileSync(pidFile, 'utf8').trim().split(/\s/)[0]);
    if (!Number.isInteger(pid) || pid <= 1) continue;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}
