import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HFTokenizer } from "../lib/tokenizer/hf_tokenizer";
import { hfRegex } from "../lib/tokenizer/hf_components";
import { ByteLevelBPETokenizer } from "../lib/tokenizer/bpe";
import { BYTE_TO_UNICODE } from "../lib/tokenizer/bytes";
import { mobyDick } from "../lib/datasets/moby_dick";

const SAMPLES = [
  "Call me Ishmael. Some years ago—never mind how long precisely—",
  "Hello world's 12345 HE'S 'Sam\n\n  indented\ttab",
  "café, naïve, 鲸鱼在海里游。 The whale 🐋 and the ship ⛵ — 👩🏽‍🚀!",
  "",
  " leading and trailing  ",
];

// The pattern of Llama 3's tokenizer.json, with its Rust-only scoped flag (?i:...).
const LLAMA3_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** A Llama 3-style file: 256 byte tokens, a few merges, one word only in the vocabulary, BOS/EOS added tokens. */
function llama3Json(ignoreMerges = true): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  BYTE_TO_UNICODE.forEach((ch, b) => (vocab[ch] = b));
  const merges = ["H e", "l l", "He ll", "Hell o", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld", "S a", "3 4"];
  for (const m of merges) vocab[m.replace(" ", "")] = Object.keys(vocab).length;
  vocab["Ġwhale"] = Object.keys(vocab).length; // reachable only through ignore_merges
  const n = Object.keys(vocab).length;
  return {
    version: "1.0",
    added_tokens: [
      { id: n, content: "<|begin_of_text|>", special: true },
      { id: n + 1, content: "<|end_of_text|>", special: true },
    ],
    normalizer: null,
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: LLAMA3_PATTERN }, behavior: "Isolated", invert: false },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: "Sequence",
      processors: [
        { type: "ByteLevel", trim_offsets: false },
        {
          type: "TemplateProcessing",
          single: [{ SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
          special_tokens: { "<|begin_of_text|>": { id: "<|begin_of_text|>", ids: [n], tokens: ["<|begin_of_text|>"] } },
        },
      ],
    },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: "BPE", dropout: null, unk_token: null, fuse_unk: false, byte_fallback: false, ignore_merges: ignoreMerges, vocab, merges },
  };
}

