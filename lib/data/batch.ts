/**
 * Batching: pad ragged rows of token ids (and rows aligned with them) to one length, turn them into tensors,
 * and cut a dataset into seeded, shuffled batches.
 */
import * as tf from "@tensorflow/tfjs";
import { Random } from "../random";

/** A row aligned token-for-token with the ids (labels, segment ids, ...) and the value that pads it. */
export interface AlignedRows {
  rows: readonly (readonly number[])[];
  /** Fill value at padded positions, e.g. -100 for labels, 0 for segment ids. */
  padValue: number;
}

/** Options for {@link padBatch}. */
export interface PadBatchOptions<K extends string = never> {
  /** Id written at padded positions of `inputIds`. */
  padId: number;
  /** Longer rows are truncated to this length (and with `padToMaxLength`, shorter rows padded up to it). */
  maxLength?: number;
  /** Pad every row to `maxLength` instead of to the longest row in the batch. */
  padToMaxLength?: boolean;
  /** Where padding goes: "right" (BERT) or "left" (decoder generation, last-token pooling). Default "right". */
  side?: "right" | "left";
  /** Which end loses tokens when a row is over `maxLength`: "right" drops the tail (default), "left" the head. */
  truncation?: "right" | "left";
  /** Tokens at the start of a row that truncation never removes (1 keeps [CLS] or BOS). Default 0. */
  keepFirst?: number;
  /** Tokens at the end of a row that truncation never removes (1 keeps the final [SEP] or EOS). Default 0. */
  keepLast?: number;
  /** Rows aligned with the ids, truncated and padded exactly like them. */
  extras?: Record<K, AlignedRows>;
}

/** A padded batch as plain arrays: every row has the same length. */
export interface PaddedBatch<K extends string = never> {
  /** [B, T] */
  inputIds: number[][];
  /** [B, T]: 1 for real tokens, 0 for padding. */
  attentionMask: number[][];
  /** [B, T] each, same keys as the `extras` option. */
  extras: Record<K, number[][]>;
}

/**
 * Truncates rows longer than `maxLength` (keeping `keepFirst`/`keepLast` protected tokens at the ends) and pads
 * all rows to one length on `side`; `extras` are cut and padded identically, with their own pad values.
 */
export function padBatch<K extends string = never>(
  rows: readonly (readonly number[])[],
  opts: PadBatchOptions<K>,
): PaddedBatch<K> {
  const { padId, maxLength, padToMaxLength = false, side = "right", truncation = "right" } = opts;
  const keepFirst = opts.keepFirst ?? 0;
  const keepLast = opts.keepLast ?? 0;
  if (rows.length === 0) throw new Error("padBatch: rows is empty; pass at least one row of token ids");
  if (!Number.isInteger(padId)) throw new Error(`padBatch: padId must be an integer, got ${padId}`);
  if (maxLength !== undefined && (!Number.isInteger(maxLength) || maxLength < 1)) {
    throw new Error(`padBatch: maxLength must be a positive integer, got ${maxLength}`);
  }
  if (padToMaxLength && maxLength === undefined) throw new Error("padBatch: padToMaxLength needs maxLength to be set");
  if (side !== "right" && side !== "left") throw new Error(`padBatch: side must be "right" or "left", got ${side}`);
  if (truncation !== "right" && truncation !== "left") {
    throw new Error(`padBatch: truncation must be "right" or "left", got ${truncation}`);
  }
  if (!(Number.isInteger(keepFirst) && keepFirst >= 0 && Number.isInteger(keepLast) && keepLast >= 0)) {
    throw new Error(`padBatch: keepFirst and keepLast must be non-negative integers, got ${keepFirst} and ${keepLast}`);
  }
  if (maxLength !== undefined && keepFirst + keepLast > maxLength) {
    throw new Error(`padBatch: keepFirst + keepLast (${keepFirst} + ${keepLast}) must not exceed maxLength ${maxLength}`);
  }
  const extraEntries = Object.entries(opts.extras ?? {}) as [K, AlignedRows][];
  for (const [name, extra] of extraEntries) {
    if (extra.rows.length !== rows.length) {
      throw new Error(`padBatch: extras.${name} has ${extra.rows.length} rows but there are ${rows.length} rows of ids`);
    }
    extra.rows.forEach((row, r) => {
      if (row.length !== rows[r].length) {
        throw new Error(`padBatch: extras.${name} row ${r} has length ${row.length} but ids row ${r} has ${rows[r].length}`);
      }
    });
  }

  const kept = rows.map((row) => keptPositions(row.length, maxLength, truncation, keepFirst, keepLast));
  const longest = Math.max(...kept.map((k) => k.length));
  const length = padToMaxLength ? (maxLength as number) : longest;
  const pad = (row: readonly number[], r: number, value: number): number[] => {
    const body = kept[r].map((j) => row[j]);
    const filler = new Array<number>(length - body.length).fill(value);
    return side === "right" ? body.concat(filler) : filler.concat(body);
  };
  const extras = {} as Record<K, number[][]>;
  for (const [name, extra] of extraEntries) extras[name] = extra.rows.map((row, r) => pad(row, r, extra.padValue));
  return {
    inputIds: rows.map((row, r) => pad(row, r, padId)),
    attentionMask: rows.map((_, r) => pad(new Array<number>(rows[r].length).fill(1), r, 0)),
    extras,
  };
}

