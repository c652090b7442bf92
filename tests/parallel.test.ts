import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { clearInterrupt, requestInterrupt } from "../lib/interrupt";
import { fromPretrained, stateDict } from "../lib/io/pretrained";
import { Float32Tensor } from "../lib/io/safetensors";
import { LlamaConfig } from "../lib/model/config";
import { LlamaForCausalLM } from "../lib/model/causal_lm";
import { Precision } from "../lib/precision/formats";
import { DynamicLossScaler, LossScalerOptions } from "../lib/precision/loss_scaler";
import { SCALED_STEP_METRICS, mixedPrecisionGradFn } from "../lib/precision/scaled_step";
import { Random } from "../lib/random";
import { AdamW, LearningRate } from "../lib/train/adamw";
import { IGNORE_INDEX } from "../lib/train/losses";
import { NonFiniteGradientError, trainSteps } from "../lib/train/loop";
import { makeSchedule } from "../lib/trainer/schedules";
import { LlamaForSequenceClassification } from "../lib/model/sequence_classification";
import { Trainer } from "../lib/trainer/trainer";
import { ringAllReduce, sumInOrder, sumInOrderInPlace, clipFlatInPlace } from "../lib/parallel/allreduce";
import { DATA_PARALLEL_FILES, readDataParallelCheckpoint } from "../lib/parallel/checkpoint";
import { DataParallelOptions, DataParallelTrainer } from "../lib/parallel/data_parallel_trainer";
import { lmTokenSumLoss } from "../lib/parallel/lm_loss";
import {
  LmExample, causalLmExample, countSupervisedTokens, shardBySupervisedTokens, splitIntoMicroBatches, supervisedTokens,
} from "../lib/parallel/sharding";
import { WorkerFailure } from "../lib/parallel/worker_pool";

const config = new LlamaConfig({
  vocab_size: 24, hidden_size: 16, intermediate_size: 32, num_hidden_layers: 2, num_attention_heads: 2,
  num_key_value_heads: 1, pad_token_id: 0,
});
const SEED = 7;
/**
 * fp32 tolerance of data-parallel vs single-process parameters: the shards' token sums are added in a different
 * order than one batch's, so gradients differ in the last bits (~1e-7 relative); AdamW's normalised steps carry
 * that into the weights as at most a few ulps of lr-sized updates. Measured max |Δ| is ~1e-8 to 1e-7 here.
 */
const PARAM_TOL = 2e-6;

const tmpDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), "llamalab-parallel-"));

/** Rows of random length; the first `supervisedPrefix` positions of some rows are unsupervised (-100). */
function randomExamples(rng: Random, rows: number): LmExample[] {
  return Array.from({ length: rows }, (_, r) => {
    const ex = causalLmExample(Array.from({ length: 3 + rng.int(9) }, () => 1 + rng.int(config.vocab_size - 1)));
    const hide = r % 3 === 0 ? Math.min(2, ex.labels.length - 1) : 0;
    return { inputIds: ex.inputIds, labels: ex.labels.map((l, i) => (i < hide ? IGNORE_INDEX : l)) };
  });
}

/** An example of `len` positions whose last `supervised` labels are real. */
function exampleWith(rng: Random, len: number, supervised: number): LmExample {
  const ids = Array.from({ length: len }, () => 1 + rng.int(config.vocab_size - 1));
  const labels = Array.from({ length: len }, (_, i) => (i >= len - supervised ? 1 + rng.int(config.vocab_size - 1) : IGNORE_INDEX));
  return { inputIds: ids, labels };
}

const batchesFor = (seed: number) => (step: number): LmExample[] => randomExamples(new Random(seed * 1000 + step), 7);

interface RefOptions {
  steps: number;
  batches: (step: number) => LmExample[] | LmExample[][];
  lr: LearningRate;
  clipNorm?: number;
  weightDecay?: number;
  config?: LlamaConfig;
  /** Forward passes under withAutocast(precision) through mixedPrecisionGradFn (with `scaler` when given). */
  precision?: Precision;
  scaler?: DynamicLossScaler;
  /**
   * Compute the batch as this many shards (shardBySupervisedTokens), one forward pass each, in one tape: what
   * N workers compute, summed here. Under autocast each pass rounds its own 16-bit gradients, as each worker does.
   */
  shards?: number;
}

