/**
 * The planner's tasks spread over worker threads. onnxruntime-node runs a session on the calling
 * thread, so ten tasks' training steps issued together still run one after another; with the
 * tasks' sessions split across workers, a joint step uses as many cores as there are workers.
 *
 * Each task keeps its weights and gradient in SharedArrayBuffers seen by both sides, so a step
 * moves no arrays through messages: the main thread writes the gathered weights, the worker runs
 * the batch and writes the gradient. Batches are drawn by each task's own seeded sampler inside its
 * worker, so results do not depend on how many workers there are.
 */
import { availableParallelism } from 'node:os';
import { attemptAsync, ok, unwrap, type Result } from '../core/errors.ts';
import type { ChannelsOf } from '../core/service-calls.ts';
import { serviceRef, WorkerService } from '../core/worker-service.ts';
import { inferShapes } from '../autodiff/shapes.ts';
import type { Split, TaskData } from '../datasets/types.ts';
import { decodeModel, encodeModel } from '../onnx/codec.ts';
import type { Model } from '../onnx/types.ts';
import type { Evaluation } from '../train/evaluator.ts';
import type { TensorSlot } from '../image/plan.ts';
import { TaskSession, type TaskRunner, type TaskSessionOptions } from './task-session.ts';

type SplitName = 'train' | 'val' | 'test';

/** One task as it travels to its worker. */
interface HostedTask {
  readonly name: string;
  readonly model: Uint8Array;
  readonly data: TaskData;
  readonly tensors: readonly TensorSlot[];
  readonly options: TaskSessionOptions;
  readonly weights: SharedArrayBuffer;
  readonly grad: SharedArrayBuffer;
}

export interface TaskHostInput {
  readonly tasks: readonly HostedTask[];
}

/**
 * What a worker hosting tasks answers; `index` is a task's place in its worker's group. Calls are
 * typed from this interface (ChannelsOf<TaskHost>), so the main thread cannot ask for a method the
 * host lacks or misread an answer.
 */
export interface TaskHost {
  /** Draws the task's next batch, runs it at the shared weights and writes the shared gradient; answers the loss. */
  trainBatch(index: number): Promise<number>;
  /** Evaluates one of the task's own splits at the shared weights. */
  evaluate(index: number, split: SplitName, predictions: boolean): Promise<Evaluation>;
  /** Releases every hosted task's sessions. */
  release(): Promise<true>;
}

/** The worker side: one TaskSession per hosted task. Runs in the worker (see WorkerService). */
export async function createTaskHost(input: TaskHostInput): Promise<Result<TaskHost>> {
  const sessions: TaskSession[] = [];
  // onnxruntime-node refuses tensors over SharedArrayBuffers ("Invalid argument"): the sessions get
  // private buffers, and the shared ones are copied in and out (65k floats: microseconds).
  const sharedWeights: Float32Array[] = [];
  const sharedGrads: Float32Array[] = [];
  const weights: Float32Array[] = [];
  const grads: Float32Array[] = [];
  for (const t of input.tasks) {
    const model = decodeModel(t.model);
    if (!model.ok) return model;
    const session = await TaskSession.create(t.name, model.value, t.data, t.tensors, t.options);
    if (!session.ok) {
      await Promise.all(sessions.map((s) => s.release()));
      return session;
    }
    sessions.push(session.value);
    sharedWeights.push(new Float32Array(t.weights));
    sharedGrads.push(new Float32Array(t.grad));
    weights.push(new Float32Array(sharedWeights.at(-1)!.length));
    grads.push(new Float32Array(sharedGrads.at(-1)!.length));
  }
  return ok({
    trainBatch: async (i: number) => {
      weights[i]!.set(sharedWeights[i]!);
      const loss = await sessions[i]!.trainBatch(weights[i]!, grads[i]!);
      sharedGrads[i]!.set(grads[i]!);
      return loss;
    },
    evaluate: (i: number, split: SplitName, predictions: boolean) => {
      weights[i]!.set(sharedWeights[i]!);
      return sessions[i]!.evaluate(sessions[i]!.data[split], weights[i]!, predictions);
    },
    release: () => Promise.all(sessions.map((s) => s.release())).then(() => true as const),
  });
}

const TASK_HOST = serviceRef(new URL(import.meta.url), { createTaskHost });
type TaskHostService = WorkerService<ChannelsOf<TaskHost>>;

/** A task whose sessions live in a worker thread; same behaviour as a TaskSession. */
class RemoteTask implements TaskRunner {
  private readonly weightView: Float32Array;
  private readonly gradView: Float32Array;

  constructor(
    readonly name: string,
    readonly data: TaskData,
    readonly weightCount: number,
    private readonly host: TaskHostService,
    private readonly index: number,
    shared: { weights: SharedArrayBuffer; grad: SharedArrayBuffer },
  ) {
    this.weightView = new Float32Array(shared.weights);
    this.gradView = new Float32Array(shared.grad);
  }

  async trainBatch(weights: Float32Array, grad: Float32Array): Promise<number> {
    this.weightView.set(weights);
    const loss = await this.host.call('trainBatch', this.index);
    grad.set(this.gradView);
    return loss;
  }

  validate(weights: Float32Array): Promise<{ accuracy: number; loss: number }> {
    return this.evaluate(this.data.val, weights);
  }

  async evaluate(split: Split, weights: Float32Array, predictions = false): Promise<Evaluation> {
    const name = (['train', 'val', 'test'] as const).find((s) => this.data[s] === split);
    if (!name)
      throw new Error(`Task ${this.name}: only its own train, val or test split can be evaluated remotely.`);
    this.weightView.set(weights);
    return this.host.call('evaluate', this.index, name, predictions);
  }

