/**
 * Training throughput, Llama Lab against PyTorch, in one run on this machine (`npm run bench:train`).
 *
 * For each size (the 3.3M model of issue 9 and llama2.c's 15M config with a short sequence) it trains the same
 * architecture on the same token batches with the same AdamW settings and gradient clipping, first here
 * (trainSteps, whatever backend initBackend picks) and then in bench/torch_train.py with 1 and 2 torch threads.
 * Prints tokens/s for each, and as its last line the geometric mean over sizes of ours / torch(1 thread):
 * `train_tokens_per_s_ratio_vs_torch=…` (1 thread because the wasm backend in Node is single-threaded).
 *
 * Environment: BENCH_SIZES=3.3M,15M  BENCH_STEPS (timed steps, default 4)  BENCH_WARMUP (default 1).
 * `npm run bench:train -- --leak-steps 1000` instead trains a tiny model for that many steps and fails if the
 * number of live tensors grows.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend";
import { writeFileAtomic } from "../lib/io/atomic";
import { LlamaConfigInit, makeConfig } from "../lib/model/config";
import { LlamaForCausalLM } from "../lib/model/causal_lm";
import { Random } from "../lib/random";
import { AdamW, AdamWOptions } from "../lib/train/adamw";
import { maskedCrossEntropy } from "../lib/train/losses";
import { trainSteps } from "../lib/train/loop";
import { ensureTorch, numberFrom, runTorchScript } from "./torch_reference";

/** One benchmark size: a config and the batch shape. */
interface BenchSize {
  name: string;
  config: LlamaConfigInit;
  batch: number;
  seq: number;
}

const SIZES: BenchSize[] = [
  {
    name: "3.3M",
    config: { vocab_size: 512, hidden_size: 256, num_hidden_layers: 4, num_attention_heads: 8, intermediate_size: 688 },
    batch: 8,
    seq: 128,
  },
  {
    // llama2.c's stories15M (dim 288, 6 layers, 6 heads, hidden 768, vocab 32000, tied classifier), on 64-token windows.
    name: "15M",
    config: {
      vocab_size: 32000, hidden_size: 288, num_hidden_layers: 6, num_attention_heads: 6, intermediate_size: 768,
      tie_word_embeddings: true,
    },
    batch: 8,
    seq: 64,
  },
];

const ADAMW = { lr: 3e-4, betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 0.1 };
const CLIP_NORM = 1.0;

/** Next-token batches: ids [B, T] and labels [B, T] = the following token, as plain arrays per step. */
function makeBatches(size: BenchSize, steps: number, seed: number): { inputs: number[][][]; labels: number[][][] } {
  const rng = new Random(seed);
  const inputs: number[][][] = [];
  const labels: number[][][] = [];
  for (let s = 0; s < steps; s++) {
    const rowsIn: number[][] = [];
    const rowsLab: number[][] = [];
    for (let b = 0; b < size.batch; b++) {
      const row = Array.from({ length: size.seq + 1 }, () => rng.int(size.config.vocab_size));
      rowsIn.push(row.slice(0, -1));
      rowsLab.push(row.slice(1));
    }
    inputs.push(rowsIn);
    labels.push(rowsLab);
  }
  return { inputs, labels };
}

/** Trains our model on the batches; tokens/s over the steps after `warmup`, and the final loss. */
async function runOurs(size: BenchSize, data: ReturnType<typeof makeBatches>, warmup: number) {
  const model = new LlamaForCausalLM(makeConfig(size.config), { seed: 0 });
  const params = model.namedParameters();
  const optimizer = new AdamW(params, ADAMW as AdamWOptions);
  let next = 0;
  const batch = () => {
    const i = next++;
    return {
      ids: tf.tensor(data.inputs[i].flat(), [size.batch, size.seq], "int32") as tf.Tensor2D, // [B, T]
      labels: tf.tensor(data.labels[i].flat(), [size.batch, size.seq], "int32") as tf.Tensor2D, // [B, T]
    };
  };
  const run = (steps: number) =>
    trainSteps({
      params,
      optimizer,
      batches: batch,
      steps,
      clipNorm: CLIP_NORM,
      disposeBatches: true,
      lossFn: (b) => ({ loss: maskedCrossEntropy(model.forward(b.ids), b.labels).loss }),
    });
  await run(warmup);
  const t0 = performance.now();
  const logs = await run(data.inputs.length - warmup);
  const seconds = (performance.now() - t0) / 1000;
  model.dispose();
  optimizer.dispose();
  const tokens = logs.length * size.batch * size.seq;
  return { tokensPerSec: tokens / seconds, finalLoss: logs[logs.length - 1].loss };
}

