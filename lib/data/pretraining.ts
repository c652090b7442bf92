/**
 * BERT pretraining examples: NSP pairs with MLM corruption on top, and the collation of a list of them into
 * one padded batch.
 */
import { Random } from "../random";
import { IGNORE_INDEX, maskTokensForMlm, specialIdPredicate, SpecialIdSet } from "./mlm";
import { makeNspPairs } from "./nsp";
import { padBatch, PaddedBatch } from "./batch";

/** Ids of BERT's special tokens. */
export interface BertSpecialIds {
  pad: number;
  cls: number;
  sep: number;
  mask: number;
}

/** Options for {@link buildPretrainingExamples}. */
export interface PretrainingOptions {
  /** Source of randomness for pairing and masking. */
  rng: Random;
  /** Length budget of each example, including [CLS] and both [SEP]s. */
  maxTokens: number;
  /** Vocabulary size (random MLM replacements are drawn below it). */
  vocabSize: number;
  /** Ids of [PAD], [CLS], [SEP], [MASK]; these are never masked. */
  special: BertSpecialIds;
  /** Further ids never masked nor drawn as replacements (beyond `special`). */
  extraSpecialIds?: SpecialIdSet;
  /** MLM selection probability (default 0.15). */
  mlmProbability?: number;
  /** Share of selected tokens shown as [MASK] (default 0.8). */
  maskFraction?: number;
  /** Share of selected tokens replaced at random (default 0.1). */
  randomFraction?: number;
  /** Chance of a shorter random target length per pair (default 0.1). */
  shortSeqProbability?: number;
}

/** One example for BERT's two pretraining tasks. */
export interface PretrainingExample {
  /** `[CLS] A [SEP] B [SEP]` after MLM corruption. */
  inputIds: number[];
  /** Original ids at positions to predict, -100 elsewhere. */
  labels: number[];
  /** 0 for `[CLS] A [SEP]`, 1 for `B [SEP]`. */
  segmentIds: number[];
  /** NSP target: whether B truly follows A. */
  isNext: boolean;
}

/**
 * Builds BERT pretraining examples from tokenised documents (document → sentences → token ids): NSP pairs via
 * {@link makeNspPairs}, then MLM corruption via {@link maskTokensForMlm}, in document order.
 */
export function buildPretrainingExamples(
  documents: readonly (readonly (readonly number[])[])[],
  opts: PretrainingOptions,
): PretrainingExample[] {
  const { rng, special } = opts;
  const extra = opts.extraSpecialIds === undefined ? () => false : specialIdPredicate(opts.extraSpecialIds);
  const builtIn = new Set([special.pad, special.cls, special.sep, special.mask]);
  const pairs = makeNspPairs(documents, {
    rng,
    maxTokens: opts.maxTokens,
    cls: special.cls,
    sep: special.sep,
    shortSeqProbability: opts.shortSeqProbability,
  });
  const masked = maskTokensForMlm(
    pairs.map((p) => p.tokens),
    {
      maskId: special.mask,
      vocabSize: opts.vocabSize,
      specialIds: (id) => builtIn.has(id) || extra(id),
      rng,
      probability: opts.mlmProbability,
      maskFraction: opts.maskFraction,
      randomFraction: opts.randomFraction,
    },
  );
  return pairs.map((p, i) => ({
    inputIds: masked.inputIds[i],
    labels: masked.labels[i],
    segmentIds: p.segmentIds,
    isNext: p.isNext,
  }));
}

/** A padded pretraining batch: ids and mask, `labels` (-100 padded) and `segmentIds` (0 padded) as extras. */
export interface PretrainingBatch extends PaddedBatch<"labels" | "segmentIds"> {
  /** [B]: BERT's convention, 0 when B follows A ("IsNext"), 1 when B is a random sentence ("NotNext"). */
  nextSentenceLabels: number[];
}

/**
 * Pads a list of {@link PretrainingExample}s on the right into one batch. No truncation: examples from
 * {@link buildPretrainingExamples} already fit their budget, so the final [SEP] is always present.
 */
export function collatePretrainingBatch(examples: readonly PretrainingExample[], padId: number): PretrainingBatch {
  if (examples.length === 0) throw new Error("collatePretrainingBatch: examples is empty; pass at least one example");
  const batch = padBatch(
    examples.map((e) => e.inputIds),
    {
      padId,
      extras: {
        labels: { rows: examples.map((e) => e.labels), padValue: IGNORE_INDEX },
        segmentIds: { rows: examples.map((e) => e.segmentIds), padValue: 0 },
      },
    },
  );
  return { ...batch, nextSentenceLabels: examples.map((e) => (e.isNext ? 0 : 1)) };
}
