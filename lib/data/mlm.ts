/**
 * BERT's masked-language-model corruption: pick ~15% of the ordinary tokens, hide most of them behind [MASK],
 * swap some for random tokens and leave some unchanged, and keep the originals as labels.
 */
import { Random } from "../random";

import { IGNORE_INDEX } from "../train/losses";
export { IGNORE_INDEX };

/** Which token ids are special: a set, a list, or a predicate. */
export type SpecialIdSet = ReadonlySet<number> | readonly number[] | ((id: number) => boolean);

/** Options for {@link maskTokensForMlm}. */
export interface MlmMaskingOptions {
  /** Id of the [MASK] token. It is never selected itself, nor drawn as a random replacement. */
  maskId: number;
  /** Vocabulary size; every input id and every random replacement lies in [0, vocabSize). */
  vocabSize: number;
  /** Ids never selected for prediction nor drawn as replacements ([CLS], [SEP], [PAD], ...). */
  specialIds: SpecialIdSet;
  /** Source of randomness; the same state gives the same corruption. */
  rng: Random;
  /** Chance that each ordinary token is selected for prediction (BERT: 0.15). */
  probability?: number;
  /** Share of selected tokens replaced by [MASK] (BERT: 0.8). */
  maskFraction?: number;
  /** Share of selected tokens replaced by a random ordinary token (BERT: 0.1); the rest stay unchanged. */
  randomFraction?: number;
  /**
   * Optional 0/1 mask aligned with the ids; positions with 0 are never selected. Needed when the pad id is
   * also a real token (e.g. pad = eos), since then `specialIds` cannot tell padding apart.
   */
  attentionMask?: readonly (readonly number[])[] | readonly number[];
}

/** Corrupted ids and their labels: the original id at selected positions, {@link IGNORE_INDEX} elsewhere. */
export interface MlmMasked<Row> {
  inputIds: Row;
  labels: Row;
}

/** Turns any {@link SpecialIdSet} form into a predicate. */
export function specialIdPredicate(specialIds: SpecialIdSet): (id: number) => boolean {
  if (typeof specialIds === "function") return specialIds;
  const set = specialIds instanceof Set ? specialIds : new Set(specialIds as readonly number[]);
  return (id) => set.has(id);
}

/**
 * Applies BERT's MLM corruption to one row or a batch of rows of token ids: each non-special position is
 * selected with `probability`; a selected token becomes [MASK] with `maskFraction`, a uniformly random
 * non-special id with `randomFraction`, and otherwise stays as it is. Inputs are not modified.
 */
export function maskTokensForMlm(ids: readonly number[], opts: MlmMaskingOptions): MlmMasked<number[]>;
export function maskTokensForMlm(ids: readonly (readonly number[])[], opts: MlmMaskingOptions): MlmMasked<number[][]>;
export function maskTokensForMlm(
  ids: readonly number[] | readonly (readonly number[])[],
  opts: MlmMaskingOptions,
): MlmMasked<number[]> | MlmMasked<number[][]> {
  if (!Array.isArray(ids)) throw new Error("maskTokensForMlm: ids must be an array of token ids or of rows of them");
  const single = ids.length > 0 && !Array.isArray(ids[0]);
  const rows = (single ? [ids] : ids) as readonly (readonly number[])[];
  const attention = opts.attentionMask === undefined
    ? undefined
    : ((single ? [opts.attentionMask] : opts.attentionMask) as readonly (readonly number[])[]);
  const out = maskRows(rows, attention, opts);
  return single ? { inputIds: out.inputIds[0], labels: out.labels[0] } : out;
}

function maskRows(
  rows: readonly (readonly number[])[],
  attention: readonly (readonly number[])[] | undefined,
  opts: MlmMaskingOptions,
): MlmMasked<number[][]> {
  const { maskId, vocabSize, rng } = opts;
  const probability = opts.probability ?? 0.15;
  const maskFraction = opts.maskFraction ?? 0.8;
  const randomFraction = opts.randomFraction ?? 0.1;
  if (!Number.isInteger(vocabSize) || vocabSize < 1) {
    throw new Error(`maskTokensForMlm: vocabSize must be a positive integer, got ${vocabSize}`);
  }
  if (!Number.isInteger(maskId) || maskId < 0 || maskId >= vocabSize) {
    throw new Error(`maskTokensForMlm: maskId must be an integer in [0, vocabSize=${vocabSize}), got ${maskId}`);
  }
  for (const [name, value] of [["probability", probability], ["maskFraction", maskFraction], ["randomFraction", randomFraction]] as const) {
    if (!(value >= 0 && value <= 1)) throw new Error(`maskTokensForMlm: ${name} must lie in [0, 1], got ${value}`);
  }
  if (maskFraction + randomFraction > 1 + 1e-12) {
    throw new Error(`maskTokensForMlm: maskFraction + randomFraction must be at most 1, got ${maskFraction} + ${randomFraction}`);
  }
  if (attention !== undefined && attention.length !== rows.length) {
    throw new Error(`maskTokensForMlm: attentionMask has ${attention.length} rows but ids has ${rows.length}; pass one per row`);
  }
  const isSpecial = specialIdPredicate(opts.specialIds);
  const excluded = (id: number): boolean => id === maskId || isSpecial(id);
  const drawReplacement = replacementSampler(vocabSize, excluded, rng);

  const inputIds: number[][] = [];
  const labels: number[][] = [];
  rows.forEach((row, r) => {
    const rowMask = attention?.[r];
    if (rowMask !== undefined && rowMask.length !== row.length) {
      throw new Error(`maskTokensForMlm: attentionMask row ${r} has length ${rowMask.length} but ids row ${r} has ${row.length}`);
    }
    const corrupted = row.slice();
    const rowLabels = new Array<number>(row.length).fill(IGNORE_INDEX);
    row.forEach((id, j) => {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
        throw new Error(`maskTokensForMlm: ids[${r}][${j}] = ${id} is not a token id in [0, vocabSize=${vocabSize})`);
      }
      if (excluded(id) || rowMask?.[j] === 0) return;
      if (rng.next() >= probability) return;
      rowLabels[j] = id;
      const u = rng.next();
      if (u < maskFraction) corrupted[j] = maskId;
      else if (u < maskFraction + randomFraction) corrupted[j] = drawReplacement();
    });
    inputIds.push(corrupted);
    labels.push(rowLabels);
  });
  return { inputIds, labels };
}

/** Uniform sampler over ids in [0, vocabSize) that are not excluded. */
function replacementSampler(vocabSize: number, excluded: (id: number) => boolean, rng: Random): () => number {
  let allowed: number[] | undefined;
  return () => {
    // Rejection sampling is exact and cheap when specials are few; fall back to an explicit list otherwise.
    for (let attempt = 0; attempt < 64; attempt++) {
      const id = rng.int(vocabSize);
      if (!excluded(id)) return id;
    }
    allowed ??= Array.from({ length: vocabSize }, (_, i) => i).filter((i) => !excluded(i));
    if (allowed.length === 0) {
      throw new Error("maskTokensForMlm: every id in the vocabulary is special; cannot draw a random replacement token");
    }
    return rng.choice(allowed);
  };
}
