/**
 * The app end to end, the way a user goes through it: the real server mode in a fresh data folder,
 * Chromium, and two real sshd devices. Register both (typing the form, Enter to submit) and accept the
 * fingerprints they present, provision them, compute a plan of the zoo with few steps, roll it out in
 * two waves, start the workload and see the telemetry charts fill, roll a second plan out and roll one
 * device back. A screenshot of every page is saved under test-results/app/.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { PlanListing } from '../../shared/api/contract.ts';
import { useTempDir } from '../../shared/core/testing-temp.ts';
import { makeClientKey } from '../devices/client-key.ts';
import { changedPlan, killWorkloads, preinstallRuntime } from '../devices/fleet-fixture.ts';
import { startSshDevice, type SshDevice } from '../devices/sshd-device.ts';
import { useDeviceTeardown } from '../devices/teardown.ts';
import {
  ensureRendererBuilt,
  fillDeviceForm,
  openBrowser,
  screenshot,
  startApp,
  visit,
  type AppBrowser,
  type RunningApp,
} from './app-fixture.ts';

const work = useTempDir('e2e-app-fleet-');
useDeviceTeardown();

let app: RunningApp;
let browser: AppBrowser;
let devices: SshDevice[];

beforeAll(async () => {
  const key = makeClientKey(join(work, 'key'));
  const [built, started, a, b] = await Promise.all([
    ensureRendererBuilt(),
    startApp(work),
    startSshDevice({ address: '127.0.0.5', dir: join(work, 'dev-a'), clientKey: key }),
    startSshDevice({ address: '127.0.0.6', dir: join(work, 'dev-b'), clientKey: key }),
  ]);
  void built;
  app = started;
  devices = [a, b];
  for (const device of devices) preinstallRuntime(device);
  browser = await openBrowser(work, app.url);
});

// A failed step leaves a picture of what the page showed.
afterEach(async (context) => {
  if (context.task.result?.state === 'fail' && browser)
    await screenshot(browser.page, `failed-${context.task.name.slice(0, 40).replace(/\W+/g, '-')}`);
});

afterAll(async () => {
  killWorkloads(devices?.map((d) => d.root) ?? []);
  await browser?.close();
  await app?.stop();
});

async function register(page: Page, name: string, device: SshDevice): Promise<void> {
  await fillDeviceForm(page, name, device);
  await page.getByLabel('Tags').fill('lab');
  // Keyboard use: Enter in the last field submits the form.
  await page.getByLabel('Tags').press('Enter');
}

function row(page: Page, testId: string, device: string) {
  return page.getByTestId(testId).locator(`tr[data-device="${device}"]`);
}

describe('the app over its server mode, with two sshd devices', () => {
  it('registers two devices, shows each presented fingerprint, and trusts it only when accepted', async () => {
    const { page } = browser;
    await page.getByText('Connected').waitFor();
    await page.getByText('No devices yet').waitFor();
    await screenshot(page, 'devices-empty');

    for (const [name, device] of [
      ['dev-a', devices[0]!],
      ['dev-b', devices[1]!],
    ] as const) {
      await register(page, name, device);
      const confirm = page.locator(`[data-testid="host-key-confirm"][data-device="${name}"]`);
      await confirm.waitFor();
      expect(await confirm.getByTestId('fingerprint').textContent()).toBe(device.hostFingerprint);
      // Not trusted until accepted.
      const before = await app.call<{ name: string; hostKeyFingerprint: string | null }[]>('listDevices');
      expect(before.find((d) => d.name === name)?.hostKeyFingerprint).toBeNull();
      if (name === 'dev-b') await screenshot(page, 'devices-confirm-key');
      await confirm.getByRole('button', { name: 'Accept this key' }).click();
      await confirm.waitFor({ state: 'detached' });
      await row(page, 'devices-table', name).getByTestId('accepted-key').waitFor();
    }
    const stored = await app.call<{ name: string; hostKeyFingerprint: string | null }[]>('listDevices');
    expect(stored.map((d) => [d.name, d.hostKeyFingerprint])).toEqual([
      ['dev-a', devices[0]!.hostFingerprint],
      ['dev-b', devices[1]!.hostFingerprint],
    ]);
  });

  it('provisions both devices with their progress shown', async () => {
    const { page } = browser;
    for (const name of ['dev-a', 'dev-b'])
      await row(page, 'devices-table', name).getByRole('button', { name: 'Provision' }).click();
    for (const name of ['dev-a', 'dev-b'])
      await row(page, 'devices-table', name)
        .getByRole('button', { name: 'Provision again' })
        .waitFor({ timeout: 60_000 });
    expect(await row(page, 'devices-table', 'dev-a').textContent()).toMatch(/L1 .*L2/);
    await screenshot(page, 'devices-provisioned');
  });

  let planA: PlanListing;
  it('computes a plan of the zoo from a small budget and shows its report and page map', async () => {
    const { page } = browser;
    await visit(page, 'plans', 'Plans');
    await page.getByLabel('Optimisation steps').fill('10');
    await page.getByLabel('Name', { exact: true }).fill('e2e-small');
    await page.getByRole('button', { name: 'Compute plan' }).click();
    await page.getByRole('progressbar', { name: 'Planning' }).waitFor();
    await screenshot(page, 'plans-computing');
    const planRow = page.getByTestId('plans-table').getByRole('button', { name: 'e2e-small' });
    await planRow.waitFor({ timeout: 90_000 });
    await planRow.click();
    await page.getByTestId('plan-report').getByTestId('page-map').waitFor();
    expect(await page.getByTestId('plan-report').textContent()).toMatch(/Packing \(ceiling\)/);
    await screenshot(page, 'plans');
    const plans = await app.call<PlanListing[]>('listPlans');
    planA = plans.find((p) => p.name === 'e2e-small')!;
    expect(planA).toBeDefined();
  });

  it('rolls the plan out in two waves and shows each device succeeding', async () => {
    const { page } = browser;
    await visit(page, 'rollouts', 'Rollouts');
    await page.getByLabel('Plan', { exact: true }).selectOption(planA.id);
    await page.getByLabel('tag: lab').check();
    await page.getByLabel('Waves').fill('50%,100%');
    await page.getByRole('button', { name: 'Start rollout' }).click();
    await page.getByTestId('rollout-live').waitFor();
    // The picture once a device reports its stage (a quick rollout may end before that).
    await page
      .getByTestId('rollout-live')
      .locator('tbody tr')
      .first()
      .waitFor({ timeout: 5000 })
      .catch(() => {});
    await screenshot(page, 'rollouts-live');
    await page.getByTestId('rollout-outcome').getByText('succeeded').waitFor({ timeout: 90_000 });
    const history = page.getByTestId('rollout-history');
    await history.getByText('succeeded').waitFor();
    await history
      .getByRole('button', { name: /Show rollout/ })
      .first()
      .click();
    const detail = page.getByTestId('rollout-detail');
    await detail.waitFor();
    expect(await detail.locator('tbody tr').count()).toBe(2);
    expect(await detail.textContent()).not.toMatch(/failed/);
  });

  it('starts the workload and fills the telemetry charts', async () => {
    const { page } = browser;
    await visit(page, 'devices', 'Devices');
    await row(page, 'devices-table', 'dev-a').getByRole('button', { name: 'Start workload' }).click();
    await row(page, 'devices-table', 'dev-a').getByRole('button', { name: 'Stop workload' }).waitFor();
    await visit(page, 'telemetry', 'Telemetry');
    await page.getByLabel('Device').selectOption('dev-a');
    const charts = page.getByTestId('telemetry-charts');
    const deadline = Date.now() + 60_000;
    while (
      !(await charts.isVisible()) ||
      Number(await charts.locator('figure').first().getAttribute('data-points')) < 3
    ) {
      if (Date.now() > deadline) throw new Error(`No telemetry charts after 60 s.\n${app.output()}`);
      const pull = page.getByRole('button', { name: 'Pull now' });
      if (await pull.isEnabled()) await pull.click();
      await page.waitForTimeout(1500);
    }
    for (const title of [
      'Accuracy',
      'Switch time',
      'Inference time',
      'Level-1 resident and level-2 bytes read',
    ])
      expect(
        Number(await charts.getByLabel(title, { exact: true }).getAttribute('data-points')),
      ).toBeGreaterThan(0);
    // Let ECharts draw before the picture.
    await page.waitForTimeout(500);
    await screenshot(page, 'telemetry');
  });

  it('rolls a changed plan out and rolls one device back to the first', async () => {
    const { page } = browser;
    await visit(page, 'devices', 'Devices');
    await row(page, 'devices-table', 'dev-a').getByRole('button', { name: 'Stop workload' }).click();
    // A second plan beside the first, in the app's plans folder: a tenth of its pages changed.
    const planB = await changedPlan(planA.path, join(work, 'plans', 'e2e-changed'));
    await visit(page, 'rollouts', 'Rollouts');
    await page
      .getByLabel('Plan', { exact: true })
      .locator(`option[value="${planB.planId}"]`)
      .waitFor({ state: 'attached' });
    await page.getByLabel('Plan', { exact: true }).selectOption(planB.planId);
    await page.getByLabel('tag: lab').check();
    await page.getByRole('button', { name: 'Start rollout' }).click();
    await page
      .getByTestId('rollout-outcome')
      .getByText(/Rollout #2/)
      .waitFor({ timeout: 90_000 });
    expect(await page.getByTestId('rollout-outcome').textContent()).toMatch(/succeeded/);

    const back = page.getByRole('button', { name: 'Roll back dev-a' });
    await back.click();
    const dev = await (async () => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const list = await app.call<{ name: string; activePlan: string | null }[]>('listDevices');
        const found = list.find((d) => d.name === 'dev-a');
        if (found?.activePlan === planA.id || Date.now() > deadline) return found;
        await page.waitForTimeout(500);
      }
    })();
    expect(dev?.activePlan).toBe(planA.id);
    await page.getByTestId('audit-log').getByText('rollback').first().waitFor();
    await screenshot(page, 'rollouts');
  });

  it('lists the zoo on the Models & data page', async () => {
    const { page } = browser;
    await visit(page, 'models', 'Models & data');
    await page.getByTestId('models-table').getByRole('cell', { name: 'mnist', exact: true }).waitFor();
    await page.getByTestId('datasets-table').waitFor();
    await screenshot(page, 'models');
    expect(browser.errors).toEqual([]);
  });
});
