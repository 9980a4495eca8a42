/**
 * Temporary folders for tests, each removed when its test or its file ends, so that a test run
 * leaves nothing behind in the OS temp folder (on a shared machine that folder fills up).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, onTestFinished } from 'vitest';

function make(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix.startsWith('wsep-') ? prefix : `wsep-${prefix}`));
}

function remove(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * A new folder shared by the tests of this file (or of the describe block it is called in), removed
 * after the last of them. Call at the top level of a test file or in a describe callback.
 */
export function useTempDir(prefix: string): string {
  const dir = make(prefix);
  afterAll(() => remove(dir));
  return dir;
}

/** A new folder for the running test, removed when it ends, passed or failed. Call inside a test. */
export function testTempDir(prefix: string): string {
  const dir = make(prefix);
  onTestFinished(() => remove(dir));
  return dir;
}

/**
 * The hidden entries of `dir`: what an interrupted atomic write would leave beside its target
 * (`.name.tmp-…`, `.name.old-…`, `.name.123.tmp`). A test's own folder should have none.
 */
export function hiddenEntries(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.startsWith('.'));
}
