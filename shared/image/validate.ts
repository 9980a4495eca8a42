/**
 * The consistency rules of a manifest (docs/FORMAT.md §6): page counts against sizes, file names,
 * page-table ranges, one page of a model per shared slot, tensors contiguous and matching their shapes,
 * and for i8 pages one valid scale per page.
 * Used by the reader on untrusted manifests and by the writer, which refuses to write a plan that breaks them.
 */
import { DataType, type Model } from '../onnx/types.ts';
import { pageCount, valueBytesOf, type ValueType } from './plan.ts';
import { validScale } from './quantize.ts';
import {
  MANIFEST_FILE,
  MODEL_NAME,
  SHARED_FILE,
  exclusiveFile,
  graphFile,
  type BundleProblem,
  type BundleProblemKind,
  type Manifest,
  type ManifestModel,
  type PageFile,
} from './manifest.ts';

function problem(
  field: string,
  message: string,
  file = MANIFEST_FILE,
  kind: BundleProblemKind = 'inconsistent',
): BundleProblem {
  return { kind, file, field, message: `${file}: ${field}: ${message}` };
}

/**
 * i8 page files carry one scale per page, each a finite float32 > 0 (a device divides nothing by it,
 * but a zero, negative or infinite scale turns every value of the page into 0, its negation or
 * NaN); f32 page files carry none.
 */
function checkScales(entry: PageFile, field: string, valueType: ValueType): BundleProblem[] {
  const scales = entry.scales;
  if (valueType === 'f32')
    return scales === undefined
      ? []
      : [problem(`${field}.scales`, 'is present, but f32 pages have no scales.', MANIFEST_FILE, 'scale')];
  if (scales === undefined)
    return [
      problem(`${field}.scales`, 'is missing: i8 pages need one scale per page.', MANIFEST_FILE, 'scale'),
    ];
  if (scales.length !== entry.pageCount)
    return [
      problem(
        `${field}.scales`,
        `has ${scales.length} scales but pageCount is ${entry.pageCount} (one scale per page).`,
        MANIFEST_FILE,
        'scale',
      ),
    ];
  const bad = scales.findIndex((s) => !validScale(s));
  if (bad < 0) return [];
  return [
    problem(
      `${field}.scales[${bad}]`,
      `is ${scales[bad]}: a scale must be a finite float32 > 0.`,
      MANIFEST_FILE,
      'scale',
    ),
  ];
}

export function checkManifest(m: Manifest): BundleProblem[] {
  const out: BundleProblem[] = [];
  const P = m.pageSize;
  const pageBytes = P * valueBytesOf(m.valueType);
  const M = m.shared.pageCount;
  out.push(...checkScales(m.shared, 'shared', m.valueType));
  if (m.shared.file !== SHARED_FILE)
    out.push(problem('shared.file', `must be "${SHARED_FILE}", found "${m.shared.file}".`));
  if (m.shared.bytes !== M * pageBytes) {
    out.push(
      problem(
        'shared.bytes',
        `is ${m.shared.bytes} but pageCount ${M} × ${pageBytes} B per page is ${M * pageBytes}.`,
      ),
    );
  }
  if (m.shared.pageHashes.length !== M) {
    out.push(
      problem('shared.pageHashes', `has ${m.shared.pageHashes.length} hashes but shared.pageCount is ${M}.`),
    );
  }
  if (m.models.length === 0) out.push(problem('models', 'is empty: a bundle holds at least one model.'));
  const seen = new Map<string, number>();
  m.models.forEach((model, i) => {
    const key = model.name.toLowerCase();
    const first = seen.get(key);
    if (first !== undefined) {
      out.push(
        problem(
          `models[${i}].name`,
          `"${model.name}" is used by models[${first}] too (names must differ, ignoring case).`,
        ),
      );
    } else {
      seen.set(key, i);
    }
    out.push(...checkModel(model, `models[${i}]`, P, M, m.selfTying, m.valueType));
  });
  return out;
}

