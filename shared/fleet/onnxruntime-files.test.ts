import { describe, expect, it } from 'vitest';
import { onnxruntimeFiles } from './onnxruntime-files.ts';

describe('onnxruntimeFiles', () => {
  it('sends the JavaScript, package.json files and only the device architecture’s binary', () => {
    const r = onnxruntimeFiles('arm64');
    if (!r.ok) throw new Error(r.error.message);
    const remote = r.value.map((f) => f.remote);
    expect(remote).toContain('onnxruntime-node/package.json');
    expect(remote).toContain('onnxruntime-node/dist/index.js');
    expect(remote).toContain('onnxruntime-node/bin/napi-v6/linux/arm64/onnxruntime_binding.node');
    expect(remote).toContain('onnxruntime-common/package.json');
    // The CommonJS build's own package.json says "type": "commonjs": without it Node misreads the files.
    expect(remote).toContain('onnxruntime-common/dist/cjs/package.json');
    expect(remote.filter((p) => p.includes('/bin/') && !p.includes('/linux/arm64/'))).toEqual([]);
    expect(remote.filter((p) => p.includes('/script/') || p.endsWith('.ts') || p.endsWith('.map'))).toEqual(
      [],
    );
  });

  it('refuses an architecture onnxruntime-node has no Linux binary for, naming it', () => {
    const r = onnxruntimeFiles('riscv64');
    expect(!r.ok && `${r.error.code} ${r.error.message}`).toMatch(/^E_DEVICE .*"riscv64"/);
  });
});
