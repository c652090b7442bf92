/**
 * Language-model examples and how a global batch is split across data-parallel workers. Shards are balanced by
 * supervised tokens (labels ≠ −100), the quantity the loss averages over, not by rows: rows differ in length and
 * in how much of them is supervised, so equal row counts would give workers unequal work and unequal weight.
 */
import { IGNORE_INDEX } from "../train/losses";

/**
 * One causal-LM training row: token ids and, aligned with them, the id each position must predict
 * (−100 where nothing is predicted: padding, the prompt of an instruction pair, ...).
 */
export interface LmExample {
  inputIds: readonly number[];
  labels: readonly number[];
}

/** A row of tokens as a next-token example: inputs tokens[0..n−2], labels tokens[1..n−1]. */
export function causalLmExample(tokens: readonly number[]): LmExample {
  if (!Array.isArray(tokens) || tokens.length < 2) {
    throw new Error(`causalLmExample: need at least 2 tokens to predict one, got ${tokens?.length ?? tokens}`);
  }
  return { inputIds: tokens.slice(0, -1), labels: tokens.slice(1) };
}

/** Number of supervised positions (labels ≠ −100) in one example; checks the example's shape. */
export function supervisedTokens(example: LmExample): number {
  if (example == null || !Array.isArray(example.inputIds) || !Array.isArray(example.labels)) {
    throw new Error("supervisedTokens: an example must be { inputIds: number[], labels: number[] }");
  }
  if (example.inputIds.length !== example.labels.length || example.inputIds.length === 0) {
    throw new Error(
      `supervisedTokens: inputIds (${example.inputIds.length}) and labels (${example.labels.length}) must be ` +
        "non-empty and of equal length (labels aligned with inputs; use causalLmExample(tokens) to build one)",
    );
  }
  let n = 0;
  for (const label of example.labels) if (label !== IGNORE_INDEX) n++;
  return n;
}

/** Total supervised tokens of a list of examples. */
export function countSupervisedTokens(examples: readonly LmExample[]): number {
  return examples.reduce((n, ex) => n + supervisedTokens(ex), 0);
}

/** One worker's share of a batch: the examples and the indices they had in the batch. */
export interface Shard {
  examples: LmExample[];
  indices: number[];
  /** Supervised tokens in the shard. */
  tokens: number;
}

/**
 * Splits `examples` into `workers` shards with supervised-token counts as even as rows allow: rows are taken
 * largest first (ties by position) and each goes to the shard with the fewest tokens so far (ties to the lower
 * worker), then each shard is put back in batch order. Deterministic; a shard may be empty when there are fewer
 * rows than workers — its worker then contributes a zero gradient.
 */
export function shardBySupervisedTokens(examples: readonly LmExample[], workers: number): Shard[] {
  if (!Number.isInteger(workers) || workers < 1) {
    throw new Error(`shardBySupervisedTokens: workers must be a positive integer, got ${workers}`);
  }
  if (!Array.isArray(examples)) throw new Error("shardBySupervisedTokens: examples must be an array of LmExample");
  const counts = examples.map(supervisedTokens);
  const order = counts.map((_, i) => i).sort((a, b) => counts[b] - counts[a] || a - b);
  const loads = new Array<number>(workers).fill(0);
  const members: number[][] = Array.from({ length: workers }, () => []);
  for (const i of order) {
    let w = 0;
    for (let k = 1; k < workers; k++) if (loads[k] < loads[w]) w = k;
    loads[w] += counts[i];
    members[w].push(i);
  }
  return members.map((idx, w) => {
    idx.sort((a, b) => a - b);
    return { examples: idx.map((i) => examples[i]), indices: idx, tokens: loads[w] };
  });
}

/**
 * Splits a global batch into at most `count` contiguous micro-batches of ⌈rows / count⌉ rows (the last may be
 * smaller; fewer when there are fewer rows), for gradient accumulation: each is a separate forward pass.
 */
export function splitIntoMicroBatches(examples: readonly LmExample[], count: number): LmExample[][] {
  if (!Number.isInteger(count) || count < 1) throw new Error(`splitIntoMicroBatches: count must be a positive integer, got ${count}`);
  const rows = Math.ceil(examples.length / count);
  const out: LmExample[][] = [];
  for (let start = 0; start < examples.length; start += rows) out.push(examples.slice(start, start + rows));
  return out;
}