function checkModel(
  model: ManifestModel,
  f: string,
  P: number,
  M: number,
  selfTied: boolean,
  valueType: ValueType,
): BundleProblem[] {
  const out: BundleProblem[] = [];
  const pageBytes = P * valueBytesOf(valueType);
  if (!MODEL_NAME.test(model.name)) {
    out.push(
      problem(
        `${f}.name`,
        `"${model.name}" is not a valid model name (a letter or digit, then letters, digits, '.', '_' or '-'; at most 64).`,
      ),
    );
    return out; // the file names below derive from the name
  }
  if (model.graph.file !== graphFile(model.name))
    out.push(problem(`${f}.graph.file`, `must be "${graphFile(model.name)}", found "${model.graph.file}".`));
  if (model.exclusive.file !== exclusiveFile(model.name)) {
    out.push(
      problem(
        `${f}.exclusive.file`,
        `must be "${exclusiveFile(model.name)}", found "${model.exclusive.file}".`,
      ),
    );
  }
  // Tensors: contiguous from 0 in formation order, each as long as its shape, together weightCount.
  let expected = 0;
  const names = new Set<string>();
  model.tensors.forEach((t, j) => {
    const tf = `${f}.tensors[${j}]`;
    if (names.has(t.name)) out.push(problem(`${tf}.name`, `"${t.name}" appears twice.`));
    names.add(t.name);
    const size = t.dims.reduce((a, b) => a * b, 1);
    if (t.length !== size)
      out.push(
        problem(`${tf}.length`, `is ${t.length} but dims [${t.dims.join(', ')}] hold ${size} values.`),
      );
    if (t.offset !== expected)
      out.push(
        problem(
          `${tf}.offset`,
          `is ${t.offset} but the previous tensors end at ${expected} (tensors must be contiguous).`,
        ),
      );
    expected = t.offset + t.length;
  });
  if (model.tensors.length === 0) out.push(problem(`${f}.tensors`, 'is empty.'));
  if (expected !== model.weightCount)
    out.push(problem(`${f}.weightCount`, `is ${model.weightCount} but the tensors end at ${expected}.`));
  // Exclusive file sizes.
  const E = model.exclusive.pageCount;
  if (model.exclusive.bytes !== E * pageBytes) {
    out.push(
      problem(
        `${f}.exclusive.bytes`,
        `is ${model.exclusive.bytes} but pageCount ${E} × ${pageBytes} B per page is ${E * pageBytes}.`,
      ),
    );
  }
  out.push(...checkScales(model.exclusive, `${f}.exclusive`, valueType));
  if (model.exclusive.pageHashes.length !== E) {
    out.push(
      problem(
        `${f}.exclusive.pageHashes`,
        `has ${model.exclusive.pageHashes.length} hashes but exclusive.pageCount is ${E}.`,
      ),
    );
  }
  // Page table.
  const N = pageCount(model.weightCount, P);
  if (model.pageTable.length !== N) {
    out.push(
      problem(
        `${f}.pageTable`,
        `has ${model.pageTable.length} entries but weightCount ${model.weightCount} needs ⌈${model.weightCount}/${P}⌉ = ${N}.`,
      ),
    );
  }
  const slotUser = new Map<number, number>();
  if (E > N) {
    // Also keeps a hostile count from sizing the array below.
    out.push(problem(`${f}.exclusive.pageCount`, `is ${E}, more than the model's ${N} pages.`));
    return out;
  }
  const exclusiveUser = new Int32Array(E).fill(-1);
  let exclusiveRefs = 0;
  model.pageTable.forEach((entry, j) => {
    const tf = `${f}.pageTable[${j}]`;
    if (entry >= M + E) {
      out.push(problem(tf, `= ${entry} is out of range: entries must be < M + E = ${M} + ${E} = ${M + E}.`));
    } else if (entry < M) {
      const other = slotUser.get(entry);
      if (other !== undefined && !selfTied) {
        out.push(
          problem(
            tf,
            `= ${entry}: shared slot ${entry} already holds page ${other} of this model (one page of a model per slot unless selfTying).`,
          ),
        );
      }
      slotUser.set(entry, j);
    } else {
      exclusiveRefs++;
      const e = entry - M;
      if (exclusiveUser[e] !== -1)
        out.push(
          problem(
            tf,
            `= ${entry}: exclusive page ${e} is already used by page ${exclusiveUser[e]} (each exclusive page serves one page).`,
          ),
        );
      exclusiveUser[e] = j;
    }
  });
  if (exclusiveRefs !== E && out.every((p) => !p.field.startsWith(`${f}.pageTable[`))) {
    out.push(
      problem(
        `${f}.exclusive.pageCount`,
        `is ${E} but the page table refers to ${exclusiveRefs} exclusive pages.`,
      ),
    );
  }
  return out;
}

/**
 * The graph must take exactly the data input and the weight tensors as inputs (weights as float inputs of
 * the recorded shapes, none left as initializers) and produce the recorded output.
 */
export function checkGraph(model: ManifestModel, graph: Model, f: string): BundleProblem[] {
  const out: BundleProblem[] = [];
  const file = model.graph.file;
  const g = graph.graph;
  const inputs = new Map(g.inputs.map((i) => [i.name, i]));
  const initializers = new Set(g.initializers.map((t) => t.name));
  const say = (field: string, message: string): void =>
    void out.push(problem(field, message, file, 'graph-mismatch'));
  for (const [j, t] of model.tensors.entries()) {
    const input = inputs.get(t.name);
    if (!input) {
      say(`${f}.tensors[${j}].name`, `the graph has no input "${t.name}" for this weight tensor.`);
      continue;
    }
    if (initializers.has(t.name))
      say(`${f}.tensors[${j}].name`, `weight "${t.name}" is still an initializer in the graph.`);
    if (input.elemType !== DataType.FLOAT)
      say(`${f}.tensors[${j}].name`, `graph input "${t.name}" is not float32.`);
    const shape = input.shape ?? [];
    if (shape.length !== t.dims.length || shape.some((d, k) => d !== t.dims[k])) {
      say(
        `${f}.tensors[${j}].dims`,
        `graph input "${t.name}" has shape [${shape.join(', ')}], the manifest says [${t.dims.join(', ')}].`,
      );
    }
  }
  if (!inputs.has(model.inputName)) say(`${f}.inputName`, `the graph has no input "${model.inputName}".`);
  const expected = new Set([model.inputName, ...model.tensors.map((t) => t.name)]);
  for (const name of inputs.keys()) {
    if (!expected.has(name) && !initializers.has(name))
      say(
        `${f}.tensors`,
        `the graph needs input "${name}", which is neither the data input nor a weight tensor.`,
      );
  }
  if (!g.outputs.some((o) => o.name === model.outputName))
    say(`${f}.outputName`, `the graph has no output "${model.outputName}".`);
  return out;
}
