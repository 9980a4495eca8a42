/**
 * What the app refuses, seen from outside and in its pages: requests without the printed URL's
 * token (or from another site) get nothing, and a device whose SSH host key changed after it was
 * accepted is refused — the page says so, shows the new fingerprint, and trusts nothing until asked.
 * Each test has its own app data folder.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { API_CALL_PATH } from '../../shared/api/contract.ts';
import { testTempDir } from '../../shared/core/testing-temp.ts';
import { makeClientKey } from '../devices/client-key.ts';
import { preinstallRuntime } from '../devices/fleet-fixture.ts';
import { startSshDevice } from '../devices/sshd-device.ts';
import { useDeviceTeardown } from '../devices/teardown.ts';
import {
  ensureRendererBuilt,
  fillDeviceForm,
  openBrowser,
  screenshot,
  startApp,
  type AppBrowser,
  type RunningApp,
} from './app-fixture.ts';

useDeviceTeardown();

const running: { app?: RunningApp; browser?: AppBrowser } = {};
afterEach(async () => {
  await running.browser?.close();
  await running.app?.stop();
  delete running.browser;
  delete running.app;
});

describe('what the app refuses', () => {
  it('refuses calls and pages without the token, and calls from another origin', async () => {
    const work = testTempDir('e2e-app-token-');
    await ensureRendererBuilt();
    const app = (running.app = await startApp(work));
    const call = (headers: Record<string, string>) =>
      fetch(new URL(API_CALL_PATH, app.origin), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ method: 'listDevices', args: [] }),
      });

    const noToken = await call({});
    expect(noToken.status).toBe(401);
    expect(await noToken.json()).toMatchObject({ ok: false, error: { code: 'E_USAGE' } });
    expect((await call({ 'x-wsep-token': 'not-the-token' })).status).toBe(401);
    expect((await call({ 'x-wsep-token': app.token, origin: 'http://evil.example' })).status).toBe(403);
    expect((await call({ 'x-wsep-token': app.token })).status).toBe(200);

    // The page itself, opened without ?token=, in a browser that never had the cookie.
    const browser = (running.browser = await openBrowser(work, app.origin));
    expect(await browser.page.content()).toMatch(/no valid app token/);
    await screenshot(browser.page, 'refused-without-token');
  });

  it('refuses a device whose host key changed, shows the new key, and trusts it only when accepted', async () => {
    const work = testTempDir('e2e-app-hostkey-');
    const [, app, device] = await Promise.all([
      ensureRendererBuilt(),
      startApp(work),
      startSshDevice({
        address: '127.0.0.7',
        dir: join(work, 'dev-c'),
        clientKey: makeClientKey(join(work, 'key')),
      }),
    ]);
    running.app = app;
    preinstallRuntime(device);
    const browser = (running.browser = await openBrowser(work, app.url));
    const { page } = browser;

    await fillDeviceForm(page, 'dev-c', device);
    await page.getByRole('button', { name: 'Register' }).click();
    await page.getByRole('button', { name: 'Accept this key' }).click();
    const row = page.getByTestId('devices-table').locator('tr[data-device="dev-c"]');
    await row.getByTestId('accepted-key').waitFor();
    const accepted = device.hostFingerprint;

    // The device is reinstalled (or someone is in between): it presents another key.
    await device.restart({ newHostKey: true });
    expect(device.hostFingerprint).not.toBe(accepted);

    await row.getByRole('button', { name: 'Provision' }).click();
    const refusal = page.locator('[role="alert"][data-code="E_SSH_HOST_CHANGED"]');
    await refusal.waitFor({ timeout: 30_000 });

    await row.getByRole('button', { name: 'Check key' }).click();
    const confirm = page.locator('[data-testid="host-key-confirm"][data-device="dev-c"]');
    await confirm.getByText('has changed').waitFor();
    expect(await confirm.getByTestId('fingerprint').textContent()).toBe(device.hostFingerprint);
    await screenshot(page, 'devices-host-key-changed');

    // Declining keeps the old key: nothing new is trusted.
    await confirm.getByRole('button', { name: 'Do not trust' }).click();
    await confirm.waitFor({ state: 'detached' });
    const stored = await app.call<{ name: string; hostKeyFingerprint: string | null }[]>('listDevices');
    expect(stored.find((d) => d.name === 'dev-c')?.hostKeyFingerprint).toBe(accepted);
  });
});
