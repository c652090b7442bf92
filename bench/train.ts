/**
 * Training throughput, Llama Lab against PyTorch, in one run on this machine (`npm run bench:train`).
 *
 * For each size (the 3.3M model of issue 9 and llama2.c's 15M config with a short sequence) it trains the same
 * architecture on the same token batches with the same AdamW settings and gradient clipping, here (trainSteps,
 * whatever backend initBackend picks — wasm uses one thread per core) and in bench/torch_train.py on 1 thread and
 * on all cores (both ways of threading torch, see allCores), alternating for BENCH_ROUNDS rounds, each side keeping
 * its fastest run. Prints tokens/s for each; then the geometric mean over sizes of ours / torch on all cores, and as
 * the last line ours / torch on 1 thread, the reference: `train_tokens_per_s_ratio_vs_torch=…`.
 *
 * Environment: BENCH_SIZES=3.3M,15M  BENCH_STEPS (timed steps, default 6)  BENCH_WARMUP (untimed first steps, default 3:
 * our first steps are slower while wasm memory grows and V8 compiles: 1,725, 1,323, 1,117 ms, then 690–1,000 ms, in
 * one 12-step run of the 3.3M model on 2 threads)
 * BENCH_ROUNDS (default 2); LLAMALAB_WASM_THREADS sets our thread count.
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
import { ONE_THREAD, TorchThreads, allCores, backendLabel, describeThreads, ensureTorch, fastest, numberFrom, runTorchScript } from "./torch_reference";

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
  const parameters = model.numParameters();
  model.dispose();
  optimizer.dispose();
  const tokens = logs.length * size.batch * size.seq;
  return { tokensPerSec: tokens / seconds, finalLoss: logs[logs.length - 1].loss, parameters };
}

function runTorch(specPath: string, threads: TorchThreads): { tokensPerSec: number; finalLoss: number } {
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
  await initBackend();
  const leakArg = process.argv.indexOf("--leak-steps");
  if (leakArg >= 0) return leakCheck(Number(process.argv[leakArg + 1] ?? 1000));

  ensureTorch();
  const wanted = (process.env.BENCH_SIZES ?? SIZES.map((s) => s.name).join(",")).split(",");
  const sizes = SIZES.filter((s) => wanted.includes(s.name));
  if (sizes.length === 0) throw new Error(`BENCH_SIZES=${process.env.BENCH_SIZES} names no size; use ${SIZES.map((s) => s.name).join(",")}`);
  const timed = Number(process.env.BENCH_STEPS ?? 6);
  const warmup = Number(process.env.BENCH_WARMUP ?? 3);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
  const cores = os.cpus().length;
  console.log(`machine: ${cores} × ${os.cpus()[0]?.model}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-train-"));
  const ratios: number[] = [];
  const ratiosAllCores: number[] = [];
  try {
    for (const size of sizes) {
      const data = makeBatches(size, warmup + timed, 1);
      const specPath = path.join(dir, `${size.name}.json`);
      const config = makeConfig(size.config).toJSON(); // HF config.json fields
      writeFileAtomic(specPath, JSON.stringify({ config, adamw: ADAMW, clipNorm: CLIP_NORM, warmupSteps: warmup, ...data }));
      // Rounds alternate ours and torch's runs, and each side keeps its fastest: load from other processes on a
      // shared machine then skews the ratio less than in a single back-to-back pair.
      const oursRuns: { tokensPerSec: number; finalLoss: number; parameters: number }[] = [];
      const torchOne: { tokensPerSec: number; finalLoss: number }[] = [];
      const torchAll: { tokensPerSec: number; finalLoss: number; threads: TorchThreads }[] = [];
      for (let r = 0; r < rounds; r++) {
        oursRuns.push(await runOurs(size, data, warmup));
        torchOne.push(runTorch(specPath, ONE_THREAD));
        for (const threads of allCores(cores)) torchAll.push({ ...runTorch(specPath, threads), threads });
      }
      const [ours, torch1, torchN] = [fastest(oursRuns), fastest(torchOne), fastest(torchAll)];
      const ratio = ours.tokensPerSec / torch1.tokensPerSec;
      ratios.push(ratio);
      ratiosAllCores.push(ours.tokensPerSec / torchN.tokensPerSec);
      const count = ours.parameters;
      const runs = (xs: { tokensPerSec: number }[]): string => xs.map((x) => x.tokensPerSec.toFixed(0)).join("/");
      console.log(
        `${size.name} (${(count / 1e6).toFixed(2)}M params, batch ${size.batch}×${size.seq}, best of ${rounds}): ` +
          `llamalab[${backendLabel()}] ${ours.tokensPerSec.toFixed(0)} tok/s (loss ${ours.finalLoss.toFixed(3)}; runs ${runs(oursRuns)}), ` +
          `torch 1 thread ${torch1.tokensPerSec.toFixed(0)} tok/s (loss ${torch1.finalLoss.toFixed(3)}; runs ${runs(torchOne)}), ` +
          `torch ${describeThreads(torchN.threads)} ${torchN.tokensPerSec.toFixed(0)} tok/s (runs ${runs(torchAll)}); ` +
          `ratio vs 1 thread ${ratio.toFixed(2)}, vs ${cores} cores ${(ours.tokensPerSec / torchN.tokensPerSec).toFixed(2)}`,
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const geo = (xs: number[]): number => Math.exp(xs.reduce((a, r) => a + Math.log(r), 0) / xs.length);
  console.log(`train_tokens_per_s_ratio_vs_torch_all_cores=${geo(ratiosAllCores).toFixed(2)}`);
  const geoMean = geo(ratios);
  console.log(`train_tokens_per_s_ratio_vs_torch=${geoMean.toFixed(2)}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
