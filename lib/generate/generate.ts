/**
 * Autoregressive text generation, like Hugging Face's `model.generate`: feed the prompt, pick a token from the
 * last position's logits, append it, repeat. With the KV cache (default) each step runs only the new token
 * through the model.
 */
import * as tf from "@tensorflow/tfjs";
import { LlamaForCausalLM, projectToVocab } from "../model/causal_lm";
import { interruptRequested } from "../interrupt";
import { Random } from "../random";
import { KVCache } from "./kv_cache";
import { SamplingOptions, checkSamplingOptions, sampleToken } from "./sampling";

/** Options of {@link generate}. */
export interface GenerateOptions extends SamplingOptions {
  /** How many tokens to add at most (per row). */
  maxNewTokens: number;
  /** Hugging Face's switch: false means greedy. Default: sample (unless `greedy` or temperature 0). */
  doSample?: boolean;
  /** Ids that end a row when generated (the id is kept in the output). Default: the config's eos_token_id. */
  stopTokens?: number[];
  /** Seed of the sampling (default 0): the same seed, prompt and model give the same tokens. */
  seed?: number;
  /** Run each new token alone against cached keys/values (default true); false re-runs the whole sequence. */
  useCache?: boolean;
  /** Id used to left-pad prompts of different lengths (masked out; default the config's pad id, else 0). */
  padTokenId?: number;
  /** Called with each new token as soon as it is chosen, and awaited: stream it to a display. */
  onToken?: (id: number, row: number, step: number) => void | Promise<void>;
}

/** Why a row stopped. */
export type FinishReason = "stop" | "length" | "interrupted";

/** What {@link generate} returns. */
export interface GenerateResult {
  /** Per row: prompt followed by the new tokens. */
  sequences: number[][];
  /** Per row: the new tokens only (ending with the stop token when one was hit). */
  newTokens: number[][];
  /** Per row: hit a stop token, reached maxNewTokens, or was interrupted. */
  finishReasons: FinishReason[];
  /** Seconds for the first forward pass over the prompt (which also yields the first token). */
  promptSeconds: number;
  /** Seconds for everything after it. */
  decodeSeconds: number;
  /** New tokens (all rows) per second over the whole call. */
  tokensPerSecond: number;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function checkPrompts(inputIds: number[] | number[][], vocab: number): number[][] {
  const rows = Array.isArray(inputIds) && inputIds.length > 0 && Array.isArray(inputIds[0]) ? (inputIds as number[][]) : [inputIds as number[]];
  if (!Array.isArray(inputIds) || rows.length === 0) throw new Error("generate: inputIds must be a prompt (number[]) or a batch of prompts (number[][])");
  rows.forEach((row, r) => {
    if (!Array.isArray(row) || row.length === 0) throw new Error(`generate: prompt ${r} is empty; give at least one token (e.g. the BOS id)`);
    row.forEach((id, j) => {
      if (!Number.isInteger(id) || id < 0 || id >= vocab) {
        throw new Error(`generate: prompt ${r} token ${j} is ${id}, not a token id in [0, vocab_size=${vocab})`);
      }
    });
  });
  return rows.map((row) => [...row]);
}

function defaultStops(eos: number | number[] | null): number[] {
  return eos === null ? [] : Array.isArray(eos) ? [...eos] : [eos];
}

/**
 * Says so (once per call, on stderr) when generating feeds the model positions past max_position_embeddings: RoPE
 * still computes them, so nothing fails, but the model was never trained on them. The last new token is only
 * returned, never fed back, so prompt + maxNewTokens = max_position_embeddings + 1 still fits.
 */
function warnPastContext(promptLen: number, maxNewTokens: number, maxPositions: number): void {
  const fed = maxNewTokens === 0 ? 0 : promptLen + maxNewTokens - 1;
  if (fed <= maxPositions) return;
  const fix = promptLen >= maxPositions ? "shorten the prompt" : `lower maxNewTokens to ${maxPositions - promptLen + 1} or less`;
  console.warn(
    `generate: the prompt (${promptLen} tokens) plus maxNewTokens (${maxNewTokens}) feeds the model ${fed} positions, ` +
      `past the config's max_position_embeddings=${maxPositions}. RoPE still computes them but the model never saw them ` +
      `in training, so the tokens chosen there are usually worse; ${fix}.`,
  );
}

/**
 * Continues each prompt by up to `maxNewTokens` tokens. Prompts of different lengths are left-padded and masked,
 * with positions counted from each row's first real token, so every row gets the tokens it would get alone.
 * Stops early when every row has produced a stop token, or on a kernel interrupt.
 */
export async function generate(
  model: LlamaForCausalLM,
  inputIds: number[] | number[][],
  opts: GenerateOptions,
): Promise<GenerateResult> {
  if (!(model instanceof LlamaForCausalLM)) throw new Error("generate: model must be a LlamaForCausalLM (the LM head gives next-token logits)");
  const config = model.config;
  const prompts = checkPrompts(inputIds, config.vocab_size);
  if (opts === null || typeof opts !== "object") throw new Error("generate: options are missing; pass at least { maxNewTokens }");
  const { maxNewTokens } = opts;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) throw new Error(`generate: maxNewTokens must be an integer ≥ 0, got ${maxNewTokens}`);
  checkSamplingOptions(opts);
  if (opts.greedy === true && opts.doSample === true) throw new Error("generate: greedy: true and doSample: true contradict each other; pass one");
  const sampling: SamplingOptions = { ...opts, greedy: opts.greedy === true || opts.doSample === false };
  const stops = new Set(opts.stopTokens ?? defaultStops(config.eos_token_id));
  const padId = opts.padTokenId ?? config.pad_token_id ?? 0;
  const rng = new Random(opts.seed ?? 0);
  const cache = opts.useCache === false ? null : new KVCache(config.num_hidden_layers);

