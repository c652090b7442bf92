/**
 * The pieces of a Hugging Face `tokenizer.json` pipeline around the model, built from their JSON: normalizers
 * (text → text), pre-tokenizers (text → words) and decoders (token strings → text). Only the kinds that Llama 2,
 * Llama 3 and GPT-2 style files use are implemented; any other kind is an Error naming it.
 */
import { UNICODE_TO_BYTE, bytesToTokenString } from "./bytes";
import { pretokenize } from "./pretokenize";

type Json = Record<string, unknown>;

/** Text → text, applied to each stretch of input between added tokens. */
export type Normalizer = (text: string) => string;
/** Words so far → finer words; `atStart` tells whether the stretch begins the input (Metaspace "first"). */
export type PreTokenizer = (words: string[], atStart: boolean) => string[];
/** Token strings → token strings; the last step's output is joined into the text. */
export type Decoder = (tokens: string[]) => string[];

const utf8 = new TextEncoder();
const lossyUtf8 = new TextDecoder("utf-8", { ignoreBOM: true });
const strictUtf8 = new TextDecoder("utf-8", { ignoreBOM: true, fatal: true });

function kind(json: unknown, where: string): string {
  if (json === null || typeof json !== "object" || typeof (json as Json).type !== "string") {
    throw new Error(`tokenizer.json: ${where} must be an object with a "type", got ${JSON.stringify(json)}`);
  }
  return (json as Json).type as string;
}

function unsupported(where: string, type: string, supported: string[]): Error {
  return new Error(`tokenizer.json: ${where} type "${type}" is not supported (supported: ${supported.join(", ")})`);
}

/**
 * A JavaScript RegExp for a pattern written for Rust's regex / Oniguruma. JavaScript (Node 20) lacks scoped flags, so
 * `(?i:…)` is rewritten with both cases of every ASCII letter inside it (Llama 3's `(?i:'s|'t|…)`).
 */
export function hfRegex(pattern: string): RegExp {
  const source = pattern.replace(/\(\?i:((?:[^()\\]|\\.)*)\)/g, (_, body: string) =>
    "(?:" + body.replace(/\\.|[a-zA-Z]/g, (c) => (c.length === 1 ? `[${c.toLowerCase()}${c.toUpperCase()}]` : c)) + ")",
  );
  try {
    return new RegExp(source, "gu");
  } catch (e) {
    throw new Error(`tokenizer.json: the pattern ${JSON.stringify(pattern)} is not a regular expression JavaScript can run (${(e as Error).message})`);
  }
}

