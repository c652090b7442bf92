/**
 * The three floating-point formats of mixed-precision training, described by their bit layout. tfjs has no
 * float16 or bfloat16 dtype, so Llama Lab stores every tensor as float32 and simulates the narrow formats by
 * rounding (see rounding.ts); these constants say what that rounding must reproduce.
 */

/** A 16-bit format that Llama Lab simulates on float32 storage. */
export type HalfFormat = "fp16" | "bf16";

/** A compute precision: full float32, or one of the 16-bit formats. */
export type Precision = "fp32" | HalfFormat;

/** The numeric properties of one IEEE-style binary format. */
export interface FormatInfo {
  /** Short name: fp32, fp16 or bf16. */
  name: Precision;
  /** What PyTorch calls it. */
  torchDtype: string;
  /** Storage size of one element in bytes. */
  bytes: number;
  /** Exponent field width in bits. */
  exponentBits: number;
  /** Stored fraction bits (the significand has one more, implicit, bit). */
  mantissaBits: number;
  /** Largest finite value. */
  maxFinite: number;
  /** Smallest positive normal value, 2^emin. */
  minNormal: number;
  /** Smallest positive subnormal value, 2^(emin − mantissaBits). */
  minSubnormal: number;
  /** Gap between 1 and the next larger value, 2^−mantissaBits. */
  epsilon: number;
}

function describe(name: Precision, torchDtype: string, exponentBits: number, mantissaBits: number): FormatInfo {
  const bias = 2 ** (exponentBits - 1) - 1;
  const emin = 1 - bias;
  return {
    name,
    torchDtype,
    bytes: (1 + exponentBits + mantissaBits) / 8,
    exponentBits,
    mantissaBits,
    maxFinite: (2 - 2 ** -mantissaBits) * 2 ** bias,
    minNormal: 2 ** emin,
    minSubnormal: 2 ** (emin - mantissaBits),
    epsilon: 2 ** -mantissaBits,
  };
}

/** fp32 (IEEE binary32), fp16 (IEEE binary16) and bf16 (bfloat16: float32's exponent, 7 fraction bits). */
export const FORMATS: Readonly<Record<Precision, FormatInfo>> = Object.freeze({
  fp32: describe("fp32", "torch.float32", 8, 23),
  fp16: describe("fp16", "torch.float16", 5, 10),
  bf16: describe("bf16", "torch.bfloat16", 8, 7),
});

/** Throws unless `precision` is one of "fp32", "fp16", "bf16" (`what` names the argument in the message). */
export function checkPrecision(precision: unknown, what = "precision"): asserts precision is Precision {
  if (precision !== "fp32" && precision !== "fp16" && precision !== "bf16") {
    throw new Error(`${what} must be "fp32", "fp16" or "bf16", got ${JSON.stringify(precision)}`);
  }
}
