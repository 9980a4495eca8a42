import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'shared/**/*.test.ts',
      'test/**/*.test.ts',
      'scripts/**/*.test.ts',
      'resources/agent/**/*.test.ts',
      // The renderer's store tests (Pinia over a faked transport; no DOM needed).
      'renderer/src/**/*.test.ts',
    ],
    // onnxruntime sessions and training steps are CPU-bound; two workers match the target machines.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
