import { describe, expect, it } from 'vitest';
import { makeError } from '../core/errors.ts';
import {
  AGENT_EXIT,
  agentArgv,
  agentExitName,
  decodeAgentReply,
  parseAgentReply,
  type AgentReply,
} from './protocol.ts';

describe('agent replies', () => {
  it('round-trips an ok reply and an error reply through one JSON line', () => {
    const value = { activePlan: 'a'.repeat(64), plans: ['x'], telemetry: { lastSeq: 3 } };
    const good: AgentReply<unknown> = { ok: true, value };
    expect(parseAgentReply(`${JSON.stringify(good)}\n`)).toEqual({ ok: true, value });
    const error = makeError('E_HEALTH', 'Model "m" measured 0.5, expected 0.9.', 'Roll back.', { x: 1 });
    const failed: AgentReply<unknown> = { ok: false, error };
    expect(parseAgentReply(JSON.stringify(failed))).toEqual({ ok: false, error });
    expect(decodeAgentReply(JSON.stringify(failed))).toEqual({ ok: true, value: failed });
  });

  it.each([
    ['nothing', ''],
    ['two lines', '{"ok":true,"value":1}\n{"ok":true,"value":2}\n'],
    ['text before the line', 'warning\n{"ok":true,"value":1}'],
    ['not JSON', 'Segmentation fault'],
    ['an array', '[1]'],
    ['no value', '{"ok":true}'],
    ['extra keys', '{"ok":true,"value":1,"x":2}'],
    ['an error without a code', '{"ok":false,"error":{"message":"m"}}'],
    ['an error without a message', '{"ok":false,"error":{"code":"E_IO"}}'],
    ['a hint that is not text', '{"ok":false,"error":{"code":"E_IO","message":"m","hint":3}}'],
    ['ok that is not a boolean', '{"ok":"yes","value":1}'],
  ])('rejects %s as E_DEVICE', (_, text) => {
    const reply = parseAgentReply(text);
    expect(reply.ok).toBe(false);
    if (!reply.ok) expect(reply.error.code).toBe('E_DEVICE');
  });

  it('builds the argv that runs a command under a root', () => {
    expect(agentArgv('node', '/opt/wsep/', 'telemetry', ['--since', '7'])).toEqual([
      'node',
      '/opt/wsep/bin/wsep-agent.mjs',
      '--root',
      '/opt/wsep/',
      'telemetry',
      '--since',
      '7',
      '--json',
    ]);
  });

  it('names every exit code and no other', () => {
    expect(agentExitName(AGENT_EXIT.healthFailed)).toBe('healthFailed');
    expect(agentExitName(6)).toBe('diskFull');
    expect(agentExitName(7)).toBeUndefined();
  });
});
