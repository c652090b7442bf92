/**
 * A byte-level BPE tokenizer in the GPT-2 / Llama 3 family that can be trained from text.
 *
 * Text is split into GPT-2 pre-tokens, each pre-token is turned into its UTF-8 bytes, and learnt merges are
 * applied inside each pre-token. Because the base vocabulary is all 256 bytes, every string encodes without an
 * unknown token and decodes back exactly.
 *
 * Ids: special tokens first (0..k-1, in role order pad, unk, cls, sep, mask, skipping absent roles), then the
 * 256 byte tokens (id k + byte value), then one id per token created by a merge, in the order learnt.
 *
 * Lone surrogates (UTF-16 halves without their partner) are not valid Unicode and have no UTF-8 encoding; like
 * `TextEncoder`, `encode` replaces each with U+FFFD, so `decode(encode("\uD800")) === "\uFFFD"`. Every
 * well-formed string round-trips exactly (including a leading byte-order mark).
 *
 * Saved format (`toJSON`), version 1:
 * ```json
 * {
 *   "type": "llamalab-byte-bpe",
 *   "version": 1,
 *   "pretokenizer": "gpt2",
 *   "specialTokens": { "pad": "[PAD]", "unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]" },
 *   "vocabSize": 2000,
 *   "merges": [["Ġ", "t"], ["h", "e"], ["Ġt", "he"], ...]
 * }
 * ```
 * Merge halves are byte-level strings in the GPT-2 byte-to-unicode alphabet (space is "Ġ", newline "Ċ"), the
 * same spelling as a Hugging Face `merges.txt`. The vocabulary is rebuilt by replaying the merges; `vocabSize`
 * is redundant and checked against that replay.
 */
import { readFileSync } from "fs";
import { writeFileAtomic } from "../io/atomic";
import { BYTE_TO_UNICODE, bytesToTokenString, tokenStringToBytes } from "./bytes";
import { pretokenize } from "./pretokenize";
import {
  DEFAULT_SPECIAL_TOKENS,
  orderedSpecialTokens,
  SpecialIds,
  SpecialRole,
  SpecialTokens,
} from "./special-tokens";
import { learnMerges, mergePair, PAIR_KEY_BASE } from "./train-merges";

export { DEFAULT_SPECIAL_TOKENS, SPECIAL_ROLES } from "./special-tokens";
export type { SpecialIds, SpecialRole, SpecialTokens } from "./special-tokens";

/** Options of `ByteLevelBPETokenizer.train`. */
export interface BPETrainOptions {
  /** Total vocabulary size: special tokens + 256 bytes + merged tokens. An upper bound (see minFrequency). */
  vocabSize: number;
  /** Role -> token string; defaults to BERT-style [PAD] [UNK] [CLS] [SEP] [MASK]. Pass {} for none. */
  specialTokens?: SpecialTokens;
  /** A pair must occur at least this often to be merged (default 2); training stops early when none does. */
  minFrequency?: number;
  /** Called after each new token with (tokens added, tokens wanted). */
  onProgress?: (done: number, total: number) => void;
}

/** Options of `encode` and `tokens`. */
export interface EncodeOptions {
  /** Wrap the ids in cls (BOS) ... sep (EOS), for whichever of the two the tokenizer has. */
  addSpecialTokens?: boolean;
  /** Map special-token strings found in the text (e.g. "[MASK]") to their ids; off by default. */
  allowSpecial?: boolean;
}

/** Options of `decode`. */
export interface DecodeOptions {
  /** Leave special tokens out of the text. */
  skipSpecialTokens?: boolean;
}

/** The JSON form written by `toJSON` / `save` (see the class documentation). */
export interface ByteLevelBPEJSON {
  type: "llamalab-byte-bpe";
  version: 1;
  pretokenizer: "gpt2";
  specialTokens: SpecialTokens;
  vocabSize: number;
  merges: Array<[string, string]>;
}

const FORMAT_TYPE = "llamalab-byte-bpe";
const FORMAT_VERSION = 1;
/** Pre-tokens longer than this are not cached: they are rare and would pin memory. */
const MAX_CACHED_PRETOKEN_LENGTH = 256;
/** The cache is cleared when it reaches this many entries, bounding memory on unbounded input. */
const MAX_CACHE_ENTRIES = 200_000;

const utf8Encoder = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF instead of silently dropping it, so round trips stay exact.
const utf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const strictUtf8Decoder = new TextDecoder("utf-8", { ignoreBOM: true, fatal: true });

