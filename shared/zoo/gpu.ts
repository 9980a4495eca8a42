/**
 * State-of-the-art architectures at full width, for the embedded-GPU system (Jetson class): the
 * reference paper runs "10 state-of-the-art DNNs" there. All take 3×32×32 inputs with CIFAR-style
 * stems (the first stride-2 convolution and stem pooling removed, so 32×32 inputs keep enough
 * resolution), and keep the published block structure and widths, so that their weight counts match
 * the usual reference implementations (torchvision, or kuangliu/pytorch-cifar for the CIFAR-only
 * nets) with a 10-class head. Those counts are in `referenceWeights` and checked by the tests.
 *
 * Operators: Conv, BatchNormalization, Relu, Clip (ReLU6), HardSwish, HardSigmoid, Sigmoid, Mul
 * (squeeze-excitation, Swish), Add, Concat, MaxPool, AveragePool, GlobalAveragePool, Flatten, Gemm,
 * Reshape + Transpose (channel shuffle) and Split (ShuffleNetV2's channel split).
 */
import type { Model } from '../onnx/types.ts';
import { buildModel, type BuiltModel, type ModelBuilder, type Value } from './model-builder.ts';

export interface GpuZooEntry {
  readonly name: string;
  readonly title: string;
  /** The implementation whose structure (and weight count) this follows. */
  readonly reference: string;
  /** Learned weights of the reference implementation with a 10-class head (conv, BN γ/β, FC). */
  readonly referenceWeights: number;
  readonly inputShape: readonly number[];
  build(seed: number, classes?: number): Model;
  describe(seed?: number, classes?: number): BuiltModel;
}

type Define = (b: ModelBuilder, x: Value, classes: number) => Value;

const INPUT = [3, 32, 32] as const;

function entry(
  name: string,
  title: string,
  reference: string,
  referenceWeights: number,
  define: Define,
): GpuZooEntry {
  const describe = (seed = 0, classes = 10): BuiltModel =>
    buildModel(name, INPUT, seed, (b, x) => define(b, x, classes));
  return {
    name,
    title,
    reference,
    referenceWeights,
    inputShape: INPUT,
    build: (seed, classes = 10) => describe(seed, classes).model,
    describe,
  };
}

/** Conv (no bias) → BN → optional activation: the unit every BN network below is made of. */
function convBn(
  b: ModelBuilder,
  name: string,
  x: Value,
  out: number,
  kernel: number,
  stride = 1,
  groups = 1,
  act?: (v: Value) => Value,
): Value {
  return b.scope(name, () => {
    const y = b.batchNorm(
      'bn',
      b.conv('conv', x, out, { kernel, stride, pad: Math.floor(kernel / 2), groups, bias: false }),
    );
    return act ? act(y) : y;
  });
}

/** torchvision's `_make_divisible`: round channels to a multiple of 8, never down by more than 10%. */
function divisible(v: number, divisor = 8): number {
  const rounded = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  return rounded < 0.9 * v ? rounded + divisor : rounded;
}

/** Squeeze-and-excitation: GAP → 1×1 conv → act → 1×1 conv → gate, then scale the input per channel. */
function squeezeExcite(
  b: ModelBuilder,
  x: Value,
  squeeze: number,
  act: (v: Value) => Value,
  gate: (v: Value) => Value,
): Value {
  return b.scope('se', () => {
    let s = b.globalAvgPool(x);
    s = act(b.conv('fc1', s, squeeze, { kernel: 1 }));
    s = gate(b.conv('fc2', s, x.shape[0]!, { kernel: 1 }));
    return b.multiply(x, s, 'scaled');
  });
}

function head(b: ModelBuilder, x: Value, classes: number): Value {
  return b.dense('fc', b.flatten(b.globalAvgPool(x)), classes, { init: 'lecun' });
}

// ---- ResNet-18 (He et al. 2016; CIFAR variant as kuangliu/pytorch-cifar) --------------------------

