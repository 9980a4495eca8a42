import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTempDir } from '../core/testing-temp.ts';
import { Rng } from '../core/rng.ts';
import { GraphBuilder, attr } from './builder.ts';
import { decodeModel, encodeModel } from './codec.ts';
import { loadModel, readModelFile, saveModel } from './io.ts';
import { createSession, floatTensor } from './ort.ts';
import { tinyConvNet } from './testing.ts';
import { DataType, type Model } from './types.ts';
import { validateModel } from './validate.ts';
import { selectWeights, weightsAsInitializers, weightsAsInputs } from './weights.ts';

const dir = useTempDir('wsep-onnx-');

function unwrapOk<T>(r: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

async function runModel(model: Model, feeds: Record<string, Float32Array>, shapes: Record<string, number[]>) {
  const session = unwrapOk(await createSession(model));
  const input = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, floatTensor(v, shapes[k]!)]));
  const out = await session.run(input);
  return out[model.graph.outputs[0]!.name]!.data as Float32Array;
}

describe('ONNX codec', () => {
  it('round-trips a model: load → save → load gives identical graphs and weights', () => {
    const model = tinyConvNet();
    const path = join(dir, 'tiny.onnx');
    unwrapOk(saveModel(path, model));
    const once = unwrapOk(readModelFile(path));
    expect(once).toEqual(model);
    unwrapOk(saveModel(join(dir, 'tiny2.onnx'), once));
    expect(readFileSync(join(dir, 'tiny2.onnx'))).toEqual(readFileSync(path));
  });

  it('selects weights in graph order and leaves other initializers alone', () => {
    const names = selectWeights(tinyConvNet()).map((w) => w.name);
    expect(names).toEqual(['conv1.weight', 'conv1.bias', 'fc.weight', 'fc.bias']);
  });

  it('a model with weights as inputs gives the same outputs as the original', async () => {
    const model = tinyConvNet(3);
    const { model: free, weights } = weightsAsInputs(model);
    expect(free.graph.initializers).toHaveLength(0);
    const rng = new Rng(9);
    const x = Float32Array.from({ length: 5 * 64 }, () => rng.normal());
    const original = await runModel(model, { input: x }, { input: [5, 1, 8, 8] });
    const feeds: Record<string, Float32Array> = { input: x };
    const shapes: Record<string, number[]> = { input: [5, 1, 8, 8] };
    for (const w of weights) {
      feeds[w.name] = w.data as Float32Array;
      shapes[w.name] = [...w.dims];
    }
    const fed = await runModel(free, feeds, shapes);
    expect(Array.from(fed)).toEqual(Array.from(original));
    expect(weightsAsInitializers(free, weights).graph.initializers).toHaveLength(4);
  });
});

describe('ONNX input errors', () => {
  const good = encodeModel(tinyConvNet());

  it('reports a truncated file', () => {
    const r = decodeModel(good.subarray(0, Math.floor(good.length * 0.6)));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('E_ONNX_TRUNCATED');
  });

  it('reports random bytes as not ONNX', () => {
    const rng = new Rng(4);
    const bytes = Uint8Array.from({ length: 4096 }, () => rng.int(256));
    const r = decodeModel(bytes);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(['E_ONNX_NOT_ONNX', 'E_ONNX_TRUNCATED']).toContain(r.error.code);
  });

  it('reports a file with the wrong magic (a PNG) as not ONNX', () => {
    const png = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      Buffer.alloc(64, 7),
    ]);
    const r = decodeModel(png);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('E_ONNX_NOT_ONNX');
  });

  it('reports an empty file', () => {
    const r = decodeModel(new Uint8Array());
    expect(r.ok && r).toBe(false);
  });

  it('reports external data tensors by name', () => {
    const m = tinyConvNet();
    const ext: Model = {
      ...m,
      graph: {
        ...m.graph,
        initializers: m.graph.initializers.map((t, i) =>
          i === 0 ? { ...t, externalLocation: 'weights.bin' } : t,
        ),
      },
    };
    const decoded = unwrapOk(decodeModel(encodeModel(ext)));
    const r = validateModel(decoded);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('E_ONNX_EXTERNAL_DATA');
      expect(r.error.message).toContain('conv1.weight');
    }
  });

  it('lists every unsupported operator with its node name', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, ['batch', 4]);
    const a = b.op('Erf', [x]);
    const c = b.op('Gelu', [a]);
    b.output(b.op('Relu', [c]), DataType.FLOAT);
    const r = validateModel(b.build('odd'));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('E_ONNX_UNSUPPORTED_OP');
      expect(r.error.message).toMatch(/Erf \(node "Erf_node"\).*Gelu \(node "Gelu_node"\)/);
    }
  });

  it('rejects non-float32 weights', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, ['batch', 2]);
    b.initializer({ name: 'w', dims: [2, 2], dataType: DataType.DOUBLE, data: new Float64Array(4) });
    b.output(b.op('MatMul', [x, 'w']), DataType.FLOAT);
    const r = validateModel(b.build('f64'));
    expect(!r.ok && r.error.code).toBe('E_ONNX_DTYPE');
  });

  it('rejects dynamic non-batch dimensions', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, ['batch', 'width']);
    b.output(b.op('Relu', [x]), DataType.FLOAT);
    const r = validateModel(b.build('dyn'));
    expect(!r.ok && r.error.code).toBe('E_ONNX_DYNAMIC_SHAPE');
    if (!r.ok) expect(r.error.message).toContain('axis 1');
  });

  it('names the file when loading fails', () => {
    const path = join(dir, 'broken.onnx');
    writeFileSync(path, good.subarray(0, 100));
    const r = loadModel(path);
    expect(!r.ok && r.error.message).toContain('broken.onnx');
    const missing = loadModel(join(dir, 'nope.onnx'));
    expect(!missing.ok && missing.error.code).toBe('E_NOT_FOUND');
  });

  it('keeps attribute types through the codec', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, ['batch', 3]);
    b.output(b.op('LeakyRelu', [x], { alpha: attr.float(0.25) }), DataType.FLOAT);
    const m = unwrapOk(decodeModel(encodeModel(b.build('attrs'))));
    expect(m.graph.nodes[0]!.attributes['alpha']).toEqual({ type: 'float', value: 0.25 });
  });
});