/** Indices of a row of length n that survive truncation to maxLength. */
function keptPositions(
  n: number,
  maxLength: number | undefined,
  truncation: "right" | "left",
  keepFirst: number,
  keepLast: number,
): number[] {
  const all = Array.from({ length: n }, (_, j) => j);
  if (maxLength === undefined || n <= maxLength) return all;
  const head = all.slice(0, keepFirst);
  const tail = all.slice(n - keepLast);
  const middle = all.slice(keepFirst, n - keepLast);
  const budget = maxLength - keepFirst - keepLast;
  const kept = truncation === "right" ? middle.slice(0, budget) : middle.slice(middle.length - budget);
  return head.concat(kept, tail);
}

/** Tensors of a padded batch; the caller owns (and disposes) them. */
export interface BatchTensors<K extends string = never> {
  /** [B, T] int32 */
  inputIds: tf.Tensor2D;
  /** [B, T] float32, 1 for real tokens and 0 for padding, ready to turn into an additive attention mask. */
  attentionMask: tf.Tensor2D;
  /** [B, T] int32 each (labels, segment ids, ...). */
  extras: Record<K, tf.Tensor2D>;
}

/** Makes tensors from a {@link PaddedBatch}: int32 for ids and extras, float32 for the attention mask. */
export function toTensors<K extends string = never>(batch: PaddedBatch<K>): BatchTensors<K> {
  const extras = {} as Record<K, tf.Tensor2D>;
  for (const [name, rows] of Object.entries(batch.extras) as [K, number[][]][]) extras[name] = tf.tensor2d(rows, undefined, "int32");
  return {
    inputIds: tf.tensor2d(batch.inputIds, undefined, "int32"),
    attentionMask: tf.tensor2d(batch.attentionMask, undefined, "float32"),
    extras,
  };
}

/** Options for {@link batchIndices} and {@link batches}. */
export interface BatchingOptions {
  /** Visit items in a seeded random order (default true). */
  shuffle?: boolean;
  /** Leave out a final batch smaller than batchSize (default false). */
  dropLast?: boolean;
}

/**
 * Splits indices 0..count-1 into chunks of `batchSize`, in a random order drawn from `rng` when `shuffle`.
 * The order is drawn immediately, so `rng` advances by the same amount however the result is used.
 */
export function batchIndices(count: number, batchSize: number, rng: Random, opts: BatchingOptions = {}): number[][] {
  const { shuffle = true, dropLast = false } = opts;
  if (!Number.isInteger(count) || count < 0) throw new Error(`batchIndices: count must be a non-negative integer, got ${count}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`batchIndices: batchSize must be a positive integer, got ${batchSize}`);
  }
  const order = Array.from({ length: count }, (_, i) => i);
  if (shuffle) rng.shuffle(order);
  const chunks: number[][] = [];
  for (let start = 0; start < count; start += batchSize) {
    const chunk = order.slice(start, start + batchSize);
    if (dropLast && chunk.length < batchSize) break;
    chunks.push(chunk);
  }
  return chunks;
}

/**
 * Yields `items` in batches of `batchSize` (see {@link batchIndices} for order and `dropLast`). The order is
 * drawn when `batches` is called, not when iteration starts. Items are not copied.
 */
export function batches<T>(
  items: readonly T[],
  batchSize: number,
  rng: Random,
  opts: BatchingOptions = {},
): IterableIterator<T[]> {
  const chunks = batchIndices(items.length, batchSize, rng, opts);
  return (function* () {
    for (const chunk of chunks) yield chunk.map((i) => items[i]);
  })();
}