const resnet18: Define = (b, x, classes) => {
  const relu = (v: Value) => b.relu(v);
  x = convBn(b, 'stem', x, 64, 3, 1, 1, relu);
  const widths = [64, 128, 256, 512];
  widths.forEach((width, stage) => {
    for (let block = 0; block < 2; block++) {
      const stride = stage > 0 && block === 0 ? 2 : 1;
      x = b.scope(`layer${stage + 1}.${block}`, () => {
        let y = convBn(b, 'conv1', x, width, 3, stride, 1, relu);
        y = convBn(b, 'conv2', y, width, 3);
        const shortcut =
          stride !== 1 || x.shape[0] !== width ? convBn(b, 'downsample', x, width, 1, stride) : x;
        return b.relu(b.add(y, shortcut));
      });
    }
  });
  return head(b, x, classes);
};

// ---- MobileNetV2 (Sandler et al. 2018; torchvision structure) ---------------------------------------

const mobilenetV2: Define = (b, x, classes) => {
  const relu6 = (v: Value) => b.relu6(v);
  x = convBn(b, 'stem', x, 32, 3, 1, 1, relu6); // CIFAR: stride 1 (ImageNet: 2)
  // expansion t, channels c, repeats n, stride s; the 24-channel stage uses stride 1 on CIFAR (ImageNet: 2).
  const config: [number, number, number, number][] = [
    [1, 16, 1, 1],
    [6, 24, 2, 1],
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, 2],
    [6, 320, 1, 1],
  ];
  let index = 0;
  for (const [t, c, n, s] of config) {
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? s : 1;
      x = b.scope(`block${index++}`, () => {
        const inC = x.shape[0]!;
        let y = t === 1 ? x : convBn(b, 'expand', x, inC * t, 1, 1, 1, relu6);
        y = convBn(b, 'dw', y, y.shape[0]!, 3, stride, y.shape[0]!, relu6);
        y = convBn(b, 'project', y, c, 1);
        return stride === 1 && inC === c ? b.add(y, x) : y;
      });
    }
  }
  x = convBn(b, 'last', x, 1280, 1, 1, 1, relu6);
  return head(b, b.dropout(x, 0.2), classes);
};

// ---- MobileNetV3 (Howard et al. 2019; torchvision structure) ------------------------------------

type Bneck = [kernel: number, expanded: number, out: number, se: boolean, hardSwish: boolean, stride: number];

function mobilenetV3(config: Bneck[], lastConv: number, lastDense: number): Define {
  return (b, x, classes) => {
    const hs = (v: Value) => b.hardSwish(v);
    const relu = (v: Value) => b.relu(v);
    x = convBn(b, 'stem', x, 16, 3, 1, 1, hs); // CIFAR: stride 1 (ImageNet: 2)
    config.forEach(([k, expanded, out, se, useHs, stride], index) => {
      x = b.scope(`block${index}`, () => {
        const act = useHs ? hs : relu;
        const inC = x.shape[0]!;
        let y = expanded === inC ? x : convBn(b, 'expand', x, expanded, 1, 1, 1, act);
        y = convBn(b, 'dw', y, expanded, k, stride, expanded, act);
        if (se) y = squeezeExcite(b, y, divisible(expanded / 4), relu, (v) => b.hardSigmoid(v));
        y = convBn(b, 'project', y, out, 1);
        return stride === 1 && inC === out ? b.add(y, x) : y;
      });
    });
    x = convBn(b, 'last', x, lastConv, 1, 1, 1, hs);
    let y = b.flatten(b.globalAvgPool(x));
    y = b.dropout(b.hardSwish(b.dense('classifier1', y, lastDense)), 0.2);
    return b.dense('classifier2', y, classes, { init: 'lecun' });
  };
}

