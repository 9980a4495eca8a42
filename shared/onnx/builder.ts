/**
 * A small graph builder: the model builder (zoo) and the autodiff both emit ONNX through it, so
 * naming, constants and opset handling live in one place.
 */
import {
  DataType,
  type Attribute,
  type DataTypeCode,
  type Dim,
  type Model,
  type Node,
  type Tensor,
  type ValueInfo,
} from './types.ts';

export const DEFAULT_OPSET = 17;
export const DEFAULT_IR_VERSION = 8;

export const attr = {
  int: (value: number): Attribute => ({ type: 'int', value }),
  float: (value: number): Attribute => ({ type: 'float', value }),
  ints: (value: readonly number[]): Attribute => ({ type: 'ints', value }),
  floats: (value: readonly number[]): Attribute => ({ type: 'floats', value }),
  string: (value: string): Attribute => ({ type: 'string', value }),
  tensor: (value: Tensor): Attribute => ({ type: 'tensor', value }),
};

export function floatTensor(
  name: string,
  dims: readonly number[],
  data: Float32Array | readonly number[],
): Tensor {
  return {
    name,
    dims,
    dataType: DataType.FLOAT,
    data: data instanceof Float32Array ? data : Float32Array.from(data),
  };
}

export function int64Tensor(name: string, dims: readonly number[], data: readonly number[]): Tensor {
  return { name, dims, dataType: DataType.INT64, data: BigInt64Array.from(data.map((v) => BigInt(v))) };
}

export class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Tensor[] = [];
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  private readonly used = new Set<string>();
  private counter = 0;

  constructor(private readonly namespace = '') {}

  /** A value name not used before in this builder, derived from `hint`. */
  fresh(hint: string): string {
    let name = `${this.namespace}${hint}`;
    while (this.used.has(name)) name = `${this.namespace}${hint}_${++this.counter}`;
    this.used.add(name);
    return name;
  }

  /** Marks names that exist already (e.g. an imported graph's values) so `fresh` avoids them. */
  reserve(names: Iterable<string>): void {
    for (const n of names) this.used.add(n);
  }

  input(name: string, elemType: DataTypeCode, shape: readonly Dim[]): string {
    this.used.add(name);
    this.inputs.push({ name, elemType, shape });
    return name;
  }

  output(name: string, elemType: DataTypeCode, shape?: readonly Dim[]): void {
    this.outputs.push(shape ? { name, elemType, shape } : { name, elemType });
  }

  initializer(tensor: Tensor): string {
    this.used.add(tensor.name);
    this.initializers.push(tensor);
    return tensor.name;
  }

  /** A float constant, stored as an initializer with a fresh name. */
  constFloat(hint: string, dims: readonly number[], data: Float32Array | readonly number[]): string {
    return this.initializer(floatTensor(this.fresh(hint), dims, data));
  }

  /** An int64 constant (shapes, axes), stored as an initializer with a fresh name. */
  constInt64(hint: string, data: readonly number[], dims: readonly number[] = [data.length]): string {
    return this.initializer(int64Tensor(this.fresh(hint), dims, data));
  }

  /** Adds a node with one output and returns the output's name. */
  op(
    opType: string,
    inputs: readonly string[],
    attributes: Record<string, Attribute> = {},
    outputHint?: string,
  ): string {
    return this.opN(opType, inputs, 1, attributes, outputHint)[0]!;
  }

  /** Adds a node with `outputCount` outputs and returns their names. */
  opN(
    opType: string,
    inputs: readonly string[],
    outputCount: number,
    attributes: Record<string, Attribute> = {},
    outputHint?: string,
  ): string[] {
    const base = outputHint ?? opType.toLowerCase();
    const outputs = Array.from({ length: outputCount }, (_, i) =>
      this.fresh(i === 0 ? base : `${base}_out${i}`),
    );
    this.nodes.push({ name: this.fresh(`${opType}_node`), opType, domain: '', inputs, outputs, attributes });
    return outputs;
  }

  build(name: string, opset = DEFAULT_OPSET, producerName = 'weightsep'): Model {
    return {
      irVersion: DEFAULT_IR_VERSION,
      opsetImports: [{ domain: '', version: opset }],
      producerName,
      producerVersion: '0.1.0',
      graph: {
        name,
        nodes: [...this.nodes],
        inputs: [...this.inputs],
        outputs: [...this.outputs],
        initializers: [...this.initializers],
        valueInfo: [],
      },
      metadata: {},
    };
  }
}