  const b = prompts.length;
  const promptLen = Math.max(...prompts.map((p) => p.length));
  warnPastContext(promptLen, maxNewTokens, config.max_position_embeddings);
  const padded = prompts.map((p) => [...new Array(promptLen - p.length).fill(padId), ...p]); // left padding
  const mask = prompts.map((p) => [...new Array(promptLen - p.length).fill(0), ...new Array(p.length).fill(1)]);
  const anyPadding = prompts.some((p) => p.length < promptLen);
  const newTokens: number[][] = prompts.map(() => []);
  const finish: (FinishReason | null)[] = prompts.map(() => null);

  const start = performance.now();
  let promptSeconds = 0;
  try {
    for (let step = 0; step < maxNewTokens; step++) {
      if (interruptRequested()) {
        finish.forEach((f, r) => (finish[r] = f ?? "interrupted"));
        break;
      }
      const total = padded[0].length;
      // With a cache only the tokens not yet seen go in: the whole prompt first, then one token per step.
      const from = cache ? total - (step === 0 ? promptLen : 1) : 0;
      const logits = tf.tidy(() => {
        const ids = tf.tensor2d(padded.map((row) => row.slice(from)), [b, total - from], "int32"); // [B, T]
        // A token's position is the number of real tokens before it in its row (pads get 0; they are masked anyway).
        const positions = mask.map((row) => {
          let seen = 0;
          return row.map((m) => (m ? seen++ : 0)).slice(from);
        });
        const hidden = model.model.forward(ids, {
          cache: cache ?? undefined,
          attentionMask: anyPadding ? tf.tensor2d(mask, [b, total], "float32") : undefined,
          positionIds: tf.tensor2d(positions, [b, total - from], "int32"),
        }); // [B, T, D]
        const last = tf.slice(hidden, [0, total - from - 1, 0], [b, 1, -1]) as tf.Tensor3D; // [B, 1, D]
        return projectToVocab(last, model.lmHeadWeight); // [B, 1, V]
      });
      const values = await logits.data();
      logits.dispose();
      if (step === 0) promptSeconds = (performance.now() - start) / 1000;
      const v = config.vocab_size;
      for (let r = 0; r < b; r++) {
        let id = padId; // finished rows keep the batch rectangular with pads
        if (finish[r] === null) {
          id = sampleToken(values.subarray(r * v, (r + 1) * v), sampling, rng);
          newTokens[r].push(id);
          if (stops.has(id)) finish[r] = "stop";
          else if (newTokens[r].length === maxNewTokens) finish[r] = "length";
          await opts.onToken?.(id, r, step);
        }
        padded[r].push(id);
        mask[r].push(1);
      }
      if (finish.every((f) => f !== null)) break;
      await yieldToEventLoop(); // lets a display update and an interrupt through between tokens
    }
  } finally {
    cache?.dispose();
  }
  const seconds = (performance.now() - start) / 1000;
  const produced = newTokens.reduce((n, row) => n + row.length, 0);
  return {
    sequences: prompts.map((p, r) => [...p, ...newTokens[r]]),
    newTokens,
    finishReasons: finish.map((f) => f ?? "length"),
    promptSeconds,
    decodeSeconds: seconds - promptSeconds,
    tokensPerSecond: seconds > 0 ? produced / seconds : 0,
  };
}
