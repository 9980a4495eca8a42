/**
 * The agent client against the real built agent, run through a real `/bin/sh -c` on this machine
 * (the same command string an SSH exec carries, built by remoteCommand): answers parsed and typed,
 * the agent's errors named by device with their exit code, and what a missing Node or agent looks like.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ok, unwrap } from '../core/errors.ts';
import { useTempDir } from '../core/testing-temp.ts';
import { AgentClient, type AgentTransport } from './agent-client.ts';
import { ensureAgentFile } from './agent-file.ts';
import { AGENT_EXIT } from './protocol.ts';
import { remoteCommand } from './ssh/quote.ts';

const dir = useTempDir('agent-client-');

/** Runs the command line a device's shell would get, here. */
const localShell: AgentTransport = {
  exec: async (argv) => {
    const ran = spawnSync('/bin/sh', ['-c', remoteCommand(argv)], { timeout: 60_000 });
    return ok({ code: ran.status ?? 128, signal: ran.signal, stdout: ran.stdout, stderr: ran.stderr });
  },
};

/** An agent root with the built agent in bin/ and onnxruntime-node reachable, as provisioning leaves it. */
function installAgent(root: string, agentFile: string): void {
  mkdirSync(join(root, 'bin'), { recursive: true });
  copyFileSync(agentFile, join(root, 'bin', 'wsep-agent.mjs'));
  mkdirSync(join(root, 'node_modules'), { recursive: true });
  const repoModules = new URL('../../node_modules/', import.meta.url).pathname;
  for (const name of ['onnxruntime-node', 'onnxruntime-common'])
    symlinkSync(join(repoModules, name), join(root, 'node_modules', name));
}

let agentFile: string;
beforeAll(async () => {
  agentFile = unwrap(await ensureAgentFile());
}, 60_000);

describe('AgentClient', () => {
  it('calls the agent under a root whose path holds spaces, quotes and shell characters', async () => {
    const root = join(dir, `it's a $(root);dir`);
    installAgent(root, agentFile);
    const agent = new AgentClient(localShell, { device: 'dev 1', nodePath: process.execPath, root });
    const info = unwrap(await agent.info());
    expect(info.root).toBe(root);
    expect(info.activePlan).toBeNull();
    expect(info.onnxruntime).not.toBeNull();
    const status = unwrap(await agent.status());
    expect(status).toMatchObject({ activePlan: null, previousPlan: null, staged: [] });
    expect(unwrap(await agent.files('a'.repeat(64)))).toEqual([]);
  });

  it('names the device in the agent’s own errors and keeps its exit code', async () => {
    const root = join(dir, 'plain');
    installAgent(root, agentFile);
    const agent = new AgentClient(localShell, { device: 'edge;7', nodePath: process.execPath, root });
    const back = await agent.rollback();
    expect(!back.ok && back.error.message).toMatch(/^Device "edge;7": /);
    expect(!back.ok && (back.error.details as { exitCode: number }).exitCode).toBe(AGENT_EXIT.notFound);
    const bad = await agent.verify('not-a-plan');
    expect(!bad.ok && (bad.error.details as { exitCode: number }).exitCode).not.toBe(0);
  });

  it('says when Node.js or the agent is missing on the device, with what to do', async () => {
    const missingNode = new AgentClient(localShell, {
      device: 'd',
      nodePath: 'no-such-node-here',
      root: dir,
    });
    const r1 = await missingNode.info();
    expect(!r1.ok && `${r1.error.code} ${r1.error.message}`).toMatch(
      /^E_DEVICE .*"no-such-node-here" was not found/,
    );
    expect(!r1.ok && r1.error.hint).toMatch(/Node\.js 18/);
    const noAgent = new AgentClient(localShell, {
      device: 'd',
      nodePath: process.execPath,
      root: join(dir, 'empty'),
    });
    const r2 = await noAgent.info();
    expect(!r2.ok && `${r2.error.code} ${r2.error.message}`).toMatch(/^E_DEVICE .*agent is not installed/);
    expect(!r2.ok && r2.error.hint).toMatch(/wsep devices provision "d"/);
  });
});

describe('AgentClient with an agent older than 1.1.0', () => {
  /** Answers like agent 1.0.0: no `status --plan`, no `activate --base`; records what it was asked. */
  function oldAgent() {
    const asked: string[][] = [];
    const reply = (code: number, body: unknown) =>
      ok({ code, signal: null, stdout: Buffer.from(`${JSON.stringify(body)}\n`), stderr: Buffer.alloc(0) });
    const transport: AgentTransport = {
      exec: async (argv) => {
        const args = argv.slice(4, -1); // after node, agent file, --root, root; before --json
        asked.push(args);
        if (args.includes('--plan') || (args[0] === 'activate' && args.includes('--base')))
          return reply(AGENT_EXIT.usage, { ok: false, error: { code: 'E_USAGE', message: 'unknown flag' } });
        const plans = { activePlan: null, previousPlan: null, plans: [], staged: [] };
        if (args[0] === 'status')
          return reply(0, { ok: true, value: { ...plans, workload: null, telemetry: { lastSeq: 0 } } });
        if (args[0] === 'files') return reply(0, { ok: true, value: [{ path: 'a', bytes: 1, sha256: 'x' }] });
        if (args[0] === 'apply-delta') return reply(0, { ok: true, value: { planId: args[1] } });
        if (args[0] === 'activate')
          return reply(0, { ok: true, value: { planId: args[1], active: args[1], previous: null } });
        return reply(AGENT_EXIT.usage, { ok: false, error: { code: 'E_USAGE', message: 'no' } });
      },
    };
    return { asked, agent: new AgentClient(transport, { device: 'old', nodePath: 'node', root: '/r' }) };
  }

  it('asks status and files one by one when status --plan is refused', async () => {
    const { asked, agent } = oldAgent();
    const planId = 'b'.repeat(64);
    const status = unwrap(await agent.statusWithFiles(planId));
    expect(status.files).toEqual({ planId, files: [{ path: 'a', bytes: 1, sha256: 'x' }] });
    expect(asked.map((a) => a[0])).toEqual(['status', 'status', 'files']);
  });

  it('applies the delta, then activates, when activate --base is refused', async () => {
    const { asked, agent } = oldAgent();
    const [planId, base] = ['c'.repeat(64), 'd'.repeat(64)];
    const activated = unwrap(await agent.activateDelta(planId, base, 2));
    expect(activated.active).toBe(planId);
    expect(asked).toEqual([
      ['activate', planId, '--base', base, '--tolerance', '2'],
      ['apply-delta', planId, '--base', base],
      ['activate', planId, '--tolerance', '2'],
    ]);
  });
});
