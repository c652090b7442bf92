/**
 * Rounding float32 values to IEEE binary16 (fp16) and bfloat16 (bf16) and back, so that float32 storage holds
 * exactly the values a 16-bit tensor could hold. Two implementations that must agree bit for bit:
 *
 * - a reference in plain JavaScript that converts the float32 bit pattern (via a Uint32Array view) to the
 *   16-bit pattern with round-to-nearest-even, and back;
 * - tfjs ops {@link roundToFp16} / {@link roundToBf16}, built from elementwise float32 arithmetic because tfjs
 *   has no bitcast and no 16-bit dtype.
 *
 * How the tfjs op is exact. It never reads bits; it relies only on IEEE float32 add/sub/mul rounding to nearest
 * even, which every tfjs backend's elementwise kernels do:
 * - Normal range (|x| ≥ the format's smallest normal): Veltkamp's splitting. With σ = 2^s + 1 and
 *   s = 24 − p (p = the format's significand bits, 11 for fp16, 8 for bf16), γ = σ·x, hi = γ − (γ − x) is x
 *   rounded to p bits. Checked exhaustively over whole float32 binades (every significand) against the bit
 *   reference — ties go to even — and scale-invariant while σ·x neither overflows nor underflows. For bf16,
 *   |x| ≥ 2^100 is scaled by 2^−64 first and back after (powers of two scale exactly); for fp16, x is
 *   clamped to ±2^17, which overflows anyway.
 * - Subnormal range: the quantum q is fixed (2^−24 for fp16, 2^−133 for bf16), so (x + C) − C with
 *   C = 1.5·2^23·q rounds to a multiple of q, ties to even (the spacing of float32 around C is q).
 * - Overflow: bf16 overflows by itself (the rounding carries into float32's Inf); an fp16 result above 65504
 *   is sent to ±Inf by ×2^112, which leaves smaller values finite and ×2^−112 restores them exactly. The
 *   tie at the threshold (65520) goes to the even neighbour 65536, i.e. Inf, as IEEE says.
 * - NaN and ±Inf pass through; signed zeros keep their sign.
 * tf.round would have served for the subnormal case too (it rounds half to even on the cpu and wasm
 * backends), but the magic constant keeps the whole op to add, sub, mul and selects. On wasm it costs about
 * 15 elementwise ops (34–45 ms per million elements, measured on 2026-12-03's first-session machine); the JavaScript reference is faster on the CPU but needs
 * a device→host read, so the training graph uses the op.
 *
 * NaN: the JavaScript reference keeps the sign and the top payload bits and sets the quiet bit, as hardware
 * conversions (F16C, CUDA) do; the tfjs op guarantees only that NaN stays NaN, because tfjs kernels do not
 * promise to carry NaN payloads.
 */
import * as tf from "@tensorflow/tfjs";
import { FORMATS, HalfFormat, Precision, checkPrecision } from "./formats";

// Scratch views for reading and writing float32 bit patterns one value at a time.
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** The float32 bit pattern of `x` (after rounding `x` to float32). */
export function float32Bits(x: number): number {
  scratchF32[0] = x;
  return scratchU32[0];
}

/** The float32 value whose bit pattern is `bits` (an unsigned 32-bit integer). */
export function float32FromBits(bits: number): number {
  scratchU32[0] = bits >>> 0;
  return scratchF32[0];
}

/** The binary16 bit pattern nearest to the float32 with bit pattern `f` (round to nearest, ties to even). */
function fp16FromF32Bits(f: number): number {
  const sign = (f >>> 16) & 0x8000;
  const exp = (f >>> 23) & 0xff;
  const man = f & 0x7fffff;
  if (exp === 0xff) return man === 0 ? sign | 0x7c00 : sign | 0x7e00 | (man >>> 13);
  const e = exp - 127 + 15; // binary16 biased exponent
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Below 2^−25 everything rounds to zero (2^−25 itself is the tie between 0 and 2^−24, which goes to 0).
    if (e < -10) return sign;
    const sig = man | 0x800000; // explicit leading bit; exp ≥ 103 here, so the input is normal
    const shift = 14 - e; // 14..24: keeps the bits worth ≥ 2^−24
    let half = sig >>> shift;
    const rem = sig & ((1 << shift) - 1);
    const tie = 1 << (shift - 1);
    if (rem > tie || (rem === tie && (half & 1) === 1)) half++;
    return sign | half; // a carry into bit 10 correctly yields the smallest normal
  }
  let h = (e << 10) | (man >>> 13);
  const rem = man & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++; // a carry may reach the exponent, even Inf
  return sign | h;
}