/** The same training in this thread, on one backend, one global batch per step: the reference. */
async function singleProcessRun(
  o: RefOptions,
): Promise<{ params: Map<string, Float32Tensor>; losses: number[]; norms: number[]; skipped: boolean[] }> {
  const model = new LlamaForCausalLM(o.config ?? config, { seed: SEED });
  const optimizer = new AdamW(model.namedParameters(), { lr: o.lr, weightDecay: o.weightDecay });
  const lossFn = (batch: LmExample[]) => {
    const n = countSupervisedTokens(batch);
    if (o.shards === undefined) return { loss: lmTokenSumLoss(model, batch, n) };
    const parts = shardBySupervisedTokens(batch, o.shards).map((s) => lmTokenSumLoss(model, s.examples, n));
    return { loss: tf.addN(parts) as tf.Scalar };
  };
  const mixed = o.precision !== undefined || o.scaler !== undefined;
  let step = 0;
  const logs = await trainSteps({
    params: model.namedParameters(),
    optimizer,
    steps: o.steps,
    clipNorm: o.clipNorm,
    batches: () => {
      const b = o.batches(step++);
      return Array.isArray(b[0]) ? (b as LmExample[][]).flat() : (b as LmExample[]);
    },
    ...(mixed
      ? { gradFn: mixedPrecisionGradFn({ variables: model.parameters(), precision: o.precision ?? "fp32", scaler: o.scaler, lossFn }) }
      : { lossFn }),
  });
  const params = stateDict(model);
  for (const [name, t] of params) params.set(name, { shape: t.shape, data: Float32Array.from(t.data) });
  optimizer.dispose();
  model.dispose();
  const skipped = logs.map((l) => l.metrics[SCALED_STEP_METRICS.skipped] === 1);
  return { params, losses: logs.map((l) => l.loss), norms: logs.map((l) => l.gradNorm), skipped };
}

function maxAbsDiff(a: ReadonlyMap<string, Float32Tensor>, b: ReadonlyMap<string, Float32Tensor>): number {
  assert.deepEqual([...a.keys()], [...b.keys()], "same parameter names");
  let worst = 0;
  for (const [name, t] of a) {
    const u = b.get(name)!.data;
    t.data.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - u[i]))));
  }
  return worst;
}

function maxParamChange(a: ReadonlyMap<string, Float32Tensor>, b: ReadonlyMap<string, Float32Tensor>): number {
  return maxAbsDiff(a, b);
}

async function withTrainer<T>(opts: DataParallelOptions, body: (t: DataParallelTrainer) => Promise<T>): Promise<T> {
  const trainer = await DataParallelTrainer.create(opts);
  try {
    return await body(trainer);
  } finally {
    await trainer.dispose();
  }
}

describe("sharding by supervised tokens", () => {
  it("balances token counts, keeps batch order inside a shard, and is deterministic", () => {
    const rng = new Random(3);
    const examples = [1, 6, 2, 9, 4, 4, 3].map((k) => exampleWith(rng, 10, k));
    const shards = shardBySupervisedTokens(examples, 3);
    // Largest first to the lightest shard: 9→w0, 6→w1, 4→w2, 4→w2, 3→w1, 2→w2 (9,9,8), 1→w0 (9,9,10).
    assert.deepEqual(shards.map((s) => s.tokens), [10, 9, 10]);
    assert.deepEqual(shards.map((s) => s.indices), [[0, 3], [1, 6], [2, 4, 5]]);
    for (const s of shards) assert.equal(countSupervisedTokens(s.examples), s.tokens);
    assert.deepEqual(shardBySupervisedTokens(examples, 3), shards, "same input, same shards");
    const all = shards.flatMap((s) => s.indices).sort((a, b) => a - b);
    assert.deepEqual(all, examples.map((_, i) => i), "every row in exactly one shard");
  });

  it("gives empty shards when there are fewer rows than workers, and rejects bad input", () => {
    const rng = new Random(4);
    const shards = shardBySupervisedTokens([exampleWith(rng, 4, 3)], 3);
    assert.deepEqual(shards.map((s) => s.tokens), [3, 0, 0]);
    assert.throws(() => shardBySupervisedTokens([], 0), /workers must be a positive integer/);
    assert.throws(() => supervisedTokens({ inputIds: [1, 2], labels: [1] }), /equal length/);
    assert.throws(() => causalLmExample([5]), /at least 2 tokens/);
    assert.deepEqual(causalLmExample([5, 6, 7]), { inputIds: [5, 6], labels: [6, 7] });
  });
});

describe("all-reduce", () => {
  it("sums in worker order with float32 rounding, independent of how the inputs were produced", () => {
    const parts = [Float32Array.from([1e8, 1, 0.1]), Float32Array.from([1, -1e8, 0.2]), Float32Array.from([-1e8, 3, 0.3])];
    const sum = sumInOrder(parts);
    // (1e8 + 1) rounds to 1e8 in float32, so order matters and is fixed: ((a + b) + c).
    assert.equal(sum[0], Math.fround(Math.fround(Math.fround(1e8) + 1) - 1e8));
    assert.deepEqual(Array.from(sumInOrder(parts)), Array.from(sum));
    assert.throws(() => sumInOrder([new Float32Array(2), new Float32Array(3)]), /buffer 1 has 3 values/);
  });

  it("ring all-reduce leaves every worker the same sum and sends 2(N−1)/N of the buffer per worker", () => {
    const rng = new Random(9);
    for (const n of [2, 3, 4]) {
      const size = 12;
      const parts = Array.from({ length: n }, () => Float32Array.from({ length: size }, () => rng.normal()));
      const { buffers, transfers, valuesSentPerWorker } = ringAllReduce(parts);
      const expected = sumInOrder(parts);
      for (const b of buffers) b.forEach((x, i) => assert.ok(Math.abs(x - expected[i]) < 1e-5, `n=${n} [${i}]`));
      for (const b of buffers) assert.deepEqual(Array.from(b), Array.from(buffers[0]), "all workers hold identical bytes");
      assert.equal(transfers.length, 2 * (n - 1) * n);
      assert.equal(valuesSentPerWorker, (2 * (n - 1) * size) / n);
    }
  });

  it("sums in place into the first buffer, bit for bit as sumInOrder, leaving the others as they were", () => {
    const rng = new Random(12);
    const parts = [0, 1, 2].map(() => Float32Array.from({ length: 257 }, () => (rng.next() - 0.5) * 10 ** rng.int(6)));
    const expected = sumInOrder(parts);
    const others = parts.slice(1).map((p) => Float32Array.from(p));
    const out = sumInOrderInPlace(parts);
    assert.equal(out, parts[0], "the result is the first buffer");
    assert.deepEqual(Array.from(out), Array.from(expected));
    parts.slice(1).forEach((p, k) => assert.deepEqual(p, others[k]));
    assert.throws(() => sumInOrderInPlace([new Float32Array(2), new Float32Array(3)]), /buffer 1 has 3 values/);
    assert.throws(() => sumInOrderInPlace([]), /no buffers/);
  });

  it("clips the global norm like clip_grad_norm_", () => {
    const g = Float32Array.from([3, 4]);
    assert.equal(clipFlatInPlace(g, 1), 5);
    assert.ok(Math.abs(Math.hypot(g[0], g[1]) - 1) < 1e-6);
    const small = Float32Array.from([0.3, 0.4]);
    clipFlatInPlace(small, 1);
    assert.deepEqual(Array.from(small), [Math.fround(0.3), Math.fround(0.4)], "under the limit: unchanged");
  });
});