function runTorch(specPath: string, threads: number): { tokensPerSec: number; finalLoss: number } {
  const out = runTorchScript("torch_train.py", [specPath], threads);
  return {
    tokensPerSec: numberFrom(out, "torch_tokens_per_s", "torch_train.py"),
    finalLoss: numberFrom(out, "torch_final_loss", "torch_train.py"),
  };
}

/** Trains a tiny model for `steps` steps and throws if tf.memory().numTensors grows after the first step. */
async function leakCheck(steps: number): Promise<void> {
  const size: BenchSize = {
    name: "tiny",
    config: { vocab_size: 64, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 64 },
    batch: 2,
    seq: 16,
  };
  const model = new LlamaForCausalLM(makeConfig(size.config), { seed: 0 });
  const params = model.namedParameters();
  const optimizer = new AdamW(params, ADAMW as AdamWOptions);
  const data = makeBatches(size, 1, 7);
  const ids = tf.tensor(data.inputs[0].flat(), [size.batch, size.seq], "int32") as tf.Tensor2D;
  const labels = tf.tensor(data.labels[0].flat(), [size.batch, size.seq], "int32") as tf.Tensor2D;
  const lossFn = () => ({ loss: maskedCrossEntropy(model.forward(ids), labels).loss });
  await trainSteps({ params, optimizer, batches: () => null, steps: 1, clipNorm: CLIP_NORM, lossFn });
  const before = tf.memory().numTensors;
  const t0 = performance.now();
  const logs = await trainSteps({ params, optimizer, batches: () => null, steps, clipNorm: CLIP_NORM, lossFn });
  const after = tf.memory().numTensors;
  console.log(`leak check: ${logs.length} steps in ${((performance.now() - t0) / 1000).toFixed(1)} s, loss ${logs[0].loss.toFixed(3)} → ${logs[logs.length - 1].loss.toFixed(3)}`);
  console.log(`live tensors after step 1: ${before}, after step ${steps + 1}: ${after}`);
  tf.dispose([ids, labels]);
  model.dispose();
  optimizer.dispose();
  if (after !== before) throw new Error(`tensor count grew by ${after - before} over ${steps} steps`);
  console.log("tensor_growth_over_steps=0");
}

async function main(): Promise<void> {
  const backend = await initBackend();
  const leakArg = process.argv.indexOf("--leak-steps");
  if (leakArg >= 0) return leakCheck(Number(process.argv[leakArg + 1] ?? 1000));

  ensureTorch();
  const wanted = (process.env.BENCH_SIZES ?? SIZES.map((s) => s.name).join(",")).split(",");
  const sizes = SIZES.filter((s) => wanted.includes(s.name));
  if (sizes.length === 0) throw new Error(`BENCH_SIZES=${process.env.BENCH_SIZES} names no size; use ${SIZES.map((s) => s.name).join(",")}`);
  const timed = Number(process.env.BENCH_STEPS ?? 4);
  const warmup = Number(process.env.BENCH_WARMUP ?? 1);
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-train-"));
  const ratios: number[] = [];
  try {
    for (const size of sizes) {
      const data = makeBatches(size, warmup + timed, 1);
      const ours = await runOurs(size, data, warmup);
      const specPath = path.join(dir, `${size.name}.json`);
      const config = makeConfig(size.config).toJSON(); // HF config.json fields
      writeFileAtomic(specPath, JSON.stringify({ config, adamw: ADAMW, clipNorm: CLIP_NORM, warmupSteps: warmup, ...data }));
      const torch1 = runTorch(specPath, 1);
      const torch2 = runTorch(specPath, 2);
      const ratio = ours.tokensPerSec / torch1.tokensPerSec;
      ratios.push(ratio);
      const params = new LlamaForCausalLM(makeConfig(size.config), { seed: 0 });
      const count = params.numParameters();
      params.dispose();
      console.log(
        `${size.name} (${(count / 1e6).toFixed(2)}M params, batch ${size.batch}×${size.seq}): ` +
          `llamalab[${backend}] ${ours.tokensPerSec.toFixed(0)} tok/s (loss ${ours.finalLoss.toFixed(3)}), ` +
          `torch 1 thread ${torch1.tokensPerSec.toFixed(0)} tok/s (loss ${torch1.finalLoss.toFixed(3)}), ` +
          `torch 2 threads ${torch2.tokensPerSec.toFixed(0)} tok/s, ratio vs 1 thread ${ratio.toFixed(2)}, vs 2 threads ${(ours.tokensPerSec / torch2.tokensPerSec).toFixed(2)}`,
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const geoMean = Math.exp(ratios.reduce((a, r) => a + Math.log(r), 0) / ratios.length);
  console.log(`train_tokens_per_s_ratio_vs_torch=${geoMean.toFixed(2)}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
