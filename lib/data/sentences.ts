/**
 * A practical English sentence splitter, tuned for 19th-century prose such as Moby Dick: it needs no model,
 * and it errs towards keeping text together when a period is ambiguous.
 */

/**
 * Lower-case words (without their final period) after which a period does not end a sentence. "No." is left
 * out on purpose: in novels it is far more often a one-word answer than "number".
 */
export const SENTENCE_ABBREVIATIONS: ReadonlySet<string> = new Set([
  "mr", "mrs", "ms", "messrs", "dr", "st", "capt", "col", "gen", "lt", "sgt", "adm", "gov", "hon", "rev",
  "prof", "sr", "jr", "esq", "mt", "ft", "vs", "viz", "cf", "etc", "e.g", "i.e", "vol", "ch", "pp", "fig",
  "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
]);

// A terminator run, optional closing quotes/brackets, whitespace, then the start of the next sentence.
// The lookahead keeps "said he." + lower-case continuations (`"Who's there?" said he.`) together.
const BOUNDARY = /([.!?]+)(["'”’)\]]*)(\s+)(?=["'“‘(\[]?[\p{Lu}\d])/gu;

/** True when the period ending `word` most likely marks an abbreviation or an initial, not a sentence end. */
function isAbbreviation(word: string): boolean {
  const bare = word.replace(/^\.+/, "");
  if (bare === "") return false;
  if (SENTENCE_ABBREVIATIONS.has(bare.toLowerCase())) return true;
  // A single capital is an initial ("J. Ross Browne"), except "I", which ends many sentences ("thought I.").
  if (/^\p{Lu}$/u.test(bare)) return bare !== "I";
  // Dotted forms such as "A.S." or "U.S." (the final period is the terminator being examined).
  return /^(\p{L}\.)+\p{L}$/u.test(bare);
}

/**
 * Splits `text` into sentences: breaks after . ! ? (with any closing quotes or brackets) when whitespace and an
 * upper-case letter, digit or opening quote follow, never after a common abbreviation or an initial; a blank
 * line always ends a sentence. Whitespace inside a sentence is collapsed to single spaces; empty pieces are
 * dropped.
 */
export function splitSentences(text: string): string[] {
  if (typeof text !== "string") throw new Error(`splitSentences: text must be a string, got ${typeof text}`);
  const sentences: string[] = [];
  for (const paragraph of text.split(/\n[ \t]*\n/)) {
    let start = 0;
    for (const match of paragraph.matchAll(BOUNDARY)) {
      const at = match.index ?? 0;
      const [, terminator, closers, space] = match;
      if (terminator === "." && closers === "") {
        const before = paragraph.slice(start, at);
        // Letters (and inner periods, for "e.g") right before the period; dashes glue words in this prose.
        const lastWord = /[\p{L}\d.]*$/u.exec(before)?.[0] ?? "";
        if (isAbbreviation(lastWord)) continue;
      }
      const end = at + terminator.length + closers.length;
      pushNormalised(sentences, paragraph.slice(start, end));
      start = end + space.length;
    }
    pushNormalised(sentences, paragraph.slice(start));
  }
  return sentences;
}

function pushNormalised(out: string[], piece: string): void {
  const s = piece.replace(/\s+/g, " ").trim();
  if (s !== "") out.push(s);
}
