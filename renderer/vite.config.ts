/**
 * The renderer's build: Vue single-file components bundled by Vite into renderer/dist, which the
 * server mode (shared/api/server.ts) and the Electron window both load. Relative asset paths (`base:
 * './'`) let the same build load from http://127.0.0.1:port/ and from a file:// URL in Electron.
 */
import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: './',
  plugins: [vue()],
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    // ECharts alone is about 1 MB unminified; the app is served from disk, so one chunk is fine.
    chunkSizeWarningLimit: 1500,
    sourcemap: false,
  },
  server: { host: '127.0.0.1', strictPort: true },
});