/** Byte-level BPE tokenizer (GPT-2 / Llama 3 style) with BERT-style special-token roles; see the module TSDoc. */
export class ByteLevelBPETokenizer {
  private readonly specials: ReadonlyArray<{ role: SpecialRole; token: string }>;
  private readonly specialIdOf = new Map<string, number>();
  private readonly specialPattern: RegExp | null;
  /** Byte-level token string -> id, for byte and merged tokens. */
  private readonly bpeIdOf = new Map<string, number>();
  /** id -> byte-level string (special ids hold their plain string). */
  private readonly tokenStrings: string[] = [];
  /** id -> UTF-8 bytes the token stands for. */
  private readonly tokenBytes: Uint8Array[] = [];
  /** pair key -> merge rank; rank -> resulting id. */
  private readonly mergeRank = new Map<number, number>();
  private readonly mergeResult: number[] = [];
  private readonly merges: Array<[string, string]>;
  private readonly cache = new Map<string, number[]>();

  /** `context` prefixes error messages ("train", "fromJSON"). */
  private constructor(specialTokens: SpecialTokens, merges: ReadonlyArray<readonly [string, string]>, context: string) {
    this.specials = withContext(context, () => orderedSpecialTokens(specialTokens, "specialTokens"));
    for (const { token } of this.specials) {
      this.specialIdOf.set(token, this.tokenStrings.length);
      this.tokenStrings.push(token);
      this.tokenBytes.push(utf8Encoder.encode(token));
    }
    this.specialPattern =
      this.specials.length === 0
        ? null
        : new RegExp(
            [...this.specials]
              .map((s) => s.token)
              .sort((a, b) => b.length - a.length) // longest first, so "[SEP]" never shadows "[SEP2]"
              .map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
              .join("|"),
            "gu",
          );
    const k = this.specials.length;
    for (let b = 0; b < 256; b++) {
      this.bpeIdOf.set(BYTE_TO_UNICODE[b], k + b);
      this.tokenStrings.push(BYTE_TO_UNICODE[b]);
      this.tokenBytes.push(Uint8Array.of(b));
    }
    this.merges = [];
    merges.forEach(([left, right], rank) => {
      const leftId = this.bpeIdOf.get(left);
      const rightId = this.bpeIdOf.get(right);
      if (leftId === undefined || rightId === undefined) {
        const bad = leftId === undefined ? left : right;
        withContext(`${context}: merges[${rank}]`, () => tokenStringToBytes(bad));
        throw new Error(
          `${context}: merges[${rank}] uses ${JSON.stringify(bad)}, which is neither a byte nor the result of an earlier merge`,
        );
      }
      const key = leftId * PAIR_KEY_BASE + rightId;
      const earlier = this.mergeRank.get(key);
      if (earlier !== undefined) throw new Error(`${context}: merges[${rank}] repeats merges[${earlier}] (${left} + ${right})`);
      const merged = left + right;
      let id = this.bpeIdOf.get(merged);
      if (id === undefined) {
        id = this.tokenStrings.length;
        if (id >= PAIR_KEY_BASE) throw new Error(`${context}: merges: more than ${PAIR_KEY_BASE} tokens are not supported`);
        this.bpeIdOf.set(merged, id);
        this.tokenStrings.push(merged);
        const bytes = new Uint8Array(this.tokenBytes[leftId].length + this.tokenBytes[rightId].length);
        bytes.set(this.tokenBytes[leftId]);
        bytes.set(this.tokenBytes[rightId], this.tokenBytes[leftId].length);
        this.tokenBytes.push(bytes);
      }
      this.mergeRank.set(key, rank);
      this.mergeResult.push(id);
      this.merges.push([left, right]);
    });
  }

  /**
   * Learns a vocabulary of at most `options.vocabSize` tokens from `texts`. Deterministic: the same texts and
   * options always give the same merges (most frequent pair first; ties to the lexicographically smallest pair
   * of byte-level strings).
   */
  static train(texts: string[], options: BPETrainOptions): ByteLevelBPETokenizer {
    if (!Array.isArray(texts)) throw new Error(`train: texts must be an array of strings, got ${typeof texts}`);
    // An empty corpus would silently give a bytes-only vocabulary with no merges.
    if (texts.length === 0) throw new Error("train: texts is empty; pass the corpus to learn merges from (an array of strings)");
    if (typeof options !== "object" || options === null) throw new Error("train: options must be an object with vocabSize");
    const specialTokens = options.specialTokens ?? { ...DEFAULT_SPECIAL_TOKENS };
    const specials = withContext("train: options", () => orderedSpecialTokens(specialTokens, "specialTokens"));
    const { vocabSize } = options;
    const minimum = specials.length + 256;
    if (!Number.isInteger(vocabSize) || vocabSize < minimum) {
      throw new Error(
        `train: options.vocabSize must be an integer >= ${minimum} (${specials.length} special tokens + 256 bytes), got ${vocabSize}`,
      );
    }
    if (vocabSize > PAIR_KEY_BASE) throw new Error(`train: options.vocabSize must be at most ${PAIR_KEY_BASE}, got ${vocabSize}`);
    const minFrequency = options.minFrequency ?? 2;
    if (!Number.isFinite(minFrequency) || minFrequency < 1) {
      throw new Error(`train: options.minFrequency must be a number >= 1, got ${minFrequency}`);
    }

    const wordCounts = new Map<string, number>();
    texts.forEach((text, i) => {
      if (typeof text !== "string") throw new Error(`train: texts[${i}] must be a string, got ${typeof text}`);
      for (const word of pretokenize(text)) wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
    });
    const merges = learnMerges(wordCounts, {
      maxNewTokens: vocabSize - minimum,
      minFrequency,
      onProgress: options.onProgress,
    });
    return new ByteLevelBPETokenizer(specialTokens, merges, "train");
  }