  async release(): Promise<void> {
    // The host releases all of its tasks at once (TaskWorkers.close).
  }
}

export interface TaskToOpen {
  readonly name: string;
  readonly model: Model;
  readonly data: TaskData;
  readonly tensors: readonly TensorSlot[];
  readonly options: TaskSessionOptions;
}

/** Tasks hosted by worker threads; `tasks` is in the order given to `open`. */
export class TaskWorkers {
  private constructor(
    readonly tasks: readonly TaskRunner[],
    private readonly hosts: readonly TaskHostService[],
  ) {}

  /**
   * Opens `workers` threads (default: the cores available, at most one per task) and spreads the
   * tasks over them, balancing an estimate of each task's cost per training sample.
   */
  static async open(tasks: readonly TaskToOpen[], workers?: number): Promise<Result<TaskWorkers>> {
    const count = Math.max(1, Math.min(workers ?? defaultWorkerCount(), tasks.length));
    const groups = balanceGroups(
      tasks.map((t) => forwardMacs(t.model)),
      count,
    );
    const shared = tasks.map((t) => {
      const n = t.tensors.reduce((a, s) => a + s.length, 0);
      return { weights: new SharedArrayBuffer(n * 4), grad: new SharedArrayBuffer(n * 4), n };
    });
    const started = await Promise.all(
      groups.map((group) =>
        WorkerService.start(TASK_HOST, {
          tasks: group.map((k) => ({
            name: tasks[k]!.name,
            model: encodeModel(tasks[k]!.model),
            data: tasks[k]!.data,
            tensors: tasks[k]!.tensors,
            options: tasks[k]!.options,
            weights: shared[k]!.weights,
            grad: shared[k]!.grad,
          })),
        }),
      ),
    );
    const failed = started.find((s) => !s.ok);
    if (failed && !failed.ok) {
      await Promise.all(started.map((s) => (s.ok ? s.value.close('release') : undefined)));
      return failed;
    }
    const hosts = started.map((s) => unwrap(s));
    const runners: TaskRunner[] = new Array<TaskRunner>(tasks.length);
    groups.forEach((group, g) =>
      group.forEach((k, i) => {
        const t = tasks[k]!;
        runners[k] = new RemoteTask(t.name, t.data, shared[k]!.n, hosts[g]!, i, shared[k]!);
      }),
    );
    return ok(new TaskWorkers(runners, hosts));
  }

  async close(): Promise<void> {
    await Promise.all(this.hosts.map((h) => h.close('release')));
  }
}

export function defaultWorkerCount(): number {
  return Math.max(1, availableParallelism());
}

/**
 * Splits task indices into `count` groups with nearly equal summed cost (longest first, each to the
 * lightest group); indices keep their order within a group. Deterministic.
 */
export function balanceGroups(costs: readonly number[], count: number): number[][] {
  const order = costs.map((c, k) => ({ c, k })).sort((a, b) => b.c - a.c || a.k - b.k);
  const groups: number[][] = Array.from({ length: count }, () => []);
  const load = new Float64Array(count);
  for (const { c, k } of order) {
    let g = 0;
    for (let j = 1; j < count; j++) if (load[j]! < load[g]!) g = j;
    groups[g]!.push(k);
    load[g]! += c;
  }
  return groups.filter((g) => g.length > 0).map((g) => g.sort((a, b) => a - b));
}

/**
 * Multiply–accumulates of one sample's forward pass through the Conv, Gemm and MatMul nodes: a
 * weight's element count times the output positions it is applied at. A cost estimate only; the
 * backward pass costs about twice the forward for these operators, so the ratio between tasks holds.
 */
export function forwardMacs(model: Model): number {
  let info: ReturnType<typeof inferShapes>;
  try {
    info = inferShapes(model.graph);
  } catch {
    return model.graph.initializers.reduce((a, t) => a + t.dims.reduce((x, y) => x * y, 1), 0);
  }
  let macs = 0;
  for (const node of model.graph.nodes) {
    if (!['Conv', 'Gemm', 'MatMul'].includes(node.opType)) continue;
    const w = info.shapes.get(node.inputs[1] ?? '');
    const out = info.shapes.get(node.outputs[0] ?? '');
    if (!w || !out) continue;
    const weights = w.reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1);
    const positions =
      node.opType === 'Conv'
        ? out.slice(2).reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1)
        : 1;
    macs += weights * positions;
  }
  return macs;
}

/** Opens the tasks in this thread (workers = 0) or in worker threads; errors come back as values. */
export async function openTaskRunners(
  tasks: readonly TaskToOpen[],
  workers: number | undefined,
): Promise<Result<{ runners: readonly TaskRunner[]; close: () => Promise<void> }>> {
  if (workers === 0) {
    const sessions: TaskSession[] = [];
    const opened = await attemptAsync(async () => {
      for (const t of tasks)
        sessions.push(unwrap(await TaskSession.create(t.name, t.model, t.data, t.tensors, t.options)));
    });
    const close = async () => {
      await Promise.all(sessions.map((s) => s.release()));
    };
    if (!opened.ok) {
      await close();
      return opened;
    }
    return ok({ runners: sessions, close });
  }
  const pool = await TaskWorkers.open(tasks, workers);
  if (!pool.ok) return pool;
  return ok({ runners: pool.value.tasks, close: () => pool.value.close() });
}
