/**
 * Converts between ONNX protobuf bytes and the plain model objects of `types.ts`.
 * Decoding never throws: malformed bytes come back as specific errors.
 */
import { fail, ok, type Result } from '../core/errors.ts';
import type { onnx as P } from 'onnx-proto';
import { onnx } from './proto.ts';
import {
  DataType,
  dataTypeName,
  elementCount,
  type Attribute,
  type DataTypeCode,
  type Dim,
  type Graph,
  type Model,
  type Node,
  type Tensor,
  type TensorValues,
  type ValueInfo,
} from './types.ts';

type Int64 = number | { toString(): string };
type ProtoTensor = P.ITensorProto;
type ProtoGraph = P.IGraphProto;
type ProtoValueInfo = P.IValueInfoProto;
type ProtoNode = P.INodeProto;
type ProtoAttribute = P.IAttributeProto;

function num(v: Int64 | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : Number(v.toString());
}

// ---------------------------------------------------------------- decode

export function decodeModel(bytes: Uint8Array): Result<Model> {
  if (bytes.byteLength === 0) {
    return fail('E_ONNX_NOT_ONNX', 'The file is empty, not an ONNX model.');
  }
  let proto: P.ModelProto;
  try {
    proto = onnx.ModelProto.decode(bytes);
  } catch (thrown) {
    const why = thrown instanceof Error ? thrown.message : String(thrown);
    if (/index out of range/.test(why)) {
      return fail(
        'E_ONNX_TRUNCATED',
        `The ONNX file ends in the middle of a record (${bytes.byteLength} bytes read): it is truncated.`,
        'Copy or export the model again; the file is incomplete.',
      );
    }
    return fail(
      'E_ONNX_NOT_ONNX',
      `The file is not an ONNX model: its bytes are not a valid ONNX protobuf (${why}).`,
      'Pass an .onnx file exported by a framework (PyTorch, TensorFlow, tf2onnx) or built by WeightSep.',
    );
  }
  if (!proto.graph) {
    const looksLikeModel = num(proto.irVersion as Int64) > 0 && (proto.opsetImport?.length ?? 0) > 0;
    return looksLikeModel
      ? fail('E_ONNX_TRUNCATED', 'The ONNX file has a header but no graph: it is truncated or incomplete.')
      : fail('E_ONNX_NOT_ONNX', 'The file is not an ONNX model: it holds no graph.');
  }
  if (num(proto.irVersion as Int64) <= 0 || (proto.opsetImport?.length ?? 0) === 0) {
    return fail('E_ONNX_NOT_ONNX', 'The file is not an ONNX model: it has no IR version or opset.');
  }
  try {
    return ok({
      irVersion: num(proto.irVersion as Int64),
      opsetImports: (proto.opsetImport ?? []).map((o) => ({
        domain: o.domain ?? '',
        version: num(o.version as Int64),
      })),
      producerName: proto.producerName ?? '',
      producerVersion: proto.producerVersion ?? '',
      graph: decodeGraph(proto.graph),
      metadata: Object.fromEntries((proto.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? ''])),
    });
  } catch (thrown) {
    return fail(
      'E_ONNX_INVALID',
      `The ONNX model is malformed: ${thrown instanceof Error ? thrown.message : thrown}`,
    );
  }
}

function decodeGraph(g: ProtoGraph): Graph {
  return {
    name: g.name ?? '',
    nodes: (g.node ?? []).map(decodeNode),
    inputs: (g.input ?? []).map(decodeValueInfo),
    outputs: (g.output ?? []).map(decodeValueInfo),
    initializers: (g.initializer ?? []).map(decodeTensor),
    valueInfo: (g.valueInfo ?? []).map(decodeValueInfo),
  };
}

function decodeValueInfo(v: ProtoValueInfo): ValueInfo {
  const tensorType = v.type?.tensorType;
  const info: { name: string; elemType: DataTypeCode; shape?: Dim[] } = {
    name: v.name ?? '',
    elemType: tensorType?.elemType ?? 0,
  };
  if (tensorType?.shape) {
    info.shape = (tensorType.shape.dim ?? []).map((d): Dim => {
      // `value` is protobufjs's oneof discriminator on decoded messages.
      const which = (d as { value?: string }).value;
      if (which === 'dimValue') return num(d.dimValue as Int64);
      if (which === 'dimParam') return d.dimParam ?? null;
      return null;
    });
  }
  return info;
}

function decodeNode(n: ProtoNode): Node {
  const attributes: Record<string, Attribute> = {};
  for (const a of n.attribute ?? []) attributes[a.name ?? ''] = decodeAttribute(a);
  return {
    name: n.name ?? '',
    opType: n.opType ?? '',
    domain: n.domain ?? '',
    inputs: [...(n.input ?? [])],
    outputs: [...(n.output ?? [])],
    attributes,
  };
}

const A = onnx.AttributeProto.AttributeType;

function decodeAttribute(a: ProtoAttribute): Attribute {
  switch (a.type) {
    case A.FLOAT:
      return { type: 'float', value: a.f ?? 0 };
    case A.INT:
      return { type: 'int', value: num(a.i as Int64) };
    case A.STRING:
      return { type: 'string', value: Buffer.from(a.s ?? new Uint8Array()).toString('utf8') };
    case A.TENSOR:
      return { type: 'tensor', value: decodeTensor(a.t ?? {}) };
    case A.GRAPH:
      return { type: 'graph', value: decodeGraph(a.g ?? {}) };
    case A.FLOATS:
      return { type: 'floats', value: [...(a.floats ?? [])] };
    case A.INTS:
      return { type: 'ints', value: (a.ints ?? []).map((v) => num(v as Int64)) };
    case A.STRINGS:
      return { type: 'strings', value: (a.strings ?? []).map((s) => Buffer.from(s).toString('utf8')) };
    default:
      throw new Error(`attribute "${a.name}" has an unsupported type (${a.type}).`);
  }
}