const mobilenetV3Small = mobilenetV3(
  [
    [3, 16, 16, true, false, 2],
    [3, 72, 24, false, false, 2],
    [3, 88, 24, false, false, 1],
    [5, 96, 40, true, true, 2],
    [5, 240, 40, true, true, 1],
    [5, 240, 40, true, true, 1],
    [5, 120, 48, true, true, 1],
    [5, 144, 48, true, true, 1],
    [5, 288, 96, true, true, 2],
    [5, 576, 96, true, true, 1],
    [5, 576, 96, true, true, 1],
  ],
  576,
  1024,
);

const mobilenetV3Large = mobilenetV3(
  [
    [3, 16, 16, false, false, 1],
    [3, 64, 24, false, false, 2],
    [3, 72, 24, false, false, 1],
    [5, 72, 40, true, false, 2],
    [5, 120, 40, true, false, 1],
    [5, 120, 40, true, false, 1],
    [3, 240, 80, false, true, 2],
    [3, 200, 80, false, true, 1],
    [3, 184, 80, false, true, 1],
    [3, 184, 80, false, true, 1],
    [3, 480, 112, true, true, 1],
    [3, 672, 112, true, true, 1],
    [5, 672, 160, true, true, 2],
    [5, 960, 160, true, true, 1],
    [5, 960, 160, true, true, 1],
  ],
  960,
  1280,
);

// ---- EfficientNet-B0 (Tan & Le 2019; torchvision structure) --------------------------------------

const efficientNetB0: Define = (b, x, classes) => {
  const swish = (v: Value) => b.swish(v);
  x = convBn(b, 'stem', x, 32, 3, 1, 1, swish); // CIFAR: stride 1 (ImageNet: 2)
  // expansion, kernel, stride, out channels, repeats
  const stages: [number, number, number, number, number][] = [
    [1, 3, 1, 16, 1],
    [6, 3, 2, 24, 2],
    [6, 5, 2, 40, 2],
    [6, 3, 2, 80, 3],
    [6, 5, 1, 112, 3],
    [6, 5, 2, 192, 4],
    [6, 3, 1, 320, 1],
  ];
  let index = 0;
  for (const [t, k, s, c, n] of stages) {
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? s : 1;
      x = b.scope(`block${index++}`, () => {
        const inC = x.shape[0]!;
        let y = t === 1 ? x : convBn(b, 'expand', x, inC * t, 1, 1, 1, swish);
        y = convBn(b, 'dw', y, y.shape[0]!, k, stride, y.shape[0]!, swish);
        // EfficientNet squeezes to a quarter of the block's *input* channels (not the expanded ones).
        y = squeezeExcite(b, y, Math.max(1, Math.floor(inC / 4)), swish, (v) => b.sigmoid(v));
        y = convBn(b, 'project', y, c, 1);
        // Stochastic depth is training-only; at inference the residual is a plain Add.
        return stride === 1 && inC === c ? b.add(y, x) : y;
      });
    }
  }
  x = convBn(b, 'last', x, 1280, 1, 1, 1, swish);
  return head(b, b.dropout(x, 0.2), classes);
};

// ---- MnasNet 1.0 (Tan et al. 2019; torchvision mnasnet1_0 structure) -------------------------------

const mnasnet10: Define = (b, x, classes) => {
  const relu = (v: Value) => b.relu(v);
  x = convBn(b, 'stem', x, 32, 3, 1, 1, relu); // CIFAR: stride 1 (ImageNet: 2)
  x = convBn(b, 'stem_dw', x, 32, 3, 1, 32, relu);
  x = convBn(b, 'stem_project', x, 16, 1);
  // out channels, kernel, first stride, expansion, repeats
  const stacks: [number, number, number, number, number][] = [
    [24, 3, 2, 3, 3],
    [40, 5, 2, 3, 3],
    [80, 5, 2, 6, 3],
    [96, 3, 1, 6, 2],
    [192, 5, 2, 6, 4],
    [320, 3, 1, 6, 1],
  ];
  stacks.forEach(([c, k, s, t, n], stack) => {
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? s : 1;
      x = b.scope(`stack${stack + 1}.${i}`, () => {
        const inC = x.shape[0]!;
        let y = convBn(b, 'expand', x, inC * t, 1, 1, 1, relu);
        y = convBn(b, 'dw', y, inC * t, k, stride, inC * t, relu);
        y = convBn(b, 'project', y, c, 1);
        return stride === 1 && inC === c ? b.add(y, x) : y;
      });
    }
  });
  x = convBn(b, 'last', x, 1280, 1, 1, 1, relu);
  return head(b, b.dropout(x, 0.2), classes);
};

