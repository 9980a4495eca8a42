/** What both worker entries (jobs and services) receive, and how they find the function to run. */
export interface WorkerEntryData {
  readonly moduleUrl: string;
  readonly exportName: string;
  readonly input: unknown;
}

/** Imports the entry's module and returns its named export, checked to be a function (the caller knows its type). */
export async function importEntryFunction(data: WorkerEntryData, what: 'job' | 'service'): Promise<unknown> {
  const module = (await import(data.moduleUrl)) as Record<string, unknown>;
  const found = module[data.exportName];
  if (typeof found !== 'function')
    throw new Error(`${data.moduleUrl} has no ${what} named ${data.exportName}.`);
  return found;
}