describe("DataParallelTrainer", function () {
  this.timeout(600_000);
  afterEach(() => clearInterrupt());

  it("N = 1, 2, 3 workers give the single-process parameters within fp32 tolerance (uneven shards, clipping, schedule, decay)", async () => {
    const steps = 4;
    const lr = makeSchedule("linear", { lr: 2e-2, warmupSteps: 1, totalSteps: steps });
    const ref = await singleProcessRun({ steps, batches: batchesFor(1), lr, clipNorm: 0.5, weightDecay: 0.1 });
    const start = stateDict(new LlamaForCausalLM(config, { seed: SEED }));
    for (const workers of [1, 2, 3]) {
      await withTrainer({ workers, config, seed: SEED, lr, clipNorm: 0.5, weightDecay: 0.1 }, async (t) => {
        const { logs } = await t.train({ steps, batches: batchesFor(1) });
        const shardTokens = logs[0].workerTokens;
        if (workers > 1) assert.ok(new Set(shardTokens).size > 1 || logs.some((l) => new Set(l.workerTokens).size > 1), "some shards are uneven");
        logs.forEach((l, i) => {
          assert.ok(Math.abs(l.loss - ref.losses[i]) < 1e-5, `N=${workers} step ${i + 1} loss ${l.loss} vs ${ref.losses[i]}`);
          assert.ok(Math.abs(l.gradNorm - ref.norms[i]) < 1e-4 * ref.norms[i], `N=${workers} step ${i + 1} grad norm`);
        });
        const params = await t.parameters();
        const diff = maxAbsDiff(params, ref.params);
        assert.ok(diff <= PARAM_TOL, `N=${workers}: max |Δparam| ${diff} > ${PARAM_TOL}`);
        assert.ok(maxParamChange(params, start) > 100 * PARAM_TOL, "training moved the weights far more than the tolerance");
      });
    }
  });

  it("accumulates micro-batches of 1, 6, 2, 9 supervised tokens as one batch / 18, across 2 workers", async () => {
    const rng = new Random(11);
    const micro = [1, 6, 2, 9].map((k) => [exampleWith(rng, 10, k), exampleWith(rng, 5, 0)]);
    assert.deepEqual(micro.map(countSupervisedTokens), [1, 6, 2, 9]);
    const lr = 1e-2;
    // Larger initial weights make per-token losses differ, so the two normalisations give clearly different losses.
    const peaky = config.with({ initializer_range: 0.5 });
    const ref = await singleProcessRun({ steps: 1, batches: () => micro, lr, config: peaky });
    // The wrong answer, mean of per-micro-batch means, must be distinguishable from the right one.
    const meanOfMeans = await (async () => {
      const model = new LlamaForCausalLM(peaky, { seed: SEED });
      const v = tf.tidy(() => micro.map((mb) => lmTokenSumLoss(model, mb, countSupervisedTokens(mb)).dataSync()[0]));
      model.dispose();
      return v.reduce((a, b) => a + b, 0) / v.length;
    })();
    assert.ok(Math.abs(meanOfMeans - ref.losses[0]) > 0.05, `the test can tell the normalisations apart: ${meanOfMeans} vs ${ref.losses[0]}`);
    await withTrainer({ workers: 2, config: peaky, seed: SEED, lr }, async (t) => {
      const log = await t.trainStep(micro);
      assert.equal(log.tokens, 18);
      assert.ok(Math.abs(log.loss - ref.losses[0]) < 1e-5, `loss ${log.loss} vs one batch ${ref.losses[0]}`);
      assert.ok(Math.abs(log.gradNorm - ref.norms[0]) < 1e-5 * ref.norms[0], `grad norm ${log.gradNorm} vs ${ref.norms[0]}`);
      // The whole batch sums each weight gradient over 80 positions in one run, the workers over 20 + 20 then add:
      // float32 rounding differs by ~1e-7·Σ|terms|. AdamW's first step, lr·g/(|g| + eps), turns that into up to
      // lr·δg/(4·eps) for a gradient near eps = 1e-8, so at lr 1e-2 we allow 0.1% of a step.
      const diff = maxAbsDiff(await t.parameters(), ref.params);
      assert.ok(diff <= 1e-3 * lr, `weights differ by ${diff}`);
    });
  });

  it("replicas stay bit-identical over many steps, and workers leak no tensors", async () => {
    await withTrainer({ workers: 3, config, seed: SEED, lr: 5e-3, clipNorm: 1 }, async (t) => {
      await t.train({ steps: 5, batches: batchesFor(2) });
      const tensorsAfter5 = await t.workerTensorCounts();
      await t.train({ steps: 20, batches: batchesFor(2) });
      assert.equal(t.stepCount, 25);
      assert.deepEqual(await t.workerTensorCounts(), tensorsAfter5, "tensor count constant from step 5 to 25");
      const replicas = await t.replicaParameters();
      assert.equal(replicas.length, 3);
      for (const r of replicas.slice(1)) {
        assert.ok(Buffer.from(r.buffer).equals(Buffer.from(replicas[0].buffer)), "replica bytes equal worker 0's");
      }
    });
  });

  it("writes one checkpoint that resumes with a different worker count and opens with fromPretrained", async () => {
    const dir = path.join(tmpDir(), "ckpt");
    const lr = makeSchedule("cosine", { lr: 1e-2, warmupSteps: 2, totalSteps: 6 });
    const common = { config, seed: SEED, lr, clipNorm: 1 };
    const full = await withTrainer({ workers: 2, ...common }, async (t) => {
      await t.train({ steps: 6, batches: batchesFor(3) });
      return t.parameters();
    });
    await withTrainer({ workers: 2, ...common, checkpointDir: dir, checkpointEvery: 3 }, (t) => t.train({ steps: 3, batches: batchesFor(3) }));
    const saved = readDataParallelCheckpoint(dir);
    assert.equal(saved.state.step, 3);
    assert.equal(saved.state.workers, 2);
    assert.deepEqual(fs.readdirSync(dir).sort(), ["config.json", DATA_PARALLEL_FILES.optimizer, "model.safetensors", DATA_PARALLEL_FILES.state].sort());
    const hf = fromPretrained(dir);
    assert.ok(maxAbsDiff(stateDict(hf), saved.params) === 0, "the checkpoint is a Hugging Face model directory");
    hf.dispose();
    const resumed = await withTrainer({ workers: 3, lr, clipNorm: 1, resumeFrom: dir }, async (t) => {
      assert.equal(t.stepCount, 3);
      await t.train({ steps: 3, batches: batchesFor(3) });
      assert.equal(t.stepCount, 6);
      return t.parameters();
    });
    const diff = maxAbsDiff(resumed, full);
    assert.ok(diff <= PARAM_TOL, `resumed on 3 workers vs uninterrupted on 2: max |Δ| ${diff}`);
    await assert.rejects(DataParallelTrainer.create({ workers: 1, resumeFrom: path.join(dir, "nope") }), /optimizer.safetensors|config.json|is missing/);
  });

  for (const kind of ["throw", "uncaught", "exit", "hang"] as const) {
    it(`stops with an error naming the worker and step when a worker's step fails (${kind}), keeping the checkpoint`, async () => {
      const dir = path.join(tmpDir(), "ckpt");
      const trainer = await DataParallelTrainer.create({
        workers: 2, config, seed: SEED, lr: 1e-2, checkpointDir: dir, checkpointEvery: 2,
        stepTimeoutMs: kind === "hang" ? 4000 : 60_000, injectFault: { worker: 1, step: 3, kind },
      });
      assert.ok(!fs.existsSync(dir), "no checkpoint before training");
      const started = Date.now();
      const err = await trainer.train({ steps: 5, batches: batchesFor(4) }).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof WorkerFailure, `got ${String(err)}`);
      assert.equal(err.worker, 1);
      assert.equal(err.step, 3);
      assert.match(err.message, /worker 1 failed at step 3/);
      assert.ok(Date.now() - started < 30_000, "no hang");
      const ckpt = readDataParallelCheckpoint(dir);
      assert.equal(ckpt.state.step, 2, "the step-2 checkpoint is intact");
      await assert.rejects(trainer.trainStep(batchesFor(4)(0)), /worker 1 failed at step 3|shut down/);
      await trainer.dispose();
    });
  }

  for (const kind of ["throw", "exit"] as const) {
    it(`a worker failing in the update it is not waited for (${kind}) still stops train() with the worker and step, even on the last step`, async () => {
      for (const steps of [5, 3]) {
        const trainer = await DataParallelTrainer.create({
          workers: 2, config, seed: SEED, lr: 1e-2, injectFault: { worker: 1, step: 3, kind, during: "update" },
        });
        const logs: number[] = [];
        const err = await trainer
          .train({ steps, batches: batchesFor(4), onStep: (log) => void logs.push(log.step) })
          .then(() => null, (e: unknown) => e);
        assert.ok(err instanceof WorkerFailure, `${steps} steps: got ${String(err)}`);
        assert.equal(err.worker, 1);
        assert.equal(err.step, 3);
        assert.ok(logs.length <= 4, `${steps} steps: no step after the failed update completes (logged ${logs})`);
        await trainer.dispose();
      }
    });
  }

  it("trainStep returns with the update applied on every replica; train() leaves none pending", async () => {
    await withTrainer({ workers: 2, config, seed: SEED, lr: 1e-2 }, async (t) => {
      const before = (await t.replicaParameters())[0];
      await t.trainStep(batchesFor(11)(0));
      const [a, b] = await t.replicaParameters();
      assert.ok(a.some((x, i) => x !== before[i]), "the update reached the replicas");
      assert.deepEqual(a, b);
      await t.train({ steps: 2, batches: batchesFor(11) });
      const [c, d] = await t.replicaParameters();
      assert.ok(c.some((x, i) => x !== a[i]));
      assert.deepEqual(c, d);
    });
    await assert.rejects(
      DataParallelTrainer.create({ workers: 2, config, injectFault: { worker: 0, step: 1, kind: "throw", during: "later" as "update" } }),
      /injectFault.during must be "gradients" or "update", got later/,
    );
  });

  it("a Jupyter interrupt stops every worker at a step boundary, checkpointing the weights reached", async () => {
    const dir = path.join(tmpDir(), "ckpt");
    const trainer = await DataParallelTrainer.create({ workers: 2, config, seed: SEED, lr: 1e-2, checkpointDir: dir });
    const result = await trainer.train({
      steps: 10,
      batches: batchesFor(5),
      onStep: (log) => {
        if (log.step === 2) requestInterrupt();
      },
    });
    assert.equal(result.interrupted, true);
    assert.equal(result.logs.length, 2);
    assert.equal(readDataParallelCheckpoint(dir).state.step, 2);
    const params = await trainer.parameters();
    assert.equal(maxAbsDiff(params, readDataParallelCheckpoint(dir).params), 0, "weights kept after the workers stopped");
    await assert.rejects(trainer.trainStep(batchesFor(5)(2)), /shut down/);
    const model = await trainer.model();
    assert.equal(maxAbsDiff(stateDict(model), params), 0);
    model.dispose();
  });

  it("dynamic loss scaling: power-of-two scales change nothing; an overflow skips the update on every replica", async () => {
    const plain = await withTrainer({ workers: 2, config, seed: SEED, lr: 1e-2 }, async (t) => {
      await t.train({ steps: 2, batches: batchesFor(6) });
      return t.parameters();
    });
    await withTrainer({ workers: 2, config, seed: SEED, lr: 1e-2, lossScaler: new DynamicLossScaler({ initScale: 1024 }) }, async (t) => {
      await t.train({ steps: 2, batches: batchesFor(6) });
      assert.equal(maxAbsDiff(await t.parameters(), plain), 0, "scaling by 2^10 and unscaling is exact");
    });
    const scaler = new DynamicLossScaler({ initScale: 2 ** 127 });
    await withTrainer({ workers: 2, config, seed: SEED, lr: 1e-2, lossScaler: scaler }, async (t) => {
      const before = await t.parameters();
      const log = await t.trainStep(batchesFor(6)(0));
      assert.equal(log.skipped, true);
      assert.equal(scaler.getScale(), 2 ** 126, "the scale backed off");
      assert.equal(maxAbsDiff(await t.parameters(), before), 0, "no replica moved");
      const replicas = await t.replicaParameters();
      assert.ok(Buffer.from(replicas[1].buffer).equals(Buffer.from(replicas[0].buffer)));
    });
  });

  it("a NaN gradient stops trainStep and train() with an error naming the step, no replica updated, the trainer kept", async () => {
    const model = new LlamaForCausalLM(config, { seed: 99 });
    const weights = stateDict(model);
    model.dispose();
    // An infinite final-norm gain makes the logits ±Inf, so the loss and every gradient are NaN.
    const poisoned = new Map(weights);
    const norm = weights.get("model.norm.weight")!;
    const data = Float32Array.from(norm.data);
    data[0] = Infinity;
    poisoned.set("model.norm.weight", { shape: norm.shape, data });
    const bits = (m: ReadonlyMap<string, Float32Tensor>) =>
      [...m.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, t]) => `${name}:${Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString("hex")}`);
    const isNaNError = (err: Error) => err instanceof NonFiniteGradientError && err.step === 1 && /weights are as after step 0/.test(err.message);
    await withTrainer({ workers: 2, config, initialParameters: poisoned }, async (t) => {
      await assert.rejects(t.trainStep(batchesFor(8)(0)), isNaNError);
      assert.deepEqual(bits(await t.parameters()), bits(poisoned), "the coordinator's weights did not move");
      const replicas = await t.replicaParameters();
      assert.ok(Buffer.from(replicas[1].buffer).equals(Buffer.from(replicas[0].buffer)), "replicas agree");
    });
    // Through train(): the workers stay up (the weights can still be read) and the last good weights are checkpointed.
    const dir = tmpDir();
    await withTrainer({ workers: 2, config, initialParameters: poisoned, checkpointDir: dir }, async (t) => {
      await assert.rejects(t.train({ steps: 3, batches: batchesFor(8) }), isNaNError);
      assert.deepEqual(bits(await t.parameters()), bits(poisoned), "the trainer still answers, with unchanged weights");
      const saved = readDataParallelCheckpoint(dir);
      assert.equal(saved.state.step, 0);
      assert.deepEqual(bits(saved.params), bits(poisoned), "the checkpoint holds the last good weights");
    });
  });

  it("starts from given weights, leaks no coordinator tensors, and rejects bad options clearly", async () => {
    const model = new LlamaForCausalLM(config, { seed: 99 });
    const weights = stateDict(model);
    model.dispose();
    const before = tf.memory().numTensors;
    await withTrainer({ workers: 2, config, initialParameters: weights }, async (t) => {
      assert.equal(maxAbsDiff(await t.parameters(), weights), 0);
      await t.trainStep(batchesFor(7)(0));
    });
    assert.equal(tf.memory().numTensors, before, "the coordinator holds no tensors");
    await assert.rejects(DataParallelTrainer.create({ workers: 0, config }), /workers must be a positive integer/);
    await assert.rejects(DataParallelTrainer.create({ workers: 1 }), /give config/);
    await assert.rejects(DataParallelTrainer.create({ workers: 1, config, checkpointEvery: 2 }), /checkpointEvery needs checkpointDir/);
    const bad = new Map(weights);
    bad.delete("model.norm.weight");
    await assert.rejects(DataParallelTrainer.create({ workers: 1, config, initialParameters: bad }), /no tensor named "model.norm.weight"/);
    await withTrainer({ workers: 1, config }, async (t) => {
      await assert.rejects(t.trainStep([{ inputIds: [1, 2], labels: [IGNORE_INDEX, IGNORE_INDEX] }]), /no supervised tokens/);
    });
  });
});

