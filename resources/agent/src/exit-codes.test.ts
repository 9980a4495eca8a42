import { describe, expect, it } from 'vitest';
import { makeError } from '../../../shared/core/errors.ts';
import { AGENT_EXIT } from '../../../shared/fleet/protocol.ts';
import { asDiskFull, exitCodeFor, thrownError } from './exit-codes.ts';

describe('agent exit codes', () => {
  it('maps each error code to its stable exit code', () => {
    const code = (c: Parameters<typeof makeError>[0]) => exitCodeFor(makeError(c, 'm'));
    expect(code('E_USAGE')).toBe(AGENT_EXIT.usage);
    expect(code('E_BUNDLE_CORRUPT')).toBe(AGENT_EXIT.verifyFailed);
    expect(code('E_HEALTH')).toBe(AGENT_EXIT.healthFailed);
    expect(code('E_NOT_FOUND')).toBe(AGENT_EXIT.notFound);
    expect(code('E_DISK_FULL')).toBe(AGENT_EXIT.diskFull);
    expect(code('E_ORT')).toBe(AGENT_EXIT.failed);
  });

  it('recognises a full disk as an ENOSPC thrown or an engine E_IO in words', () => {
    const thrown = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    expect(thrownError(thrown, '/dev-root').code).toBe('E_DISK_FULL');
    const engine = makeError('E_IO', 'The disk is full: cannot write /r/x. Nothing was changed.');
    const mapped = asDiskFull(engine, '/r');
    expect(mapped.code).toBe('E_DISK_FULL');
    expect(mapped.message).toBe(
      "The device's disk is full under /r: cannot write /r/x. Nothing was changed.",
    );
    expect(asDiskFull(makeError('E_IO', 'Permission denied'), '/r').code).toBe('E_IO');
  });
});
