/**
 * A plain, immutable-by-convention view of an ONNX model: the engine works on these objects, never on
 * protobuf messages, so that graph code is easy to read and to test. `codec.ts` converts both ways.
 */

/** ONNX TensorProto.DataType values the engine names. */
export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  BFLOAT16: 16,
} as const;
export type DataTypeCode = number;

export function dataTypeName(code: DataTypeCode): string {
  for (const [name, value] of Object.entries(DataType)) if (value === code) return name.toLowerCase();
  return `type ${code}`;
}

export type TensorValues = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array;

export interface Tensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly dataType: DataTypeCode;
  readonly data: TensorValues;
  /** Set when the tensor's bytes live in an external file; the engine refuses such models. */
  readonly externalLocation?: string;
}

/** A dimension: a fixed size, a symbolic name (e.g. 'batch'), or unknown (null). */
export type Dim = number | string | null;

export interface ValueInfo {
  readonly name: string;
  readonly elemType: DataTypeCode;
  /** Undefined when the value's shape is not recorded at all. */
  readonly shape?: readonly Dim[];
}

export type Attribute =
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'int'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'tensor'; readonly value: Tensor }
  | { readonly type: 'graph'; readonly value: Graph }
  | { readonly type: 'floats'; readonly value: readonly number[] }
  | { readonly type: 'ints'; readonly value: readonly number[] }
  | { readonly type: 'strings'; readonly value: readonly string[] };

export interface Node {
  readonly name: string;
  readonly opType: string;
  /** '' for the default ai.onnx domain. */
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: Readonly<Record<string, Attribute>>;
}

export interface Graph {
  readonly name: string;
  readonly nodes: readonly Node[];
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly initializers: readonly Tensor[];
  readonly valueInfo: readonly ValueInfo[];
}

export interface OpsetImport {
  readonly domain: string;
  readonly version: number;
}

export interface Model {
  readonly irVersion: number;
  readonly opsetImports: readonly OpsetImport[];
  readonly producerName: string;
  readonly producerVersion: string;
  readonly graph: Graph;
  readonly metadata: Readonly<Record<string, string>>;
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function attrInt(node: Node, name: string, fallback: number): number {
  const a = node.attributes[name];
  return a && a.type === 'int' ? a.value : fallback;
}

export function attrFloat(node: Node, name: string, fallback: number): number {
  const a = node.attributes[name];
  return a && (a.type === 'float' || a.type === 'int') ? a.value : fallback;
}

export function attrInts(node: Node, name: string, fallback: readonly number[]): readonly number[] {
  const a = node.attributes[name];
  return a && a.type === 'ints' ? a.value : fallback;
}

export function attrString(node: Node, name: string, fallback: string): string {
  const a = node.attributes[name];
  return a && a.type === 'string' ? a.value : fallback;
}

/** The default-domain opset version of a model (ai.onnx). */
export function defaultOpset(model: Model): number {
  return model.opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0;
}