// ---- ShuffleNetV2 1.0x (Ma et al. 2018; torchvision structure) ------------------------------------

const shuffleNetV2: Define = (b, x, classes) => {
  const relu = (v: Value) => b.relu(v);
  x = convBn(b, 'stem', x, 24, 3, 1, 1, relu); // CIFAR: stride 1 and no max-pool (ImageNet: stride 2 + pool)
  const repeats = [4, 8, 4];
  const widths = [116, 232, 464];
  repeats.forEach((n, stage) => {
    const half = widths[stage]! / 2;
    for (let i = 0; i < n; i++) {
      x = b.scope(`stage${stage + 2}.${i}`, () => {
        const branch = (v: Value, stride: number) =>
          b.scope('branch2', () => {
            let y = convBn(b, 'pw1', v, half, 1, 1, 1, relu);
            y = convBn(b, 'dw', y, half, 3, stride, half);
            return convBn(b, 'pw2', y, half, 1, 1, 1, relu);
          });
        let y: Value;
        if (i === 0) {
          // Down-sampling unit: both branches see the whole input.
          const left = b.scope('branch1', () =>
            convBn(b, 'pw', convBn(b, 'dw', x, x.shape[0]!, 3, 2, x.shape[0]!), half, 1, 1, 1, relu),
          );
          y = b.concat([left, branch(x, 2)]);
        } else {
          // Basic unit: half the channels pass through untouched.
          const [keep, work] = b.channelSplit(x);
          y = b.concat([keep!, branch(work!, 1)]);
        }
        return b.channelShuffle(y, 2);
      });
    }
  });
  x = convBn(b, 'conv5', x, 1024, 1, 1, 1, relu);
  return head(b, x, classes);
};

// ---- SqueezeNet 1.1 (Iandola et al. 2016; torchvision structure) ----------------------------------

const squeezeNet11: Define = (b, x, classes) => {
  const fire = (name: string, v: Value, squeeze: number, expand: number): Value =>
    b.scope(name, () => {
      const s = b.relu(b.conv('squeeze', v, squeeze, { kernel: 1 }));
      const e1 = b.relu(b.conv('expand1x1', s, expand, { kernel: 1 }));
      const e3 = b.relu(b.conv('expand3x3', s, expand, { kernel: 3, pad: 1 }));
      return b.concat([e1, e3]);
    });
  const pool = (v: Value) => b.maxPool(v, 3, { stride: 2, ceilMode: true });
  x = b.relu(b.conv('conv1', x, 64, { kernel: 3, pad: 1 })); // CIFAR: stride 1, padded (ImageNet: stride 2)
  x = pool(x);
  x = fire('fire2', x, 16, 64);
  x = fire('fire3', x, 16, 64);
  x = pool(x);
  x = fire('fire4', x, 32, 128);
  x = fire('fire5', x, 32, 128);
  x = pool(x);
  x = fire('fire6', x, 48, 192);
  x = fire('fire7', x, 48, 192);
  x = fire('fire8', x, 64, 256);
  x = fire('fire9', x, 64, 256);
  // The classifier is a 1×1 conv + ReLU, averaged over space: SqueezeNet has no dense layer.
  x = b.relu(b.conv('classifier', b.dropout(x, 0.5), classes, { kernel: 1, init: 'lecun' }));
  return b.flatten(b.globalAvgPool(x));
};

