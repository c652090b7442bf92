/**
 * Special tokens by role. Roles follow BERT's names; for a causal (Llama-style) model `cls` plays the part of
 * BOS and `sep` the part of EOS. Special tokens take the first ids, in the role order below.
 */

/** Special-token roles in id order. */
export const SPECIAL_ROLES = ["pad", "unk", "cls", "sep", "mask"] as const;

/** One special-token role: pad, unk, cls (= bos), sep (= eos) or mask. */
export type SpecialRole = (typeof SPECIAL_ROLES)[number];

/** Role -> token string; absent roles have no token. */
export type SpecialTokens = Partial<Record<SpecialRole, string>>;

/** Role -> token id for the roles a tokenizer has. */
export type SpecialIds = Partial<Record<SpecialRole, number>>;

/** BERT-style defaults used when `train` is given no `specialTokens`. */
export const DEFAULT_SPECIAL_TOKENS: Readonly<SpecialTokens> = Object.freeze({
  pad: "[PAD]",
  unk: "[UNK]",
  cls: "[CLS]",
  sep: "[SEP]",
  mask: "[MASK]",
});

/**
 * Checks a role -> string object and returns the (role, token) list in id order; `field` names the object in
 * error messages (e.g. "specialTokens").
 */
export function orderedSpecialTokens(value: unknown, field: string): Array<{ role: SpecialRole; token: string }> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${field} must be an object mapping roles (${SPECIAL_ROLES.join(", ")}) to strings, got ${describe(value)}`);
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!(SPECIAL_ROLES as readonly string[]).includes(key)) {
      throw new Error(`${field}.${key} is not a special-token role; use one of ${SPECIAL_ROLES.join(", ")}`);
    }
  }
  const out: Array<{ role: SpecialRole; token: string }> = [];
  const seen = new Map<string, SpecialRole>();
  for (const role of SPECIAL_ROLES) {
    const token = record[role];
    if (token === undefined) continue;
    if (typeof token !== "string" || token.length === 0) {
      throw new Error(`${field}.${role} must be a non-empty string, got ${describe(token)}`);
    }
    const other = seen.get(token);
    if (other !== undefined) throw new Error(`${field}.${role} repeats ${JSON.stringify(token)}, already used by ${field}.${other}`);
    seen.set(token, role);
    out.push({ role, token });
  }
  return out;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "string" ? JSON.stringify(v) : typeof v;
}
