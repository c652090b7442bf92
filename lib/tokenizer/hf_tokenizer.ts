/**
 * Loads a Hugging Face `tokenizer.json` (the file the `tokenizers` library writes and the Hub serves) from a local
 * path, for BPE models: byte-level BPE as in GPT-2 and Llama 3, and SentencePiece-style BPE with byte fallback as
 * in Llama 2. Encoding follows the file's pipeline: added tokens are cut out first, then each stretch between them
 * is normalized, pre-tokenized into words, and each word is split into tokens by applying the merges in rank order;
 * the post-processor adds BOS/EOS on request. Decoding maps ids to token strings and runs the file's decoder.
 */
import { existsSync, readFileSync, statSync } from "fs";
import { join } from "path";
import { writeFileAtomic } from "../io/atomic";
import { ByteLevelBPETokenizer, DecodeOptions, EncodeOptions } from "./bpe";
import { Decoder, Normalizer, PreTokenizer, buildDecoder, buildNormalizer, buildPreTokenizer } from "./hf_components";
import { PAIR_KEY_BASE, mergePair } from "./train-merges";

type Json = Record<string, unknown>;

/** One entry of `added_tokens`: a string matched whole in the input, before any other step. */
export interface AddedToken {
  id: number;
  content: string;
  /** Special tokens (BOS, EOS, …) are skipped by `decode({skipSpecialTokens})` and only matched with `allowSpecial`. */
  special: boolean;
}

const MAX_CACHE_ENTRIES = 100_000;
const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const utf8 = new TextEncoder();

/** A tokenizer read from a Hugging Face `tokenizer.json` (BPE models only); see the module documentation. */
export class HFTokenizer {
  private readonly vocab = new Map<string, number>();
  private readonly tokenOf: string[] = [];
  private readonly mergeRank = new Map<number, number>();
  private readonly mergeResult: number[] = [];
  /** rank → [left id, right id] */
  private readonly mergePairs: [number, number][] = [];
  private readonly added: AddedToken[];
  private readonly addedPattern: RegExp | null;
  private readonly plainAddedPattern: RegExp | null;
  private readonly normalizer: Normalizer;
  private readonly preTokenizer: PreTokenizer;
  private readonly decoder: Decoder;
  private readonly template: { before: number[]; after: number[] };
  private readonly unkId: number | null;
  private readonly byteFallback: boolean;
  private readonly fuseUnk: boolean;
  private readonly ignoreMerges: boolean;
  private readonly cache = new Map<string, number[]>();

  private constructor(private readonly json: Json) {
    const model = json.model as Json | undefined;
    if (!model || typeof model !== "object") throw new Error('tokenizer.json: field "model" is missing');
    if (model.type !== undefined && model.type !== "BPE") {
      throw new Error(`tokenizer.json: model type "${String(model.type)}" is not supported; only "BPE" (GPT-2, Llama 2, Llama 3) is`);
    }
    if (model.continuing_subword_prefix || model.end_of_word_suffix) {
      throw new Error("tokenizer.json: BPE with continuing_subword_prefix or end_of_word_suffix is not supported");
    }
    if (typeof model.dropout === "number" && model.dropout > 0) {
      throw new Error(`tokenizer.json: BPE dropout ${model.dropout} makes encoding random; set it to null for inference`);
    }
    if (!model.vocab || typeof model.vocab !== "object") throw new Error('tokenizer.json: field "model.vocab" must be an object token → id');
    for (const [token, id] of Object.entries(model.vocab as Record<string, unknown>)) {
      if (!Number.isInteger(id) || (id as number) < 0) throw new Error(`tokenizer.json: model.vocab[${JSON.stringify(token)}] must be an id ≥ 0, got ${JSON.stringify(id)}`);
      this.vocab.set(token, id as number);
      this.tokenOf[id as number] = token;
    }
    if (!Array.isArray(model.merges)) throw new Error('tokenizer.json: field "model.merges" must be an array');
    (model.merges as unknown[]).forEach((m, rank) => {
      // Older files write "left right"; newer ones [left, right] (which allows spaces inside tokens).
      const pair = typeof m === "string" ? splitMerge(m) : m;
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string") {
        throw new Error(`tokenizer.json: model.merges[${rank}] must be "left right" or [left, right], got ${JSON.stringify(m)}`);
      }
      const [l, r] = pair as [string, string];
      const left = this.vocab.get(l), right = this.vocab.get(r), merged = this.vocab.get(l + r);
      if (left === undefined || right === undefined || merged === undefined) {
        const missing = left === undefined ? l : right === undefined ? r : l + r;
        throw new Error(`tokenizer.json: model.merges[${rank}] (${JSON.stringify(l)} + ${JSON.stringify(r)}) needs ${JSON.stringify(missing)}, which is not in model.vocab`);
      }
      const key = left * PAIR_KEY_BASE + right;
      if (!this.mergeRank.has(key)) this.mergeRank.set(key, rank); // the first (best) rank wins, as in HF
      this.mergeResult[rank] = merged;
      this.mergePairs[rank] = [left, right];
    });
    const unk = model.unk_token;
    this.unkId = typeof unk === "string" ? this.vocab.get(unk) ?? null : null;
    if (typeof unk === "string" && this.unkId === null) throw new Error(`tokenizer.json: model.unk_token ${JSON.stringify(unk)} is not in model.vocab`);
    this.byteFallback = model.byte_fallback === true;
    this.fuseUnk = model.fuse_unk === true;
    this.ignoreMerges = model.ignore_merges === true;

