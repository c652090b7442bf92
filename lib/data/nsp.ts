/**
 * Next-sentence-prediction pairs in the manner of BERT's create_pretraining_data: segment A is a run of
 * consecutive sentences, segment B either continues it or comes from another document.
 */
import { Random } from "../random";

/** One NSP example: `[CLS] A [SEP] B [SEP]`, segment 0 up to the first [SEP] and 1 after it. */
export interface NspPair {
  tokens: number[];
  segmentIds: number[];
  /** True when B is the text that really follows A in the same document. */
  isNext: boolean;
}

/** Options for {@link makeNspPairs}. */
export interface NspOptions {
  /** Source of randomness; the same state gives the same pairs. */
  rng: Random;
  /** Length budget of a whole pair, including [CLS] and both [SEP]s (at least 5). */
  maxTokens: number;
  /** Id of [CLS]. */
  cls: number;
  /** Id of [SEP]. */
  sep: number;
  /** Chance that a pair aims at a shorter random length, so the model also sees short inputs (BERT: 0.1). */
  shortSeqProbability?: number;
  /** Chance that B is the true continuation (BERT: 0.5). */
  nextProbability?: number;
}

/**
 * Builds NSP pairs from tokenised documents (document → sentences → token ids). Each document is walked once:
 * sentences are gathered until the budget is reached, split at a random sentence boundary into A and B, and
 * with probability 1 − `nextProbability` B is replaced by sentences from a random other document (the unused
 * sentences are then reused for the next pair). When over budget the longer side is trimmed, A from its start
 * and B from its end, so the A|B seam the task is about stays intact. A document's lone last sentence starts
 * no pair (one-sentence documents only serve as random Bs). Pairs come out in document order; shuffle them
 * when batching.
 */
export function makeNspPairs(documents: readonly (readonly (readonly number[])[])[], opts: NspOptions): NspPair[] {
  const { rng, maxTokens, cls, sep } = opts;
  const shortSeqProbability = opts.shortSeqProbability ?? 0.1;
  const nextProbability = opts.nextProbability ?? 0.5;
  if (!Number.isInteger(maxTokens) || maxTokens < 5) {
    throw new Error(`makeNspPairs: maxTokens must be an integer of at least 5 ([CLS] a [SEP] b [SEP]), got ${maxTokens}`);
  }
  for (const [name, value] of [["shortSeqProbability", shortSeqProbability], ["nextProbability", nextProbability]] as const) {
    if (!(value >= 0 && value <= 1)) throw new Error(`makeNspPairs: ${name} must lie in [0, 1], got ${value}`);
  }
  // Empty sentences carry nothing and would make empty segments.
  const docs = documents.map((doc) => doc.filter((sentence) => sentence.length > 0));
  const nonEmpty = docs.flatMap((doc, d) => (doc.length > 0 ? [d] : []));
  if (nonEmpty.length < 2) {
    throw new Error(
      `makeNspPairs: documents must contain at least 2 non-empty documents (random B comes from another document), got ${nonEmpty.length}`,
    );
  }
  const maxBody = maxTokens - 3;
  const drawTarget = (): number => (rng.next() < shortSeqProbability ? 2 + rng.int(maxBody - 1) : maxBody);

  const pairs: NspPair[] = [];
  nonEmpty.forEach((d, position) => {
    const sentences = docs[d];
    let chunk: (readonly number[])[] = [];
    let chunkLength = 0;
    let target = drawTarget();
    let wantNext = rng.next() < nextProbability;
    for (let i = 0; i < sentences.length; i++) {
      chunk.push(sentences[i]);
      chunkLength += sentences[i].length;
      const atEnd = i === sentences.length - 1;
      // A true continuation needs two sentences, so keep gathering past the target until there are two.
      const full = chunkLength >= target && (!wantNext || chunk.length >= 2);
      if (!full && !atEnd) continue;
      // A lone final sentence has no true next. BERT then forces a random B, which skews the label ratio;
      // dropping it whatever the coin said keeps isNext independent of the coin and the ratio at nextProbability.
      if (chunk.length >= 2 || !atEnd) {
        const aEnd = chunk.length >= 2 ? 1 + rng.int(chunk.length - 1) : 1;
        const a = chunk.slice(0, aEnd).flat();
        let b: number[];
        if (wantNext) {
          b = chunk.slice(aEnd).flat();
        } else {
          b = randomSegment(docs, nonEmpty, position, Math.max(1, target - a.length), rng);
          // The sentences after A were not used; start the next pair with them.
          i -= chunk.length - aEnd;
        }
        pairs.push(assemblePair(a, b, maxBody, cls, sep, wantNext));
      }
      chunk = [];
      chunkLength = 0;
      target = drawTarget();
      wantNext = rng.next() < nextProbability;
    }
  });
  return pairs;
}

/** Consecutive sentences from a random start in a random non-empty document other than `nonEmpty[exclude]`. */
function randomSegment(
  docs: readonly (readonly (readonly number[])[])[],
  nonEmpty: readonly number[],
  exclude: number,
  targetLength: number,
  rng: Random,
): number[] {
  let pick = rng.int(nonEmpty.length - 1);
  if (pick >= exclude) pick++;
  const doc = docs[nonEmpty[pick]];
  const out: number[] = [];
  for (let j = rng.int(doc.length); j < doc.length && out.length < targetLength; j++) out.push(...doc[j]);
  return out;
}

function assemblePair(a: number[], b: number[], maxBody: number, cls: number, sep: number, isNext: boolean): NspPair {
  let aStart = 0;
  let bEnd = b.length;
  while (a.length - aStart + bEnd > maxBody) {
    if (a.length - aStart > bEnd) aStart++;
    else bEnd--;
  }
  const aPart = a.slice(aStart);
  const bPart = b.slice(0, bEnd);
  const tokens = [cls, ...aPart, sep, ...bPart, sep];
  const segmentIds = tokens.map((_, k) => (k < aPart.length + 2 ? 0 : 1));
  return { tokens, segmentIds, isNext };
}
