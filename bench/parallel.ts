/**
 * Data-parallel throughput on this machine: the same global batch trained by 1 worker and by one worker per CPU
 * core, reporting steps/s and supervised tokens/s for each, and the speedup as the last line
 * (`data_parallel_speedup=X.XX`). Run with `npm run bench:parallel`. The two set-ups are timed in alternating rounds
 * and each keeps its fastest round, so load from other processes on a shared machine skews the ratio less.
 * Environment: LLAMALAB_BENCH_STEPS (steps per round, default 4), LLAMALAB_BENCH_ROUNDS (default 3),
 * LLAMALAB_BENCH_WORKERS (N, default the number of CPU cores).
 */
import * as os from "os";
import { initBackend } from "../lib/backend";
import { LlamaConfig } from "../lib/model/config";
import { Random } from "../lib/random";
import { DataParallelTrainer } from "../lib/parallel/data_parallel_trainer";
import { LmExample, causalLmExample } from "../lib/parallel/sharding";

const config = new LlamaConfig({
  vocab_size: 512, hidden_size: 128, intermediate_size: 344, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 2, max_position_embeddings: 256,
});
const ROWS = 32;
const SEQ = 65;
const WARMUP = 2;
const STEPS = Number(process.env.LLAMALAB_BENCH_STEPS ?? 4);
const ROUNDS = Number(process.env.LLAMALAB_BENCH_ROUNDS ?? 3);

function batch(step: number): LmExample[] {
  const rng = new Random(1000 + step);
  return Array.from({ length: ROWS }, () => causalLmExample(Array.from({ length: SEQ }, () => rng.int(config.vocab_size))));
}

interface Rate {
  stepsPerSec: number;
  tokensPerSec: number;
  /** Share of wall time spent outside the slowest worker's gradient computation (reduce, transfers, update). */
  overhead: number;
}

/** Times STEPS steps of `trainer` (continuing its run). */
async function round(trainer: DataParallelTrainer): Promise<Rate> {
  const start = performance.now();
  const { logs } = await trainer.train({ steps: STEPS, batches: batch });
  const seconds = (performance.now() - start) / 1000;
  const compute = logs.reduce((ms, l) => ms + Math.max(...l.workerMs), 0);
  // Wall time, not Σ stepMs: train() overlaps each step's update with posting the next, and waits for the last.
  return { stepsPerSec: STEPS / seconds, tokensPerSec: logs.reduce((n, l) => n + l.tokens, 0) / seconds, overhead: 1 - compute / (seconds * 1000) };
}

const fastest = (rates: Rate[]): Rate => rates.reduce((a, b) => (b.stepsPerSec > a.stepsPerSec ? b : a));

async function main(): Promise<void> {
  const backend = await initBackend(() => undefined);
  const cores = os.cpus().length;
  const n = Number(process.env.LLAMALAB_BENCH_WORKERS ?? cores);
  console.log(
    `bench:parallel ${new Date().toISOString()} backend=${backend} cores=${cores} load=${os.loadavg()[0].toFixed(2)} ` +
      `model=${config.num_hidden_layers}x${config.hidden_size} vocab=${config.vocab_size} batch=${ROWS}x${SEQ - 1} ` +
      `rounds=${ROUNDS}x${STEPS} steps`,
  );
  const one = await DataParallelTrainer.create({ workers: 1, config, seed: 0, lr: 1e-3, clipNorm: 1 });
  const many = await DataParallelTrainer.create({ workers: n, config, seed: 0, lr: 1e-3, clipNorm: 1 });
  try {
    for (const t of [one, many]) await t.train({ steps: WARMUP, batches: batch }); // wasm compilation, first calls
    const rates: [Rate[], Rate[]] = [[], []];
    for (let r = 0; r < ROUNDS; r++) {
      rates[0].push(await round(one));
      rates[1].push(await round(many));
    }
    const best = rates.map(fastest);
    const fmt = (w: number, rate: Rate, all: Rate[]): string =>
      `workers=${w} steps/s=${rate.stepsPerSec.toFixed(3)} tokens/s=${rate.tokensPerSec.toFixed(0)} overhead=${(100 * rate.overhead).toFixed(1)}% ` +
      `(rounds: ${all.map((x) => x.stepsPerSec.toFixed(3)).join(", ")} steps/s)`;
    console.log(fmt(1, best[0], rates[0]));
    console.log(fmt(n, best[1], rates[1]));
    console.log(`data_parallel_speedup=${(best[1].stepsPerSec / best[0].stepsPerSec).toFixed(2)}`);
  } finally {
    await one.dispose();
    await many.dispose();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