/** The float32 bit pattern of the binary16 value with bit pattern `h` (exact: every fp16 is a float32). */
function f32BitsFromFp16(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let man = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (man << 13)) >>> 0;
  if (exp === 0) {
    if (man === 0) return sign >>> 0;
    let e = 1;
    while ((man & 0x400) === 0) {
      man <<= 1;
      e--;
    }
    return (sign | ((e + 112) << 23) | ((man & 0x3ff) << 13)) >>> 0;
  }
  return (sign | ((exp + 112) << 23) | (man << 13)) >>> 0;
}

/** The bfloat16 bit pattern nearest to the float32 with bit pattern `f` (round to nearest, ties to even). */
function bf16FromF32Bits(f: number): number {
  if ((f & 0x7f800000) === 0x7f800000 && (f & 0x7fffff) !== 0) return (f >>> 16) | 0x0040;
  // Adding 0x7fff plus the kept lowest bit rounds the dropped half-word to nearest even; below 2^32 always.
  return Math.floor(((f >>> 0) + 0x7fff + ((f >>> 16) & 1)) / 0x10000);
}

/** IEEE binary16 bit pattern (0..0xffff) of `x` rounded to nearest even; `x` is first taken as float32. */
export function fp16Bits(x: number): number {
  return fp16FromF32Bits(float32Bits(x));
}

/** The value of the IEEE binary16 bit pattern `h`. */
export function fp16FromBits(h: number): number {
  return float32FromBits(f32BitsFromFp16(h & 0xffff));
}

/** bfloat16 bit pattern (0..0xffff) of `x` rounded to nearest even; `x` is first taken as float32. */
export function bf16Bits(x: number): number {
  return bf16FromF32Bits(float32Bits(x));
}

/** The value of the bfloat16 bit pattern `h`. */
export function bf16FromBits(h: number): number {
  return float32FromBits((h & 0xffff) << 16);
}

/** A copy of `values` with every element rounded to fp16 and back (the JavaScript reference). */
export function roundArrayToFp16(values: Float32Array): Float32Array {
  const out = new Float32Array(values);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) bits[i] = f32BitsFromFp16(fp16FromF32Bits(bits[i]));
  return out;
}

/** A copy of `values` with every element rounded to bf16 and back (the JavaScript reference). */
export function roundArrayToBf16(values: Float32Array): Float32Array {
  const out = new Float32Array(values);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) bits[i] = (bf16FromF32Bits(bits[i]) << 16) >>> 0;
  return out;
}

/** A copy of `values` rounded to `precision` ("fp32" copies unchanged). */
export function roundArray(values: Float32Array, precision: Precision): Float32Array {
  checkPrecision(precision);
  if (precision === "fp16") return roundArrayToFp16(values);
  if (precision === "bf16") return roundArrayToBf16(values);
  return new Float32Array(values);
}

interface RoundingSpec {
  /** Veltkamp multiplier 2^(24 − p) + 1. */
  sigma: number;
  /** Smallest normal value of the format. */
  minNormal: number;
  /** 1.5 × 2^23 × the subnormal quantum: x + C lands where the float32 spacing is that quantum. */
  subnormalMagic: number;
}

function spec(format: HalfFormat): RoundingSpec {
  const f = FORMATS[format];
  return {
    sigma: 2 ** (23 - f.mantissaBits) + 1,
    minNormal: f.minNormal,
    subnormalMagic: 1.5 * 2 ** 23 * f.minSubnormal,
  };
}

const SPECS: Record<HalfFormat, RoundingSpec> = { fp16: spec("fp16"), bf16: spec("bf16") };
const F32_MAX = FORMATS.fp32.maxFinite;
const BIG = 2 ** 100;