  /** Rebuilds a tokenizer from `toJSON` output; throws naming the first bad field. */
  static fromJSON(obj: unknown): ByteLevelBPETokenizer {
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
      throw new Error(`fromJSON: expected an object of type "${FORMAT_TYPE}", got ${obj === null ? "null" : typeof obj}`);
    }
    const o = obj as Record<string, unknown>;
    if (o.type !== FORMAT_TYPE) throw new Error(`fromJSON: field "type" must be "${FORMAT_TYPE}", got ${JSON.stringify(o.type)}`);
    if (o.version !== FORMAT_VERSION) {
      throw new Error(`fromJSON: field "version" must be ${FORMAT_VERSION}, got ${JSON.stringify(o.version)}; this build reads version 1`);
    }
    if (o.pretokenizer !== undefined && o.pretokenizer !== "gpt2") {
      throw new Error(`fromJSON: field "pretokenizer" must be "gpt2", got ${JSON.stringify(o.pretokenizer)}`);
    }
    if (!Array.isArray(o.merges)) throw new Error(`fromJSON: field "merges" must be an array of [left, right] string pairs`);
    o.merges.forEach((m: unknown, i: number) => {
      if (!Array.isArray(m) || m.length !== 2 || typeof m[0] !== "string" || typeof m[1] !== "string" || !m[0] || !m[1]) {
        throw new Error(`fromJSON: field "merges[${i}]" must be a pair of non-empty strings, got ${JSON.stringify(m)}`);
      }
    });
    if (o.specialTokens === undefined) throw new Error(`fromJSON: field "specialTokens" is missing; use {} for none`);
    const tokenizer = new ByteLevelBPETokenizer(
      o.specialTokens as SpecialTokens,
      o.merges as Array<[string, string]>,
      "fromJSON",
    );
    if (o.vocabSize !== undefined && o.vocabSize !== tokenizer.vocabSize) {
      throw new Error(`fromJSON: field "vocabSize" is ${JSON.stringify(o.vocabSize)} but the merges give ${tokenizer.vocabSize} tokens`);
    }
    return tokenizer;
  }

  /** Reads a tokenizer written by `save`. */
  static load(path: string): ByteLevelBPETokenizer {
    const text = readFileSync(path, "utf8");
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      throw new Error(`load: ${path} is not valid JSON (${(e as Error).message})`);
    }
    try {
      return ByteLevelBPETokenizer.fromJSON(obj);
    } catch (e) {
      throw new Error(`load: ${path}: ${(e as Error).message}`);
    }
  }

  /** Number of ids: special tokens + 256 bytes + merged tokens. */
  get vocabSize(): number {
    return this.tokenStrings.length;
  }

  /** Id of each special role the tokenizer has. */
  get specialIds(): SpecialIds {
    const ids: SpecialIds = {};
    this.specials.forEach(({ role }, id) => (ids[role] = id));
    return ids;
  }

  /** Role -> string of the special tokens. */
  get specialTokens(): SpecialTokens {
    const tokens: SpecialTokens = {};
    for (const { role, token } of this.specials) tokens[role] = token;
    return tokens;
  }

  /** Learnt merges in rank order, as byte-level string pairs. */
  get mergeList(): ReadonlyArray<readonly [string, string]> {
    return this.merges;
  }

  /** True for the ids of special tokens. */
  isSpecial(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.specials.length;
  }

  /** Id of a special token string or a byte-level token string (e.g. "Ġthe"); undefined if none. */
  tokenToId(token: string): number | undefined {
    return this.specialIdOf.get(token) ?? this.bpeIdOf.get(token);
  }

  /** The special string or byte-level string (e.g. "Ġthe") of an id; throws for an id outside the vocabulary. */
  idToToken(id: number): string {
    this.checkId(id, "idToToken: id");
    return this.tokenStrings[id];
  }

  /** Token ids of `text`. Special-token strings in the text are plain text unless `opts.allowSpecial`. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    if (typeof text !== "string") throw new Error(`encode: text must be a string, got ${typeof text}`);
    const ids: number[] = [];
    const { cls, sep } = this.specialIds;
    if (opts.addSpecialTokens && cls !== undefined) ids.push(cls);
    if (opts.allowSpecial && this.specialPattern) {
      let start = 0;
      for (const m of text.matchAll(this.specialPattern)) {
        this.encodeOrdinary(text.slice(start, m.index), ids);
        ids.push(this.specialIdOf.get(m[0])!);
        start = m.index! + m[0].length;
      }
      this.encodeOrdinary(text.slice(start), ids);
    } else {
      this.encodeOrdinary(text, ids);
    }
    if (opts.addSpecialTokens && sep !== undefined) ids.push(sep);
    return ids;
  }

  /** Text of `ids`; exact inverse of `encode` for well-formed strings. Byte runs that are not UTF-8 become U+FFFD. */
  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    let length = 0;
    ids.forEach((id, i) => {
      this.checkId(id, `decode: ids[${i}]`);
      if (!(opts.skipSpecialTokens && this.isSpecial(id))) length += this.tokenBytes[id].length;
    });
    const bytes = new Uint8Array(length);
    let offset = 0;
    for (const id of ids) {
      if (opts.skipSpecialTokens && this.isSpecial(id)) continue;
      bytes.set(this.tokenBytes[id], offset);
      offset += this.tokenBytes[id].length;
    }
    return utf8Decoder.decode(bytes);
  }

  /**
   * Readable token strings of `text`, for display: a token's text when its bytes are valid UTF-8 on their own,
   * otherwise each byte as printable ASCII or `<0xNN>` (a token can hold part of a multi-byte character).
   */
  tokens(text: string, opts: EncodeOptions = {}): string[] {
    return this.encode(text, opts).map((id) => this.displayToken(id));
  }

  /** The display form used by `tokens` for one id. */
  displayToken(id: number): string {
    this.checkId(id, "displayToken: id");
    if (this.isSpecial(id)) return this.tokenStrings[id];
    const bytes = this.tokenBytes[id];
    try {
      return strictUtf8Decoder.decode(bytes);
    } catch {
      return Array.from(bytes, (b) =>
        b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`,
      ).join("");
    }
  }

  /** The JSON form described in the class documentation. */
  toJSON(): ByteLevelBPEJSON {
    return {
      type: FORMAT_TYPE,
      version: FORMAT_VERSION,
      pretokenizer: "gpt2",
      specialTokens: this.specialTokens,
      vocabSize: this.vocabSize,
      merges: this.merges.map(([l, r]) => [l, r]),
    };
  }

  /** Writes `toJSON()` to `path` atomically ({@link writeFileAtomic}). */
  save(path: string): void {
    writeFileAtomic(path, JSON.stringify(this.toJSON()) + "\n");
  }


  private encodeOrdinary(text: string, out: number[]): void {
    for (const word of pretokenize(text)) {
      let ids = this.cache.get(word);
      if (ids === undefined) {
        ids = this.encodeWord(word);
        if (word.length <= MAX_CACHED_PRETOKEN_LENGTH) {
          if (this.cache.size >= MAX_CACHE_ENTRIES) this.cache.clear();
          this.cache.set(word, ids);
        }
      }
      for (const id of ids) out.push(id);
    }
  }

  /** Applies merges to one pre-token: repeatedly merge every occurrence of the lowest-ranked pair present. */
  private encodeWord(word: string): number[] {
    const k = this.specials.length;
    let symbols = Array.from(utf8Encoder.encode(word), (b) => k + b);
    while (symbols.length > 1) {
      let bestRank = Infinity;
      let bestKey = -1;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = symbols[i] * PAIR_KEY_BASE + symbols[i + 1];
        const rank = this.mergeRank.get(key);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          bestKey = key;
        }
      }
      if (bestKey < 0) break;
      symbols = mergePair(symbols, Math.floor(bestKey / PAIR_KEY_BASE), bestKey % PAIR_KEY_BASE, this.mergeResult[bestRank]);
    }
    return symbols;
  }

  private checkId(id: number, what: string): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.tokenStrings.length) {
      throw new Error(`${what} = ${id} is not a token id; ids run from 0 to ${this.tokenStrings.length - 1}`);
    }
  }
}

/** Runs `fn`, prefixing any error message with `context`. */
function withContext<T>(context: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw new Error(`${context}: ${(e as Error).message}`);
  }
}

/** Byte-level (GPT-2 alphabet) spelling of a UTF-8 string, e.g. " the" -> "Ġthe", for use with `tokenToId`. */
export function toByteLevel(text: string): string {
  return bytesToTokenString(utf8Encoder.encode(text));
}