function copyBytes(raw: Uint8Array): ArrayBuffer {
  // Copy into a fresh, aligned buffer: raw_data slices are not aligned for typed arrays.
  const out = new ArrayBuffer(raw.byteLength);
  new Uint8Array(out).set(raw);
  return out;
}

function decodeTensor(t: ProtoTensor): Tensor {
  const dims = (t.dims ?? []).map((d) => num(d as Int64));
  const dataType = t.dataType ?? 0;
  const name = t.name ?? '';
  const external = t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL;
  if (external) {
    const location = (t.externalData ?? []).find((e) => e.key === 'location')?.value ?? '(unnamed file)';
    return { name, dims, dataType, data: new Float32Array(0), externalLocation: location };
  }
  const count = elementCount(dims);
  const raw = t.rawData && t.rawData.byteLength > 0 ? t.rawData : undefined;
  let data: TensorValues;
  switch (dataType) {
    case DataType.FLOAT:
      data = raw ? new Float32Array(copyBytes(raw)) : Float32Array.from(t.floatData ?? []);
      break;
    case DataType.DOUBLE:
      data = raw ? new Float64Array(copyBytes(raw)) : Float64Array.from(t.doubleData ?? []);
      break;
    case DataType.INT64:
      data = raw
        ? new BigInt64Array(copyBytes(raw))
        : BigInt64Array.from((t.int64Data ?? []).map((v) => BigInt((v as Int64).toString())));
      break;
    case DataType.INT32:
      data = raw ? new Int32Array(copyBytes(raw)) : Int32Array.from(t.int32Data ?? []);
      break;
    case DataType.UINT8:
    case DataType.BOOL:
      data = raw ? new Uint8Array(copyBytes(raw)) : Uint8Array.from(t.int32Data ?? []);
      break;
    case DataType.INT8:
      data = raw ? new Int8Array(copyBytes(raw)) : Int8Array.from(t.int32Data ?? []);
      break;
    default:
      // Other types are kept as raw bytes; validation rejects them where the engine needs numbers.
      data = raw ? new Uint8Array(copyBytes(raw)) : new Uint8Array(0);
      return { name, dims, dataType, data };
  }
  if (data.length !== count) {
    throw new Error(
      `tensor "${name}" (${dataTypeName(dataType)}, dims [${dims.join(', ')}]) holds ${data.length} values, expected ${count}.`,
    );
  }
  return { name, dims, dataType, data };
}

// ---------------------------------------------------------------- encode

export function encodeModel(model: Model): Uint8Array {
  const proto = onnx.ModelProto.create({
    irVersion: model.irVersion,
    opsetImport: model.opsetImports.map((o) => ({ domain: o.domain, version: o.version })),
    producerName: model.producerName,
    producerVersion: model.producerVersion,
    graph: encodeGraph(model.graph),
    metadataProps: Object.entries(model.metadata).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(proto).finish();
}

function encodeGraph(g: Graph): P.IGraphProto {
  return {
    name: g.name,
    node: g.nodes.map(encodeNode),
    input: g.inputs.map(encodeValueInfo),
    output: g.outputs.map(encodeValueInfo),
    initializer: g.initializers.map(encodeTensor),
    valueInfo: g.valueInfo.map(encodeValueInfo),
  };
}

function encodeValueInfo(v: ValueInfo): P.IValueInfoProto {
  const tensorType: P.TypeProto.ITensor = { elemType: v.elemType };
  if (v.shape) {
    tensorType.shape = {
      dim: v.shape.map((d) =>
        typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {},
      ),
    };
  }
  return { name: v.name, type: { tensorType } };
}

function encodeNode(n: Node): P.INodeProto {
  const node: P.INodeProto = {
    input: [...n.inputs],
    output: [...n.outputs],
    name: n.name,
    opType: n.opType,
    attribute: Object.entries(n.attributes).map(([name, a]) => encodeAttribute(name, a)),
  };
  if (n.domain) node.domain = n.domain;
  return node;
}

function encodeAttribute(name: string, a: Attribute): P.IAttributeProto {
  switch (a.type) {
    case 'float':
      return { name, type: A.FLOAT, f: a.value };
    case 'int':
      return { name, type: A.INT, i: a.value };
    case 'string':
      return { name, type: A.STRING, s: Buffer.from(a.value, 'utf8') };
    case 'tensor':
      return { name, type: A.TENSOR, t: encodeTensor(a.value) };
    case 'graph':
      return { name, type: A.GRAPH, g: encodeGraph(a.value) };
    case 'floats':
      return { name, type: A.FLOATS, floats: [...a.value] };
    case 'ints':
      return { name, type: A.INTS, ints: [...a.value] };
    case 'strings':
      return { name, type: A.STRINGS, strings: a.value.map((s) => Buffer.from(s, 'utf8')) };
  }
}

function encodeTensor(t: Tensor): P.ITensorProto {
  const proto: P.ITensorProto = { name: t.name, dims: [...t.dims], dataType: t.dataType };
  if (t.externalLocation !== undefined) {
    proto.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    proto.externalData = [{ key: 'location', value: t.externalLocation }];
    return proto;
  }
  // Everything little-endian in raw_data: compact, and what ORT and other tools read fastest.
  proto.rawData = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice();
  return proto;
}
