/**
 * How a failure becomes one of the agent's stable exit codes (protocol.ts AGENT_EXIT), and how a full
 * disk is recognised wherever it surfaces: as a thrown ENOSPC, or as an engine E_IO result (the image
 * layer's atomic writes report a full disk in words and keep their own code).
 */
import { makeError, toError, type WsepError } from '../../../shared/core/errors.ts';
import { AGENT_EXIT, type AgentExitCode } from '../../../shared/fleet/protocol.ts';

const FULL = /ENOSPC|no space left|disk is full|EDQUOT|quota exceeded/i;

export function isDiskFull(error: WsepError): boolean {
  return error.code === 'E_DISK_FULL' || (error.code === 'E_IO' && FULL.test(error.message));
}

/** `error` as E_DISK_FULL when it is about a full disk (`where` names the root), else unchanged. */
export function asDiskFull(error: WsepError, where: string): WsepError {
  if (error.code === 'E_DISK_FULL' || !isDiskFull(error)) return error;
  return makeError(
    'E_DISK_FULL',
    `The device's disk is full under ${where}: ${error.message.replace(/^The disk is full: /, '').replace(/\.$/, '')}.`,
    'Free space on the device (old staged uploads under staging/ can go), then send the plan again.',
    error.details,
  );
}

/** Anything thrown, as a WsepError (ENOSPC → E_DISK_FULL). */
export function thrownError(thrown: unknown, where: string): WsepError {
  const errno = (thrown as NodeJS.ErrnoException | undefined)?.code;
  if (errno === 'ENOSPC' || errno === 'EDQUOT')
    return asDiskFull(makeError('E_IO', (thrown as Error).message), where);
  return toError(thrown);
}

export function exitCodeFor(error: WsepError): AgentExitCode {
  switch (error.code) {
    case 'E_USAGE':
      return AGENT_EXIT.usage;
    case 'E_BUNDLE':
    case 'E_BUNDLE_CORRUPT':
      return AGENT_EXIT.verifyFailed;
    case 'E_HEALTH':
      return AGENT_EXIT.healthFailed;
    case 'E_NOT_FOUND':
      return AGENT_EXIT.notFound;
    case 'E_DISK_FULL':
      return AGENT_EXIT.diskFull;
    default:
      return isDiskFull(error) ? AGENT_EXIT.diskFull : AGENT_EXIT.failed;
  }
}