/** `{String: s}` or `{Regex: r}` → a global RegExp. */
function patternOf(json: unknown, where: string): RegExp {
  const p = json as Json | undefined;
  if (p && typeof p.String === "string") return new RegExp(p.String.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gu");
  if (p && typeof p.Regex === "string") return hfRegex(p.Regex);
  throw new Error(`tokenizer.json: ${where}.pattern must be {"String": ...} or {"Regex": ...}, got ${JSON.stringify(json)}`);
}

/** The normalizer of a `tokenizer.json` (null: identity). */
export function buildNormalizer(json: unknown, where = "normalizer"): Normalizer {
  if (json === null || json === undefined) return (s) => s;
  const type = kind(json, where);
  const j = json as Json;
  switch (type) {
    case "Sequence": {
      const steps = ((j.normalizers as unknown[]) ?? []).map((n, i) => buildNormalizer(n, `${where}.normalizers[${i}]`));
      return (s) => steps.reduce((t, f) => f(t), s);
    }
    case "Prepend":
      return (s) => (s.length > 0 ? String(j.prepend) + s : s); // as in HF: nothing is prepended to empty text
    case "Replace": {
      const re = patternOf(j.pattern, where);
      const content = String(j.content);
      return (s) => s.replace(re, () => content);
    }
    case "NFC":
    case "NFD":
    case "NFKC":
    case "NFKD":
      return (s) => s.normalize(type);
    case "Lowercase":
      return (s) => s.toLowerCase();
    case "Strip":
      return (s) => {
        let t = j.strip_left === false ? s : s.replace(/^\s+/u, "");
        if (j.strip_right !== false) t = t.replace(/\s+$/u, "");
        return t;
      };
    default:
      throw unsupported(where, type, ["Sequence", "Prepend", "Replace", "NFC", "NFD", "NFKC", "NFKD", "Lowercase", "Strip"]);
  }
}

/** Splits `text` at the matches of `re` with one of HF's SplitDelimiterBehavior values. */
function splitBy(text: string, re: RegExp, behavior: string): string[] {
  const out: string[] = [];
  let last = 0;
  let carry = ""; // a MergedWithNext delimiter waiting for the text after it
  for (const m of text.matchAll(re)) {
    if (m[0].length === 0) continue;
    const before = text.slice(last, m.index);
    last = m.index! + m[0].length;
    if (behavior === "Isolated") out.push(...[before, m[0]].filter((s) => s));
    else if (behavior === "Removed") before && out.push(before);
    else if (behavior === "MergedWithPrevious") out.push(before + m[0]);
    else if (behavior === "MergedWithNext") {
      if (carry + before) out.push(carry + before);
      carry = m[0];
    } else throw unsupported("pre_tokenizer Split behavior", behavior, ["Isolated", "Removed", "MergedWithPrevious", "MergedWithNext"]);
  }
  const rest = carry + text.slice(last);
  if (rest) out.push(rest);
  return out;
}

/** The pre-tokenizer of a `tokenizer.json` (null: the whole stretch is one word). */
export function buildPreTokenizer(json: unknown, where = "pre_tokenizer"): PreTokenizer {
  if (json === null || json === undefined) return (words) => words;
  const type = kind(json, where);
  const j = json as Json;
  switch (type) {
    case "Sequence": {
      const steps = ((j.pretokenizers as unknown[]) ?? []).map((p, i) => buildPreTokenizer(p, `${where}.pretokenizers[${i}]`));
      return (words, atStart) => steps.reduce((w, f) => f(w, atStart), words);
    }
    case "ByteLevel": {
      // Words become their UTF-8 bytes spelled in GPT-2's byte alphabet (space → "Ġ"), the alphabet of the vocab.
      const useRegex = j.use_regex !== false;
      return (words) =>
        words.flatMap((w) => {
          const text = j.add_prefix_space && !w.startsWith(" ") ? " " + w : w;
          const pieces = useRegex ? pretokenize(text) : [text];
          return pieces.map((p) => bytesToTokenString(utf8.encode(p)));
        });
    }
    case "Split": {
      if (j.invert) throw new Error(`tokenizer.json: ${where} Split with invert: true is not supported`);
      const re = patternOf(j.pattern, where);
      const behavior = String(j.behavior ?? "Isolated");
      return (words) => words.flatMap((w) => splitBy(w, re, behavior));
    }
    case "Metaspace": {
      const rep = String(j.replacement ?? "▁");
      // Older files say add_prefix_space: true/false; newer ones prepend_scheme "always" | "first" | "never".
      const scheme = String(j.prepend_scheme ?? (j.add_prefix_space === false ? "never" : "always"));
      const split = j.split !== false;
      const sep = new RegExp(rep.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gu");
      return (words, atStart) =>
        words.flatMap((w, i) => {
          let t = w.replace(/ /g, rep);
          const prepend = scheme === "always" || (scheme === "first" && atStart && i === 0);
          if (prepend && !t.startsWith(rep)) t = rep + t;
          return split ? splitBy(t, sep, "MergedWithNext") : [t];
        });
    }
    case "Digits": {
      const re = j.individual_digits ? /\p{N}/gu : /\p{N}+/gu;
      return (words) => words.flatMap((w) => splitBy(w, re, "Isolated"));
    }
    default:
      throw unsupported(where, type, ["Sequence", "ByteLevel", "Split", "Metaspace", "Digits"]);
  }
}

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

/** The decoder of a `tokenizer.json` (null: tokens joined with spaces, as HF does). */
export function buildDecoder(json: unknown, where = "decoder"): Decoder {
  if (json === null || json === undefined) return (tokens) => [tokens.join(" ")];
  const type = kind(json, where);
  const j = json as Json;
  switch (type) {
    case "Sequence": {
      const steps = ((j.decoders as unknown[]) ?? []).map((d, i) => buildDecoder(d, `${where}.decoders[${i}]`));
      return (tokens) => steps.reduce((t, f) => f(t), tokens);
    }
    case "ByteLevel":
      return (tokens) => {
        const bytes: number[] = [];
        for (const ch of tokens.join("")) {
          const b = UNICODE_TO_BYTE.get(ch);
          if (b !== undefined) bytes.push(b);
          else bytes.push(...utf8.encode(ch)); // not a byte-level character: keep it as it is
        }
        return [lossyUtf8.decode(Uint8Array.from(bytes))];
      };
    case "Replace": {
      const re = patternOf(j.pattern, where);
      const content = String(j.content);
      return (tokens) => tokens.map((t) => t.replace(re, () => content));
    }
    case "ByteFallback":
      // Runs of <0xNN> tokens become the text of their bytes, or one U+FFFD per byte when they are not UTF-8.
      return (tokens) => {
        const out: string[] = [];
        let run: number[] = [];
        const flush = () => {
          if (run.length === 0) return;
          try {
            out.push(strictUtf8.decode(Uint8Array.from(run)));
          } catch {
            out.push("\uFFFD".repeat(run.length));
          }
          run = [];
        };
        for (const t of tokens) {
          const m = BYTE_TOKEN.exec(t);
          if (m) run.push(parseInt(m[1], 16));
          else {
            flush();
            out.push(t);
          }
        }
        flush();
        return out;
      };
    case "Fuse":
      return (tokens) => [tokens.join("")];
    case "Strip": {
      const content = String(j.content ?? " ");
      const start = Number(j.start ?? 0);
      const stop = Number(j.stop ?? 0);
      return (tokens) =>
        tokens.map((t) => {
          let chars = Array.from(t);
          for (let i = 0; i < start && chars[0] === content; i++) chars = chars.slice(1);
          for (let i = 0; i < stop && chars[chars.length - 1] === content; i++) chars = chars.slice(0, -1);
          return chars.join("");
        });
    }
    case "Metaspace": {
      const rep = String(j.replacement ?? "▁");
      const scheme = String(j.prepend_scheme ?? (j.add_prefix_space === false ? "never" : "always"));
      return (tokens) =>
        tokens.map((t, i) => {
          const s = t.split(rep).join(" ");
          return i === 0 && scheme !== "never" && s.startsWith(" ") ? s.slice(1) : s;
        });
    }
    default:
      throw unsupported(where, type, ["Sequence", "ByteLevel", "Replace", "ByteFallback", "Fuse", "Strip", "Metaspace"]);
  }
}