// ---- VGG-11 with batch norm (Simonyan & Zisserman 2015; CIFAR variant as kuangliu/pytorch-cifar) ---

const vgg11: Define = (b, x, classes) => {
  const config: (number | 'M')[] = [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'];
  let index = 0;
  for (const item of config) {
    if (item === 'M') x = b.maxPool(x, 2);
    else {
      const i = index++;
      x = b.scope(`features${i}`, () =>
        b.relu(b.batchNorm('bn', b.conv('conv', x, item, { kernel: 3, pad: 1 }))),
      );
    }
  }
  return b.dense('classifier', b.flatten(x), classes, { init: 'lecun' });
};

// ---- DenseNet-121 (Huang et al. 2017; CIFAR variant as kuangliu/pytorch-cifar) --------------------

const densenet121: Define = (b, x, classes) => {
  const growth = 32;
  const blocks = [6, 12, 24, 16];
  const preact = (name: string, v: Value, out: number, kernel: number) =>
    b.scope(name, () =>
      b.conv('conv', b.relu(b.batchNorm('bn', v)), out, { kernel, pad: Math.floor(kernel / 2), bias: false }),
    );
  x = b.conv('stem', x, 2 * growth, { kernel: 3, pad: 1, bias: false });
  blocks.forEach((n, blockIndex) => {
    for (let i = 0; i < n; i++) {
      x = b.scope(`dense${blockIndex + 1}.layer${i + 1}`, () => {
        const y = preact('conv2', preact('conv1', x, 4 * growth, 1), growth, 3);
        return b.concat([y, x]);
      });
    }
    if (blockIndex < blocks.length - 1) {
      x = b.scope(`transition${blockIndex + 1}`, () =>
        b.avgPool(preact('conv', x, Math.floor(x.shape[0]! / 2), 1), 2),
      );
    }
  });
  x = b.relu(b.batchNorm('final_bn', x));
  return head(b, x, classes);
};

export const GPU_ZOO: readonly GpuZooEntry[] = [
  entry('resnet18', 'ResNet-18', 'kuangliu/pytorch-cifar ResNet18', 11_173_962, resnet18),
  entry('mobilenet_v2', 'MobileNetV2', 'torchvision mobilenet_v2 (CIFAR strides)', 2_236_682, mobilenetV2),
  entry(
    'mobilenet_v3_small',
    'MobileNetV3-Small',
    'torchvision mobilenet_v3_small',
    1_528_106,
    mobilenetV3Small,
  ),
  entry(
    'mobilenet_v3_large',
    'MobileNetV3-Large',
    'torchvision mobilenet_v3_large',
    4_214_842,
    mobilenetV3Large,
  ),
  entry('efficientnet_b0', 'EfficientNet-B0', 'torchvision efficientnet_b0', 4_020_358, efficientNetB0),
  entry('mnasnet1_0', 'MnasNet 1.0', 'torchvision mnasnet1_0', 3_115_122, mnasnet10),
  entry('shufflenet_v2_x1_0', 'ShuffleNetV2 1.0x', 'torchvision shufflenet_v2_x1_0', 1_263_854, shuffleNetV2),
  entry('squeezenet1_1', 'SqueezeNet 1.1', 'torchvision squeezenet1_1', 727_626, squeezeNet11),
  entry('vgg11_bn', 'VGG-11 (BN)', 'kuangliu/pytorch-cifar VGG11', 9_231_114, vgg11),
  entry('densenet121', 'DenseNet-121', 'kuangliu/pytorch-cifar DenseNet121', 6_956_298, densenet121),
];

export function gpuModel(name: string): GpuZooEntry | undefined {
  return GPU_ZOO.find((m) => m.name === name);
}
