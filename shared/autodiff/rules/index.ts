/**
 * The rule table: one backward rule per ONNX operator, each in its own file. The forward graph knows
 * nothing of them; the backward pass looks an operator up here.
 */
import type { GradRule } from './types.ts';
import { Add } from './Add.ts';
import { AveragePool } from './AveragePool.ts';
import { BatchNormalization } from './BatchNormalization.ts';
import { Clip } from './Clip.ts';
import { Concat } from './Concat.ts';
import { Constant } from './Constant.ts';
import { Conv } from './Conv.ts';
import { ConvTranspose } from './ConvTranspose.ts';
import { Div } from './Div.ts';
import { Dropout } from './Dropout.ts';
import { Flatten } from './Flatten.ts';
import { Gemm } from './Gemm.ts';
import { GlobalAveragePool } from './GlobalAveragePool.ts';
import { HardSigmoid } from './HardSigmoid.ts';
import { HardSwish } from './HardSwish.ts';
import { Identity } from './Identity.ts';
import { LeakyRelu } from './LeakyRelu.ts';
import { LogSoftmax } from './LogSoftmax.ts';
import { MatMul } from './MatMul.ts';
import { MaxPool } from './MaxPool.ts';
import { Mul } from './Mul.ts';
import { Pad } from './Pad.ts';
import { Relu } from './Relu.ts';
import { Reshape } from './Reshape.ts';
import { Sigmoid } from './Sigmoid.ts';
import { Slice } from './Slice.ts';
import { Softmax } from './Softmax.ts';
import { Split } from './Split.ts';
import { Squeeze } from './Squeeze.ts';
import { Sub } from './Sub.ts';
import { Tanh } from './Tanh.ts';
import { Transpose } from './Transpose.ts';
import { Unsqueeze } from './Unsqueeze.ts';

export const RULES: Readonly<Record<string, GradRule>> = {
  Add,
  AveragePool,
  BatchNormalization,
  Clip,
  Concat,
  Constant,
  Conv,
  ConvTranspose,
  Div,
  Dropout,
  Flatten,
  Gemm,
  GlobalAveragePool,
  HardSigmoid,
  HardSwish,
  Identity,
  LeakyRelu,
  LogSoftmax,
  MatMul,
  MaxPool,
  Mul,
  Pad,
  Relu,
  Reshape,
  Sigmoid,
  Slice,
  Softmax,
  Split,
  Squeeze,
  Sub,
  Tanh,
  Transpose,
  Unsqueeze,
};

export type { GradRule, RuleContext } from './types.ts';