/** A Llama 2-style (SentencePiece BPE) file: <unk> <s> </s>, 256 <0xNN> byte tokens, then pieces with "▁". */
function llama2Json(legacyMetaspace = false): Record<string, unknown> {
  const vocab: Record<string, number> = { "<unk>": 0, "<s>": 1, "</s>": 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`] = 3 + b;
  for (const piece of ["▁", "h", "e", "l", "o", "w", "r", "d"]) vocab[piece] = Object.keys(vocab).length;
  const merges = [["▁", "h"], ["l", "l"], ["▁h", "e"], ["▁he", "ll"], ["▁hell", "o"], ["▁", "w"], ["o", "r"], ["▁w", "or"], ["l", "d"], ["▁wor", "ld"], ["l", "o"]];
  for (const [l, r] of merges) vocab[l + r] = Object.keys(vocab).length;
  const decoderSteps = [
    { type: "Replace", pattern: { String: "▁" }, content: " " },
    { type: "ByteFallback" },
    { type: "Fuse" },
    { type: "Strip", content: " ", start: 1, stop: 0 },
  ];
  return {
    version: "1.0",
    added_tokens: [
      { id: 0, content: "<unk>", special: true },
      { id: 1, content: "<s>", special: true },
      { id: 2, content: "</s>", special: true },
    ],
    normalizer: legacyMetaspace ? null : { type: "Sequence", normalizers: [{ type: "Prepend", prepend: "▁" }, { type: "Replace", pattern: { String: " " }, content: "▁" }] },
    pre_tokenizer: legacyMetaspace ? { type: "Metaspace", replacement: "▁", add_prefix_space: true } : null,
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } },
    },
    decoder: legacyMetaspace ? { type: "Sequence", decoders: [{ type: "ByteFallback" }, { type: "Metaspace", replacement: "▁", add_prefix_space: true }, { type: "Fuse" }] } : { type: "Sequence", decoders: decoderSteps },
    // Newer files write merges as pairs; older ones as "left right" strings (both are read).
    model: { type: "BPE", dropout: null, unk_token: "<unk>", fuse_unk: true, byte_fallback: true, vocab, merges: legacyMetaspace ? merges.map((m) => m.join(" ")) : merges },
  };
}

describe("HFTokenizer: byte-level BPE (GPT-2 / Llama 3)", () => {
  it("a tokenizer trained here, written as tokenizer.json and loaded back, encodes and decodes identically", () => {
    const trained = ByteLevelBPETokenizer.train(mobyDick().slice(0, 6).map((c) => c.text), { vocabSize: 700 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hf-tok-"));
    HFTokenizer.fromByteLevelBPE(trained).save(path.join(dir, "tokenizer.json"));
    const loaded = HFTokenizer.load(dir); // a directory holding tokenizer.json
    assert.equal(loaded.vocabSize, trained.vocabSize);
    for (const text of [...SAMPLES, mobyDick()[40].text.slice(0, 3000)]) {
      const ids = trained.encode(text);
      assert.deepEqual(loaded.encode(text), ids, text.slice(0, 40));
      assert.equal(loaded.decode(ids), text);
      assert.deepEqual(loaded.encode(text, { addSpecialTokens: true }), trained.encode(text, { addSpecialTokens: true }));
    }
    const withMask = "the [MASK] whale";
    assert.deepEqual(loaded.encode(withMask, { allowSpecial: true }), trained.encode(withMask, { allowSpecial: true }));
    assert.deepEqual(loaded.encode(withMask), trained.encode(withMask), "special strings are plain text by default");
    assert.ok(loaded.encode(" the whale").length < Buffer.byteLength(" the whale"), "merges are applied");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("follows Llama 3's pipeline: regex split with (?i:...), digits in threes, ignore_merges, BOS", () => {
    const tok = HFTokenizer.fromJSON(llama3Json());
    assert.deepEqual(tok.tokens("Hello world"), ["Hello", "Ġworld"]);
    assert.deepEqual(tok.tokens(" whale"), ["Ġwhale"], "a word in the vocabulary is one token (ignore_merges)");
    assert.deepEqual(HFTokenizer.fromJSON(llama3Json(false)).tokens(" whale"), ["Ġw", "h", "a", "l", "e"]);
    // (?i:'s) splits "'Sam" into "'S" + "am", so the merge S+a cannot apply; "Sam" alone merges.
    assert.deepEqual(tok.tokens("'Sam"), ["'", "S", "a", "m"]);
    assert.deepEqual(tok.tokens("Sam"), ["Sa", "m"]);
    // \p{N}{1,3}: "12345" is "123" + "45", so the merge 3+4 never applies.
    assert.deepEqual(tok.tokens("12345"), ["1", "2", "3", "4", "5"]);
    assert.deepEqual(tok.tokens("34"), ["34"]);
    const bos = tok.tokenToId("<|begin_of_text|>")!, eos = tok.tokenToId("<|end_of_text|>")!;
    assert.deepEqual(tok.encode("Hello", { addSpecialTokens: true }), [bos, tok.tokenToId("Hello")]);
    assert.deepEqual(tok.encode("Hello<|end_of_text|>", { allowSpecial: true }), [tok.tokenToId("Hello"), eos]);
    assert.equal(tok.encode("Hello<|end_of_text|>").length, 1 + "<|end_of_text|>".length, "not special without allowSpecial");
    for (const text of SAMPLES) assert.equal(tok.decode(tok.encode(text)), text);
    assert.equal(tok.decode([bos, ...tok.encode("Hi")], { skipSpecialTokens: true }), "Hi");
    assert.equal(tok.decode([bos, ...tok.encode("Hi")]), "<|begin_of_text|>Hi");
  });

  it("rewrites Rust's scoped case-insensitive groups for JavaScript", () => {
    assert.deepEqual("'S'll'VE".match(hfRegex("(?i:'s|'ll|'ve)")), ["'S", "'ll", "'VE"]);
    assert.throws(() => hfRegex("(?<=a"), /not a regular expression JavaScript can run/);
  });
});

describe("HFTokenizer: SentencePiece-style BPE with byte fallback (Llama 2)", () => {
  for (const legacy of [false, true]) {
    it(`segments as derived by hand and round-trips (${legacy ? "Metaspace pre-tokenizer" : "Prepend/Replace normalizer"})`, () => {
      const tok = HFTokenizer.fromJSON(llama2Json(legacy));
      assert.deepEqual(tok.tokens("hello world"), ["▁hello", "▁world"]);
      assert.deepEqual(tok.tokens("hello  world"), ["▁hello", "▁", "▁world"]);
      assert.deepEqual(tok.tokens("hé"), ["▁h", "<0xC3>", "<0xA9>"], "é is not a piece: its UTF-8 bytes");
      assert.deepEqual(tok.tokens("lo"), ["▁", "lo"]);
      assert.deepEqual(tok.encode("hello", { addSpecialTokens: true }), [1, tok.tokenToId("▁hello")]);
      assert.deepEqual(tok.encode("<s>hello", { allowSpecial: true }), [1, tok.tokenToId("▁hello")]);
      for (const text of ["hello world", "hé", "Call me Ishmael. 鲸鱼 🐋", "hello  world", "x"]) {
        assert.equal(tok.decode(tok.encode(text)), text);
      }
      assert.equal(tok.decode(tok.encode("hello", { addSpecialTokens: true }), { skipSpecialTokens: true }), "hello");
      assert.equal(tok.decode([3 + 0xc3]), "\uFFFD", "a lone lead byte decodes to U+FFFD");
    });
  }

  it("without byte fallback, unknown characters become one fused <unk>", () => {
    const json = llama2Json();
    (json.model as Record<string, unknown>).byte_fallback = false;
    const tok = HFTokenizer.fromJSON(json);
    assert.deepEqual(tok.tokens("hxyz"), ["▁h", "<unk>"]);
  });
});

describe("HFTokenizer: bad files", () => {
  it("names what is wrong", () => {
    const withModel = (model: Record<string, unknown>) => ({ ...llama2Json(), model: { ...(llama2Json().model as object), ...model } });
    assert.throws(() => HFTokenizer.fromJSON({ ...llama2Json(), model: { type: "WordPiece", vocab: {} } }), /model type "WordPiece" is not supported/);
    assert.throws(() => HFTokenizer.fromJSON({ ...llama2Json(), normalizer: { type: "BertNormalizer" } }), /normalizer type "BertNormalizer"/);
    assert.throws(() => HFTokenizer.fromJSON({ ...llama2Json(), pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "Whitespace" }] } }), /pre_tokenizer\.pretokenizers\[0\] type "Whitespace"/);
    assert.throws(() => HFTokenizer.fromJSON(withModel({ merges: [["q", "z"]] })), /merges\[0\].*needs "q"/);
    assert.throws(() => HFTokenizer.fromJSON(withModel({ merges: ["a b c"] })), /merges\[0\] must be/);
    assert.throws(() => HFTokenizer.fromJSON(withModel({ unk_token: "<nope>" })), /unk_token "<nope>"/);
    assert.throws(() => HFTokenizer.fromJSON(withModel({ unk_token: null, byte_fallback: false })).encode("q"), /U\+0071/);
    assert.throws(() => HFTokenizer.load("/nonexistent/tokenizer.json"), /does not exist/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hf-bad-"));
    fs.writeFileSync(path.join(dir, "tokenizer.json"), "version https://git-lfs");
    assert.throws(() => HFTokenizer.load(dir), /not valid JSON/);
    fs.rmSync(dir, { recursive: true, force: true });
    assert.throws(() => HFTokenizer.fromJSON(llama2Json()).decode([9999]), /9999 is not a token id/);
  });
});
