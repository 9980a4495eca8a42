/**
 * The operators WeightSep understands, and which of their inputs are learned weights.
 * The autodiff's rule table must cover every trainable operator here (a test checks it).
 */

/** For each supported operator: the input positions that hold learned parameters when they are initializers. */
export const WEIGHT_INPUTS: Readonly<Record<string, readonly number[]>> = {
  Conv: [1, 2],
  ConvTranspose: [1, 2],
  Gemm: [0, 1, 2],
  MatMul: [0, 1],
  Add: [0, 1],
  Sub: [0, 1],
  Mul: [0, 1],
  Div: [0, 1],
  // Scale and bias are learned; the running mean and variance are statistics and stay in the graph.
  BatchNormalization: [1, 2],
  Relu: [],
  LeakyRelu: [],
  Clip: [],
  Sigmoid: [],
  Tanh: [],
  HardSigmoid: [],
  HardSwish: [],
  Softmax: [],
  LogSoftmax: [],
  MaxPool: [],
  AveragePool: [],
  GlobalAveragePool: [],
  Flatten: [],
  Reshape: [],
  Transpose: [],
  Concat: [],
  Split: [],
  Slice: [],
  Squeeze: [],
  Unsqueeze: [],
  Dropout: [],
  Identity: [],
  Pad: [],
  Constant: [],
};

export const SUPPORTED_OPS: ReadonlySet<string> = new Set(Object.keys(WEIGHT_INPUTS));
