/**
 * GPT-2 pre-tokenization: split text into words before BPE so merges never cross a word boundary
 * (a token never spans "dog." or "the cat"). Leading spaces attach to the following word, which is why
 * byte-level vocabularies are full of "Ġword" tokens.
 */

/**
 * The GPT-2 split pattern with Unicode property escapes: English contractions, a letter run, a number run,
 * a run of other symbols (each optionally led by one space), whitespace not followed by a non-space (so the
 * last space of a run goes to the next word), then any remaining whitespace. The alternatives cover every
 * code point, so the pieces always concatenate back to the input.
 */
export const GPT2_SPLIT_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** Splits `text` into GPT-2 pre-tokens; `pretokenize(t).join("") === t` for every string. */
export function pretokenize(text: string): string[] {
  return text.match(GPT2_SPLIT_PATTERN) ?? [];
}
