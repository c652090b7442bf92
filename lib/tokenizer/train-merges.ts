/**
 * The BPE merge-learning loop on byte-level words. It works on counts of unique pre-tokens (a word seen 5,000
 * times is one entry with weight 5,000), keeps pair counts incrementally, and after each merge revisits only
 * the words that contained the merged pair, so cost scales with the number of changes rather than corpus size.
 */
import { BYTE_TO_UNICODE } from "./bytes";

/** Keys of a (left, right) id pair packed into one number; ids must stay below this. */
export const PAIR_KEY_BASE = 2 ** 26;

/** Options of `learnMerges`. */
export interface LearnMergesOptions {
  /** How many new tokens (beyond the 256 bytes) to add at most. */
  maxNewTokens: number;
  /** Stop once the most frequent pair occurs fewer times than this. */
  minFrequency: number;
  /** Called after each new token with (tokens added, maxNewTokens). */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Learns merges from `wordCounts` (pre-token -> occurrences). Each step merges the most frequent adjacent
 * pair; ties go to the pair whose (left, right) byte-level strings are lexicographically smallest, so the
 * result depends only on the counts. Returns merges as byte-level string pairs in the order learnt. Two merges
 * can spell the same string ("ab"+"c" and "a"+"bc"); the second reuses the token, so it adds no new token.
 */
export function learnMerges(wordCounts: ReadonlyMap<string, number>, options: LearnMergesOptions): Array<[string, string]> {
  const { maxNewTokens, minFrequency, onProgress } = options;
  const tokenStrings: string[] = BYTE_TO_UNICODE.slice();
  const idOfString = new Map<string, number>(tokenStrings.map((s, i) => [s, i]));

  const utf8 = new TextEncoder();
  const words: number[][] = [];
  const weights: number[] = [];
  for (const [word, count] of wordCounts) {
    words.push(Array.from(utf8.encode(word)));
    weights.push(count);
  }

  const pairCounts = new Map<number, number>();
  const wordsWithPair = new Map<number, Set<number>>();
  for (let w = 0; w < words.length; w++) {
    const word = words[w];
    for (let i = 0; i + 1 < word.length; i++) {
      const key = word[i] * PAIR_KEY_BASE + word[i + 1];
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + weights[w]);
      let set = wordsWithPair.get(key);
      if (!set) wordsWithPair.set(key, (set = new Set()));
      set.add(w);
    }
  }

  const heap = new PairHeap(tokenStrings);
  for (const [key, count] of pairCounts) heap.push(count, key);

  const merges: Array<[string, string]> = [];
  let added = 0;
  while (added < maxNewTokens && heap.size > 0) {
    const [count, key] = heap.pop();
    const current = pairCounts.get(key) ?? 0;
    // Heap entries are lazy: counts that went down are re-queued here, counts that went up were pushed anew.
    if (current !== count) {
      if (current > 0 && current < count) heap.push(current, key);
      continue;
    }
    if (current < minFrequency) break;

    const left = Math.floor(key / PAIR_KEY_BASE);
    const right = key % PAIR_KEY_BASE;
    const merged = tokenStrings[left] + tokenStrings[right];
    let id = idOfString.get(merged);
    if (id === undefined) {
      id = tokenStrings.length;
      tokenStrings.push(merged);
      idOfString.set(merged, id);
      added++;
    }
    merges.push([tokenStrings[left], tokenStrings[right]]);

    const delta = new Map<number, number>();
    for (const w of wordsWithPair.get(key) ?? []) {
      const word = words[w];
      const mergedWord = mergePair(word, left, right, id);
      if (mergedWord === word) continue;
      const weight = weights[w];
      for (let i = 0; i + 1 < word.length; i++) {
        const k = word[i] * PAIR_KEY_BASE + word[i + 1];
        delta.set(k, (delta.get(k) ?? 0) - weight);
      }
      for (let i = 0; i + 1 < mergedWord.length; i++) {
        const a = mergedWord[i], b = mergedWord[i + 1];
        const k = a * PAIR_KEY_BASE + b;
        delta.set(k, (delta.get(k) ?? 0) + weight);
        // Only pairs touching the new token can be new to this word.
        if (a === id || b === id) {
          let set = wordsWithPair.get(k);
          if (!set) wordsWithPair.set(k, (set = new Set()));
          set.add(w);
        }
      }
      words[w] = mergedWord;
    }
    for (const [k, d] of delta) {
      if (d === 0) continue;
      const c = (pairCounts.get(k) ?? 0) + d;
      if (c > 0) pairCounts.set(k, c);
      else pairCounts.delete(k);
      if (d > 0) heap.push(c, k);
    }
    pairCounts.delete(key);
    wordsWithPair.delete(key);
    onProgress?.(added, maxNewTokens);
  }
  return merges;
}

/** `word` with each left-to-right, non-overlapping (left, right) replaced by `id`; the same array if none. */
export function mergePair(word: number[], left: number, right: number, id: number): number[] {
  let i = 0;
  while (i + 1 < word.length && !(word[i] === left && word[i + 1] === right)) i++;
  if (i + 1 >= word.length) return word;
  const out = word.slice(0, i);
  while (i < word.length) {
    if (i + 1 < word.length && word[i] === left && word[i + 1] === right) {
      out.push(id);
      i += 2;
    } else {
      out.push(word[i++]);
    }
  }
  return out;
}

/** Max-heap of (count, pair key), ties broken by the pair's token strings (smallest first). */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  constructor(private readonly tokenStrings: readonly string[]) {}

  get size(): number {
    return this.counts.length;
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    this.up(this.counts.length - 1);
  }

  pop(): [number, number] {
    const top: [number, number] = [this.counts[0], this.keys[0]];
    const lastCount = this.counts.pop()!, lastKey = this.keys.pop()!;
    if (this.counts.length > 0) {
      this.counts[0] = lastCount;
      this.keys[0] = lastKey;
      this.down(0);
    }
    return top;
  }

  /** True when entry i should be nearer the top than entry j. */
  private before(i: number, j: number): boolean {
    if (this.counts[i] !== this.counts[j]) return this.counts[i] > this.counts[j];
    const ki = this.keys[i], kj = this.keys[j];
    const li = this.tokenStrings[Math.floor(ki / PAIR_KEY_BASE)], lj = this.tokenStrings[Math.floor(kj / PAIR_KEY_BASE)];
    if (li !== lj) return li < lj;
    return this.tokenStrings[ki % PAIR_KEY_BASE] < this.tokenStrings[kj % PAIR_KEY_BASE];
  }

  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j], this.counts[i]];
    [this.keys[i], this.keys[j]] = [this.keys[j], this.keys[i]];
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.counts.length;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let best = i;
      if (l < n && this.before(l, best)) best = l;
      if (r < n && this.before(r, best)) best = r;
      if (best === i) return;
      this.swap(i, best);
      i = best;
    }
  }
}