/** Elementwise rounding of a float32 tensor to `format`, from float32 arithmetic alone (see the file comment). */
function roundTensor(x: tf.Tensor, format: HalfFormat): tf.Tensor {
  const s = SPECS[format];
  // Every branch below is a full tensor: tf.where with a broadcast scalar branch takes a slower path.
  return tf.tidy(() => {
    const a = tf.abs(x);
    // Veltkamp in the form γ − (γ − x), which also keeps the sign of a zero.
    const veltkamp = (v: tf.Tensor): tf.Tensor => {
      const gamma = tf.mul(v, tf.scalar(s.sigma));
      return tf.sub(gamma, tf.sub(gamma, v));
    };
    let hi: tf.Tensor;
    if (format === "fp16") {
      // Anything beyond ±2^17 overflows fp16 anyway; clamping there keeps σ·x finite (and turns ±Inf finite).
      hi = veltkamp(tf.clipByValue(x, -(2 ** 17), 2 ** 17));
      // Overflow without a comparison: ×2^112 sends exactly the values above fp16's max (65504) to ±Inf;
      // ×2^−112 brings the rest back unchanged.
      hi = tf.mul(tf.mul(hi, tf.scalar(2 ** 112)), tf.scalar(2 ** -112));
    } else {
      // bf16 spans float32's range: scale the top of it down by 2^64 so σ·x stays finite, and back after,
      // where rounding up past bf16's max becomes ±Inf by itself.
      const xc = tf.clipByValue(x, -F32_MAX, F32_MAX);
      const big = tf.greaterEqual(a, tf.scalar(BIG));
      const hiSafe = veltkamp(tf.where(big, tf.mul(xc, tf.scalar(2 ** -64)), xc));
      hi = tf.where(big, tf.mul(hiSafe, tf.scalar(2 ** 64)), hiSafe);
    }
    const magic = tf.scalar(s.subnormalMagic);
    const subRaw = tf.sub(tf.add(x, magic), magic);
    // Exact cancellation gives +0; x·0 is the zero with x's sign (−0 in, and negative underflow, give −0).
    const sub = tf.where(tf.equal(subRaw, tf.scalar(0)), tf.mul(x, tf.scalar(0)), subRaw);
    const rounded = tf.where(tf.less(a, tf.scalar(s.minNormal)), sub, hi);
    return tf.where(tf.isFinite(x), rounded, x);
  });
}

function checkFloat32(t: tf.Tensor, fn: string): void {
  if (!(t instanceof tf.Tensor)) throw new Error(`${fn}: the argument must be a tf.Tensor`);
  if (t.dtype !== "float32") {
    throw new Error(`${fn}: expected a float32 tensor, got ${t.dtype}; cast it with tf.cast(t, "float32") first`);
  }
}

// Straight-through: the rounding's true derivative is zero almost everywhere, useless for training.
function straightThrough(format: HalfFormat): (x: tf.Tensor) => tf.Tensor {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: roundTensor(args[0] as tf.Tensor, format),
    gradFunc: (dy: tf.Tensor) => tf.clone(dy),
  })) as (x: tf.Tensor) => tf.Tensor;
}

const STRAIGHT_THROUGH: Record<HalfFormat, (x: tf.Tensor) => tf.Tensor> = {
  fp16: straightThrough("fp16"),
  bf16: straightThrough("bf16"),
};

/** `t` rounded elementwise to fp16 (stored as float32); the gradient passes straight through. */
export function roundToFp16<T extends tf.Tensor>(t: T): T {
  checkFloat32(t, "roundToFp16");
  return STRAIGHT_THROUGH.fp16(t) as T;
}

/** `t` rounded elementwise to bf16 (stored as float32); the gradient passes straight through. */
export function roundToBf16<T extends tf.Tensor>(t: T): T {
  checkFloat32(t, "roundToBf16");
  return STRAIGHT_THROUGH.bf16(t) as T;
}

/** `t` rounded to `precision` with a straight-through gradient; "fp32" returns a clone. */
export function roundTo<T extends tf.Tensor>(t: T, precision: Precision): T {
  checkPrecision(precision);
  if (precision === "fp16") return roundToFp16(t);
  if (precision === "bf16") return roundToBf16(t);
  checkFloat32(t, "roundTo");
  return tf.clone(t);
}