    this.added = ((json.added_tokens as Json[] | undefined) ?? []).map((t, i) => {
      if (!t || typeof t.content !== "string" || !t.content || !Number.isInteger(t.id)) {
        throw new Error(`tokenizer.json: added_tokens[${i}] must have a non-empty "content" and an integer "id"`);
      }
      this.tokenOf[t.id as number] = t.content;
      return { id: t.id as number, content: t.content, special: t.special === true };
    });
    const alternation = (tokens: AddedToken[]) =>
      tokens.length === 0 ? null : new RegExp([...tokens].sort((a, b) => b.content.length - a.content.length).map((t) => escapeRegex(t.content)).join("|"), "gu");
    this.addedPattern = alternation(this.added);
    this.plainAddedPattern = alternation(this.added.filter((t) => !t.special));
    this.normalizer = buildNormalizer(json.normalizer);
    this.preTokenizer = buildPreTokenizer(json.pre_tokenizer);
    this.decoder = buildDecoder(json.decoder);
    this.template = this.buildTemplate(json.post_processor, "post_processor");
  }

  /** Builds a tokenizer from the parsed content of a `tokenizer.json`; throws naming the first unsupported part. */
  static fromJSON(json: unknown): HFTokenizer {
    if (json === null || typeof json !== "object" || Array.isArray(json)) throw new Error("tokenizer.json: expected a JSON object at the top level");
    return new HFTokenizer(json as Json);
  }

  /** Reads `path`: a `tokenizer.json` file, or a model directory that contains one. */
  static load(path: string): HFTokenizer {
    const file = existsSync(path) && statSync(path).isDirectory() ? join(path, "tokenizer.json") : path;
    if (!existsSync(file)) throw new Error(`HFTokenizer.load: ${file} does not exist; pass a tokenizer.json file or the directory holding it`);
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, "utf8"));
    } catch (e) {
      throw new Error(`HFTokenizer.load: ${file} is not valid JSON (${(e as Error).message})`);
    }
    try {
      return HFTokenizer.fromJSON(json);
    } catch (e) {
      throw new Error(`HFTokenizer.load: ${file}: ${(e as Error).message}`);
    }
  }

  /**
   * The `tokenizer.json` equivalent of a tokenizer trained with {@link ByteLevelBPETokenizer}: same ids, same
   * pre-tokenization (GPT-2's pattern), same merges, with cls/sep added by the post-processor. Hugging Face's
   * `tokenizers` and `transformers` load the written file.
   */
  static fromByteLevelBPE(tokenizer: ByteLevelBPETokenizer): HFTokenizer {
    const vocab: Record<string, number> = {};
    for (let id = 0; id < tokenizer.vocabSize; id++) vocab[tokenizer.idToToken(id)] = id;
    const specials = Object.entries(tokenizer.specialIds).map(([role, id]) => ({ role, id: id!, content: tokenizer.idToToken(id!) }));
    const { cls, sep } = tokenizer.specialIds;
    const piece = (id: number | undefined) => (id === undefined ? [] : [{ SpecialToken: { id: tokenizer.idToToken(id), type_id: 0 } }]);
    const special_tokens: Record<string, unknown> = {};
    for (const id of [cls, sep]) if (id !== undefined) special_tokens[tokenizer.idToToken(id)] = { id: tokenizer.idToToken(id), ids: [id], tokens: [tokenizer.idToToken(id)] };
    return HFTokenizer.fromJSON({
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: specials.map((s) => ({ id: s.id, content: s.content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
      normalizer: null,
      pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: {
        type: "TemplateProcessing",
        single: [...piece(cls), { Sequence: { id: "A", type_id: 0 } }, ...piece(sep)],
        pair: [...piece(cls), { Sequence: { id: "A", type_id: 0 } }, ...piece(sep), { Sequence: { id: "B", type_id: 1 } }, ...piece(sep)],
        special_tokens,
      },
      decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
      model: {
        type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
        fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab,
        merges: tokenizer.mergeList.map(([l, r]) => [l, r]),
      },
    });
  }

  /** Number of ids: one more than the largest id in the vocabulary or the added tokens. */
  get vocabSize(): number {
    return this.tokenOf.length;
  }

  /** The added tokens (BOS, EOS, chat markers, …) with their ids. */
  get addedTokens(): readonly AddedToken[] {
    return this.added;
  }

  /** Id of a token string (a vocabulary entry such as "▁the" or "Ġthe", or an added token); undefined if none. */
  tokenToId(token: string): number | undefined {
    return this.added.find((t) => t.content === token)?.id ?? this.vocab.get(token);
  }

  /** The token string of `id`; throws for an id that names no token. */
  idToToken(id: number): string {
    const t = Number.isInteger(id) ? this.tokenOf[id] : undefined;
    if (t === undefined) throw new Error(`HFTokenizer: ${id} is not a token id of this tokenizer (vocabSize ${this.vocabSize})`);
    return t;
  }

  /** True for the ids of added tokens marked special. */
  isSpecial(id: number): boolean {
    return this.added.some((t) => t.id === id && t.special);
  }

  /**
   * Token ids of `text`. `addSpecialTokens` applies the file's post-processor (e.g. Llama's BOS); special added
   * tokens written in the text (e.g. "<s>") are plain text unless `allowSpecial`, so user text cannot forge them.
   */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    if (typeof text !== "string") throw new Error(`HFTokenizer.encode: text must be a string, got ${typeof text}`);
    const ids: number[] = opts.addSpecialTokens ? [...this.template.before] : [];
    const pattern = opts.allowSpecial ? this.addedPattern : this.plainAddedPattern;
    let start = 0;
    if (pattern) {
      for (const m of text.matchAll(pattern)) {
        this.encodeStretch(text.slice(start, m.index), start === 0, ids);
        ids.push(this.added.find((t) => t.content === m[0])!.id);
        start = m.index! + m[0].length;
      }
    }
    this.encodeStretch(text.slice(start), start === 0, ids);
    if (opts.addSpecialTokens) ids.push(...this.template.after);
    return ids;
  }

  /** Token strings of `text` as the vocabulary spells them ("Ġwhale", "▁whale", "<0xE2>"). */
  tokens(text: string, opts: EncodeOptions = {}): string[] {
    return this.encode(text, opts).map((id) => this.tokenOf[id]);
  }

  /** Text of `ids`, through the file's decoder. */
  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    const tokens = ids.filter((id) => !(opts.skipSpecialTokens && this.isSpecial(id))).map((id) => this.idToToken(id));
    return this.decoder(tokens).join("");
  }

  /** The `tokenizer.json` content this tokenizer was built from. */
  toJSON(): Record<string, unknown> {
    return this.json;
  }

  /** Writes `tokenizer.json` content to `path` atomically ({@link writeFileAtomic}). */
  save(path: string): void {
    writeFileAtomic(path, JSON.stringify(this.json, null, 2) + "\n");
  }


  private encodeStretch(text: string, atStart: boolean, out: number[]): void {
    if (text.length === 0) return;
    for (const word of this.preTokenizer([this.normalizer(text)], atStart)) {
      let ids = this.cache.get(word);
      if (!ids) {
        ids = this.encodeWord(word);
        if (this.cache.size >= MAX_CACHE_ENTRIES) this.cache.clear();
        this.cache.set(word, ids);
      }
      out.push(...ids);
    }
  }

  /** BPE on one word: characters (or their bytes, or unk) first, then the lowest-ranked merge until none applies. */
  private encodeWord(word: string): number[] {
    const whole = this.vocab.get(word);
    if (this.ignoreMerges && whole !== undefined) return [whole]; // Llama 3: a word in the vocabulary is one token
    let symbols: number[] = [];
    for (const ch of word) {
      const id = this.vocab.get(ch);
      if (id !== undefined) {
        symbols.push(id);
        continue;
      }
      const bytes = this.byteFallback ? Array.from(utf8.encode(ch), (b) => this.vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`)) : [];
      if (bytes.length > 0 && bytes.every((b) => b !== undefined)) {
        symbols.push(...(bytes as number[]));
      } else if (this.unkId !== null) {
        if (!(this.fuseUnk && symbols[symbols.length - 1] === this.unkId)) symbols.push(this.unkId);
      } else {
        const cp = ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
        throw new Error(`HFTokenizer.encode: U+${cp} (${JSON.stringify(ch)}) is not in the vocabulary and the tokenizer has no unk_token or byte fallback`);
      }
    }
    while (symbols.length > 1) {
      let bestRank = Infinity;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = this.mergeRank.get(symbols[i] * PAIR_KEY_BASE + symbols[i + 1]);
        if (rank !== undefined && rank < bestRank) bestRank = rank;
      }
      if (bestRank === Infinity) break;
      const [l, r] = this.mergePairs[bestRank];
      symbols = mergePair(symbols, l, r, this.mergeResult[bestRank]);
    }
    return symbols;
  }

  /** The ids the post-processor puts before and after a single sequence. */
  private buildTemplate(json: unknown, where: string): { before: number[]; after: number[] } {
    const none = { before: [], after: [] };
    if (json === null || json === undefined) return none;
    const j = json as Json;
    switch (j.type) {
      case "Sequence": {
        const parts = ((j.processors as unknown[]) ?? []).map((p, i) => this.buildTemplate(p, `${where}.processors[${i}]`));
        return { before: parts.flatMap((p) => p.before), after: parts.reverse().flatMap((p) => p.after) };
      }
      case "ByteLevel":
        return none; // only adjusts offsets
      case "TemplateProcessing": {
        const specials = (j.special_tokens ?? {}) as Record<string, { ids?: number[] }>;
        const out = { before: [] as number[], after: [] as number[] };
        let seenSequence = false;
        for (const piece of (j.single as Json[]) ?? []) {
          if (piece.Sequence) {
            seenSequence = true;
            continue;
          }
          const name = (piece.SpecialToken as Json | undefined)?.id as string | undefined;
          const ids = name === undefined ? undefined : specials[name]?.ids ?? (this.tokenToId(name) === undefined ? undefined : [this.tokenToId(name)!]);
          if (!ids) throw new Error(`tokenizer.json: ${where}.single uses the special token ${JSON.stringify(name)}, which it does not define`);
          (seenSequence ? out.after : out.before).push(...ids);
        }
        return out;
      }
      case "RobertaProcessing":
      case "BertProcessing": {
        const [cls, sep] = [j.cls, j.sep] as [[string, number], [string, number]];
        return { before: [cls[1]], after: [sep[1]] };
      }
      default:
        throw new Error(`tokenizer.json: ${where} type "${String(j.type)}" is not supported (supported: TemplateProcessing, ByteLevel, Sequence, RobertaProcessing, BertProcessing)`);
    }
  }
}

// The older "left right" form: exactly one space, as HF requires (tokens then cannot contain spaces).
function splitMerge(m: string): string[] {
  return m.split(" ");
}
