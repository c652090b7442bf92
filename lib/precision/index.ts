/** Mixed precision on float32 storage: 16-bit rounding, autocast policy, dynamic loss scaling, memory accounting. */
export { FORMATS, checkPrecision } from "./formats";
export type { HalfFormat, Precision, FormatInfo } from "./formats";
export {
  roundToFp16,
  roundToBf16,
  roundTo,
  roundArrayToFp16,
  roundArrayToBf16,
  roundArray,
  fp16Bits,
  fp16FromBits,
  bf16Bits,
  bf16FromBits,
  float32Bits,
  float32FromBits,
} from "./rounding";
export { DynamicLossScaler } from "./loss_scaler";
export type { LossScalerOptions, LossScalerState, UnscaleResult } from "./loss_scaler";
export { memoryEstimate, countParameters, activationElementsPerTokenPerLayer } from "./memory";
export type { MemoryConfig, MemoryOptions, MemoryEstimate, MemoryBytes, ParameterCount } from "./memory";
export { autocastPolicy, castTo, autocastMatMul, autocastLinear } from "./autocast";
export type { AutocastPolicy } from "./autocast";
export { withAutocast, autocastPrecision, matMulUnderAutocast } from "./autocast_context";
export { unscaleOrSkip, mixedPrecisionGradFn, SCALED_STEP_METRICS } from "./scaled_step";
export type { MixedPrecisionGradFnOptions } from "./scaled_step";
export { gradientUnderflow, countCastUnderflow } from "./gradient_underflow";
export type { GradientUnderflow, UnderflowCount } from "./gradient_underflow";