/** The largest |Δ| between two workers' flat parameter buffers and worker 0's (0 when replicas are identical). */
function replicaSpread(replicas: Float32Array[]): number {
  let worst = 0;
  for (const r of replicas.slice(1)) r.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - replicas[0][i]))));
  return worst;
}

/** ‖a − b‖₂ / ‖b − start‖₂: how far `a` is from `b`, relative to how far training moved `b`. */
function relativeUpdateDiff(
  a: ReadonlyMap<string, Float32Tensor>,
  b: ReadonlyMap<string, Float32Tensor>,
  start: ReadonlyMap<string, Float32Tensor>,
): number {
  let diff = 0, moved = 0;
  for (const [name, t] of b) {
    const u = a.get(name)!.data, s0 = start.get(name)!.data;
    t.data.forEach((x, i) => {
      diff += (u[i] - x) ** 2;
      moved += (x - s0[i]) ** 2;
    });
  }
  return Math.sqrt(diff / moved);
}

/**
 * Under autocast, 2 workers vs one process that runs the whole batch in one forward pass: each worker rounds its
 * own shard's 16-bit weight gradients before the fp32 sum, one process rounds the whole batch's once, so
 * gradients differ by about one 16-bit ulp (2^-8 relative for bf16, 2^-11 for fp16), and AdamW, which normalises
 * each gradient element, turns the sign flips of near-zero elements into whole lr-sized steps. Hence a bound on
 * the relative L2 difference of the updates, not on single weights. (Against one process that computes the same
 * shards — the same roundings — the fp32 tolerance PARAM_TOL holds.) Measured: the test's log lines.
 */
