/**
 * The GPT-2 byte <-> unicode table. Byte-level BPE works on raw UTF-8 bytes, but merges and vocabularies are
 * stored as strings; GPT-2 maps every byte to a printable character so that token strings stay readable and
 * whitespace/control bytes never vanish in a JSON file (space 0x20 becomes "Ġ", newline 0x0A becomes "Ċ").
 * Using the same table as GPT-2 / Hugging Face keeps our merge lists comparable with theirs.
 */

function buildByteToUnicode(): string[] {
  const table: string[] = new Array(256);
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    // Printable Latin-1 bytes stand for themselves; the rest are shifted past 255 in byte order.
    table[b] = String.fromCodePoint(printable(b) ? b : 256 + next++);
  }
  return table;
}

/** `BYTE_TO_UNICODE[b]` is the one-character string that stands for byte `b` in token strings. */
export const BYTE_TO_UNICODE: readonly string[] = buildByteToUnicode();

/** Inverse of `BYTE_TO_UNICODE`: character -> byte value. */
export const UNICODE_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_UNICODE.map((ch, b) => [ch, b]));

/** Byte-level (GPT-2) string for a byte sequence, e.g. [0x20, 0x61] -> "Ġa". */
export function bytesToTokenString(bytes: ArrayLike<number>): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_UNICODE[bytes[i]];
  return s;
}

/** Bytes for a byte-level (GPT-2) token string; throws when a character is not in the byte table. */
export function tokenStringToBytes(token: string): Uint8Array {
  const chars = Array.from(token);
  const out = new Uint8Array(chars.length);
  chars.forEach((ch, i) => {
    const b = UNICODE_TO_BYTE.get(ch);
    if (b === undefined) {
      const cp = ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
      throw new Error(`token string ${JSON.stringify(token)} contains U+${cp}, which is not a byte-level character`);
    }
    out[i] = b;
  });
  return out;
}
