/**
 * One route per page. Hash history: the same build loads from the server mode's http://127.0.0.1 URL
 * and from a file:// URL in Electron, where a path-based history would point at files that do not exist.
 */
import { createRouter, createWebHashHistory, type RouteRecordRaw } from 'vue-router';
import DevicesPage from './pages/DevicesPage.vue';
import ModelsPage from './pages/ModelsPage.vue';
import PlansPage from './pages/PlansPage.vue';
import RolloutsPage from './pages/RolloutsPage.vue';
import TelemetryPage from './pages/TelemetryPage.vue';

export const routes: readonly RouteRecordRaw[] = [
  { path: '/', redirect: '/devices' },
  { path: '/devices', name: 'devices', component: DevicesPage, meta: { title: 'Devices' } },
  { path: '/rollouts', name: 'rollouts', component: RolloutsPage, meta: { title: 'Rollouts' } },
  { path: '/telemetry', name: 'telemetry', component: TelemetryPage, meta: { title: 'Telemetry' } },
  { path: '/plans', name: 'plans', component: PlansPage, meta: { title: 'Plans' } },
  { path: '/models', name: 'models', component: ModelsPage, meta: { title: 'Models & data' } },
  { path: '/:rest(.*)*', redirect: '/devices' },
];

export function makeRouter() {
  const router = createRouter({ history: createWebHashHistory(), routes: [...routes] });
  router.afterEach((to) => {
    const title = typeof to.meta['title'] === 'string' ? to.meta['title'] : '';
    document.title = title ? `${title} · WeightSep` : 'WeightSep';
  });
  return router;
}