const MIXED_UPDATE_TOL = { bf16: 0.04, fp16: 0.02 } as const;

/** The weights every replica starts from in these tests. */
function startingParameters(): Map<string, Float32Tensor> {
  const model = new LlamaForCausalLM(config, { seed: SEED });
  const params = stateDict(model);
  for (const [name, t] of params) params.set(name, { shape: t.shape, data: Float32Array.from(t.data) });
  model.dispose();
  return params;
}

describe("DataParallelTrainer with TrainingArguments", function () {
  this.timeout(600_000);
  afterEach(() => clearInterrupt());

  for (const precision of ["bf16", "fp16"] as const) {
    it(`${precision}: autocast in 2 workers equals one process under the same autocast, not fp32 numerics`, async () => {
      const steps = 4;
      const lr = 1e-2;
      // fp16: step 1 overflows at 2^24 (every token's logit gradient is > 65504) and the scale backs off to 2^16.
      const scaling: LossScalerOptions | undefined = precision === "fp16" ? { initScale: 2 ** 24, backoffFactor: 2 ** -8 } : undefined;
      const reference = (p: Precision, shards?: number) =>
        singleProcessRun({
          steps, batches: batchesFor(8), lr, clipNorm: 1, weightDecay: 0.01, precision: p, shards,
          scaler: scaling ? new DynamicLossScaler(scaling) : undefined,
        });
      const sharded = await reference(precision, 2);
      const whole = await reference(precision);
      const fp32 = await reference("fp32", 2);
      const start = startingParameters();
      await withTrainer(
        { workers: 2, config, seed: SEED, args: { maxSteps: steps, learningRate: lr, lrScheduler: "constant", mixedPrecision: precision, lossScaler: scaling } },
        async (t) => {
          assert.equal(t.precision, precision);
          assert.equal(t.lossScaler !== undefined, precision === "fp16", "a loss scaler for fp16 only");
          const { logs } = await t.train({ batches: batchesFor(8) });
          assert.equal(logs.length, steps, "train() runs to args.maxSteps");
          assert.deepEqual(logs.map((l) => l.skipped), sharded.skipped, "the same steps skipped as one process");
          assert.deepEqual(whole.skipped, sharded.skipped);
          if (precision === "fp16") {
            assert.deepEqual(sharded.skipped, [true, false, false, false], "step 1 overflowed in fp16, the rest did not");
            assert.deepEqual(logs.map((l) => l.lossScale), [2 ** 24, 2 ** 16, 2 ** 16, 2 ** 16]);
            assert.deepEqual(fp32.skipped, [false, false, false, false], "fp32 numerics do not overflow at 2^24");
          }
          logs.forEach((l, i) => assert.ok(Math.abs(l.loss - whole.losses[i]) < 1e-3, `step ${i + 1} loss ${l.loss} vs ${whole.losses[i]}`));
          const params = await t.parameters();
          const exact = maxAbsDiff(params, sharded.params);
          const vsWhole = relativeUpdateDiff(params, whole.params, start);
          const vsFp32 = relativeUpdateDiff(params, fp32.params, start);
          console.log(
            `      ${precision}: max |Δ| vs one process on the same shards ${exact.toExponential(2)}; ` +
              `relative update difference vs one forward pass ${vsWhole.toExponential(2)}, vs fp32 numerics ${vsFp32.toExponential(2)}`,
          );
          assert.ok(exact <= PARAM_TOL, `${precision}: max |Δparam| vs one process on the same shards ${exact} > ${PARAM_TOL}`);
          assert.ok(vsWhole <= MIXED_UPDATE_TOL[precision], `${precision}: vs one forward pass ${vsWhole} > ${MIXED_UPDATE_TOL[precision]}`);
          // The workers' 16-bit numerics, not fp32 ones: fp32 on the same shards lands far from the exact match.
          assert.ok(vsFp32 > 1e-2 && maxAbsDiff(params, fp32.params) > 1000 * PARAM_TOL, `${precision} numerics are visible in the workers: vs fp32 ${vsFp32}`);
          assert.equal(replicaSpread(await t.replicaParameters()), 0, "replicas bit-identical");
        },
      );
    });
  }

  it("a schedule by name with warm-up gives the Trainer's learning rates; accumulation and defaults match one process", async () => {
    const args = { maxSteps: 6, learningRate: 1e-2, lrScheduler: "cosine", warmupRatio: 0.34 } as const;
    // The Trainer (a classifier) with the same arguments: its logged learning rates are the reference.
    const rng = new Random(12);
    const classifier = new LlamaForSequenceClassification(config, { numLabels: 2, seed: 1 });
    const train = Array.from({ length: 4 }, () => ({ inputIds: [1 + rng.int(20), 1 + rng.int(20), 1 + rng.int(20)], label: rng.int(2) }));
    const hf = new Trainer({ model: classifier, train, args: { ...args, batchSize: 2, progress: false } });
    await hf.train();
    const trainerLrs = hf.history.filter((r) => r.kind === "train").map((r) => r.values.lr);
    hf.dispose();
    classifier.dispose();
    assert.equal(trainerLrs.length, 6);
    assert.equal(trainerLrs[0], 0, "warm-up starts at 0");
    assert.equal(trainerLrs[3], 1e-2, "⌈0.34 × 6⌉ = 3 warm-up steps, then the peak");
    // Defaults as the Trainer's: weight decay 0.01 on matrices, max grad norm 1; 3 micro-batches of a 7-row batch.
    const ref = await singleProcessRun({
      steps: 6, batches: batchesFor(9), lr: makeSchedule("cosine", { lr: 1e-2, warmupSteps: 3, totalSteps: 6 }), clipNorm: 1, weightDecay: 0.01,
    });
    await withTrainer({ workers: 2, config, seed: SEED, args: { ...args, gradientAccumulationSteps: 3 } }, async (t) => {
      assert.equal(t.maxSteps, 6);
      const { logs } = await t.train({ batches: batchesFor(9) });
      assert.deepEqual(logs.map((l) => l.lr), trainerLrs, "the same schedule values as lib/trainer's Trainer");
      logs.forEach((l, i) => assert.ok(Math.abs(l.gradNorm - ref.norms[i]) < 1e-4 * ref.norms[i], `step ${i + 1} grad norm`));
      const diff = maxAbsDiff(await t.parameters(), ref.params);
      assert.ok(diff <= PARAM_TOL, `max |Δparam| ${diff} > ${PARAM_TOL}`);
      await assert.rejects(t.trainStep([batchesFor(9)(0)]), /got 1 micro-batches but args.gradientAccumulationSteps is 3/);
    });
  });

  it("fp16 + schedule: one checkpoint in outputDir resumes on 3 workers from 2, with the loss scale and lr position", async () => {
    const root = tmpDir();
    const common = { maxSteps: 6, learningRate: 1e-2, warmupSteps: 2, mixedPrecision: "fp16", lossScaler: { initScale: 2 ** 10, growthInterval: 2 } } as const;
    const full = await withTrainer({ workers: 2, config, seed: SEED, args: common }, async (t) => {
      const { logs } = await t.train({ batches: batchesFor(10) });
      return { logs, params: await t.parameters() };
    });
    assert.deepEqual(full.logs.map((l) => l.lossScale), [2 ** 10, 2 ** 10, 2 ** 11, 2 ** 11, 2 ** 12, 2 ** 12], "the scale grows every 2 clean steps");
    const first = path.join(root, "first");
    await withTrainer({ workers: 2, config, seed: SEED, args: { ...common, outputDir: first, saveSteps: 3 } }, async (t) => {
      assert.equal(t.checkpointDir, path.join(first, "checkpoint"));
      await t.train({ batches: batchesFor(10), steps: 3 });
    });
    assert.deepEqual(fs.readdirSync(first), ["checkpoint"], "one checkpoint directory");
    const saved = readDataParallelCheckpoint(path.join(first, "checkpoint"));
    assert.equal(saved.state.step, 3);
    assert.equal(saved.state.maxSteps, 6);
    assert.equal((saved.state.lossScaler as { scale: number }).scale, 2 ** 11);
    const second = path.join(root, "second");
    const resumed = await withTrainer(
      { workers: 3, resumeFrom: path.join(first, "checkpoint"), args: { ...common, outputDir: second } },
      async (t) => {
        const { logs } = await t.train({ batches: batchesFor(10) }); // to maxSteps: 3 more
        assert.equal(replicaSpread(await t.replicaParameters()), 0, "replicas bit-identical after the resume");
        return { logs, params: await t.parameters() };
      },
    );
    assert.deepEqual(resumed.logs.map((l) => l.step), [4, 5, 6]);
    assert.deepEqual(resumed.logs.map((l) => l.lossScale), full.logs.slice(3).map((l) => l.lossScale), "the loss scale resumed");
    assert.deepEqual(resumed.logs.map((l) => l.lr), full.logs.slice(3).map((l) => l.lr), "the schedule resumed at step 4");
    // 3 workers round other shards' fp16 gradients than 2 do: the mixed-precision tolerance, not the fp32 one.
    const diff = relativeUpdateDiff(resumed.params, full.params, startingParameters());
    console.log(`      fp16 resumed on 3 workers vs uninterrupted on 2: relative update difference ${diff.toExponential(2)}`);
    assert.ok(diff <= MIXED_UPDATE_TOL.fp16, `resumed vs uninterrupted: ${diff} > ${MIXED_UPDATE_TOL.fp16}`);
    assert.equal(readDataParallelCheckpoint(path.join(second, "checkpoint")).state.step, 6, "written when the run ended");
    await assert.rejects(
      DataParallelTrainer.create({ workers: 1, resumeFrom: path.join(first, "checkpoint"), args: { ...common, maxSteps: 8 } }),
      /maxSteps 6; args.maxSteps is 8/,
    );
  });

  it("rejects arguments that do not apply, conflict or are invalid, before starting any worker", async () => {
    const bad: [DataParallelOptions, RegExp][] = [
      [{ workers: 1, config, args: { maxSteps: 2, numEpochs: 3 } as DataParallelOptions["args"] }, /args.numEpochs does not apply/],
      [{ workers: 1, config, lr: 1e-3, args: { maxSteps: 2 } }, /give lr or args, not both; with args use learningRate/],
      [{ workers: 1, config, lossScaler: new DynamicLossScaler(), args: { maxSteps: 2 } }, /give lossScaler or args/],
      [{ workers: 1, config, args: { learningRate: 1e-3 } }, /args.maxSteps is required/],
      [{ workers: 1, config, args: { maxSteps: 2, learningRate: -1 } }, /TrainingArguments: learningRate must be a finite number ≥ 0/],
      [{ workers: 1, config, args: { maxSteps: 2, mixedPrecision: "fp8" as "fp16" } }, /mixedPrecision must be "fp16", "bf16" or "none"/],
      [{ workers: 1, config, args: { maxSteps: 2, mixedPrecision: "bf16", lossScaler: {} } }, /lossScaler applies to mixedPrecision "fp16" only/],
    ];
    for (const [opts, message] of bad) await assert.rejects(DataParallelTrainer.create(opts), message);
    await withTrainer({ workers: 1, config, lr: 1e-3 }, async (t) => {
      await assert.rejects(t.train({ batches: batchesFor(1) }), /give steps \(or create the trainer with args.maxSteps\)/);
    });
  });
});

describe("splitIntoMicroBatches", () => {
  it("cuts a batch into at most k contiguous micro-batches of ⌈rows / k⌉ rows", () => {
    const rows = randomExamples(new Random(13), 7);
    const parts = splitIntoMicroBatches(rows, 3);
    assert.deepEqual(parts.map((p) => p.length), [3, 3, 1]);
    assert.deepEqual(parts.flat(), rows, "every row once, in order");
    assert.deepEqual(splitIntoMicroBatches(rows.slice(0, 2), 3).map((p) => p.length), [1, 1], "fewer rows than k");
    assert.throws(() => splitIntoMicroBatches(rows, 0), /count must be a positive integer/);
  });
});
