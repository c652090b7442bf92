/**
 * Generation throughput with the KV cache, Llama Lab against PyTorch (`npm run bench:generate`).
 *
 * Builds llama2.c's 15M config (seeded random weights), greedily continues a prompt with lib/generate's
 * generate() (KV cache on), saves the weights as safetensors and runs bench/torch_generate.py on the very same
 * weights and prompt with 1 and 2 torch threads. Prints tokens/s for each, how many leading tokens the two
 * agree on, and as its last line ours / torch(1 thread): `generate_tokens_per_s_ratio_vs_torch=…`.
 *
 * Environment: BENCH_NEW_TOKENS (default 128), BENCH_PROMPT_TOKENS (default 16).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { initBackend } from "../lib/backend";
import { generate } from "../lib/generate/generate";
import { writeFileAtomic } from "../lib/io/atomic";
import { writeConfigJson } from "../lib/io/config_json";
import { stateDict } from "../lib/io/pretrained";
import { saveSafetensors } from "../lib/io/safetensors";
import { makeConfig } from "../lib/model/config";
import { LlamaForCausalLM } from "../lib/model/causal_lm";
import { Random } from "../lib/random";
import { ONE_THREAD, allCores, backendLabel, describeThreads, ensureTorch, fastest, numberFrom, runTorchScript } from "./torch_reference";

async function main(): Promise<void> {
  await initBackend();
  ensureTorch();
  const newTokens = Number(process.env.BENCH_NEW_TOKENS ?? 128);
  const promptTokens = Number(process.env.BENCH_PROMPT_TOKENS ?? 16);
  // llama2.c's stories15M: dim 288, 6 layers, 6 heads, hidden 768, vocab 32000, tied classifier.
  const config = makeConfig({
    vocab_size: 32000, hidden_size: 288, num_hidden_layers: 6, num_attention_heads: 6, intermediate_size: 768,
    tie_word_embeddings: true, max_position_embeddings: 256,
  });
  const model = new LlamaForCausalLM(config, { seed: 0 });
  const rng = new Random(11);
  const prompt = Array.from({ length: promptTokens }, () => rng.int(config.vocab_size));
  const opts = { maxNewTokens: newTokens, greedy: true, stopTokens: [] as number[] };
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);

  await generate(model, prompt, { ...opts, maxNewTokens: 8 }); // warm-up: kernels compiled, caches filled
  const ours = await generate(model, prompt, opts);
  const oursTokens = ours.newTokens[0];

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-generate-"));
  try {
    writeConfigJson(path.join(dir, "config.json"), config);
    saveSafetensors(path.join(dir, "model.safetensors"), stateDict(model));
    writeFileAtomic(path.join(dir, "spec.json"), JSON.stringify({ prompt, maxNewTokens: newTokens, warmupTokens: 8 }));
    const torch = [ONE_THREAD, ...allCores(os.cpus().length)].map((threads) => {
      const out = runTorchScript("torch_generate.py", [dir], threads);
      return { threads, tokensPerSec: numberFrom(out, "torch_tokens_per_s", "torch_generate.py"), tokens: JSON.parse(out.get("torch_tokens") ?? "[]") as number[] };
    });
    const bestAll = fastest(torch.slice(1));
    let agree = 0;
    while (agree < oursTokens.length && oursTokens[agree] === torch[0].tokens[agree]) agree++;
    console.log(
      `15M (${(model.numParameters() / 1e6).toFixed(2)}M params), prompt ${promptTokens} + ${newTokens} greedy tokens: ` +
        `llamalab[${backendLabel()}] ${ours.tokensPerSecond.toFixed(1)} tok/s (prompt ${(ours.promptSeconds * 1000).toFixed(0)} ms), ` +
        `torch 1 thread ${torch[0].tokensPerSec.toFixed(1)} tok/s, torch ${describeThreads(bestAll.threads)} ${bestAll.tokensPerSec.toFixed(1)} tok/s`,
    );
    console.log(`greedy tokens identical to torch's for the first ${agree} of ${oursTokens.length}`);
    console.log(`generate_tokens_per_s_ratio_vs_torch=${(ours.tokensPerSecond / torch[0].tokensPerSec).toFixed(2)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    model.dispose();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
