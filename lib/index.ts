/**
 * Llama Lab: a Llama training library for notebooks. Preloaded as `llama` in the Llama Lab kernel.
 */
export { initBackend, backendName, BACKEND_ENV } from "./backend";
export { wasmThreads, wasmThreadsLabel, WASM_THREADS_ENV } from "./kernels/wasm_threads";
export type { BackendName } from "./backend";
export { Random } from "./random";
export { requestInterrupt, interruptRequested, clearInterrupt } from "./interrupt";
export { OWNS_TENSORS, ownsTensors } from "./ownership";
export { display, DisplayHandle, setDisplaySink } from "./display/sink";
export type { MimeBundle, DisplaySink } from "./display/sink";
export { plot, plotlyBundle, lineChart, barChart, PLOTLY_MIME } from "./display/plotly";
export type { Figure, Series } from "./display/plotly";
export { svgLineChart } from "./display/svg_chart";
export { TrainingProgress, formatDuration } from "./display/progress";
export { showTable, tableBundle } from "./display/table";
export { mobyDick } from "./datasets/moby_dick";
export type { Document } from "./datasets/moby_dick";

export { ByteLevelBPETokenizer, DEFAULT_SPECIAL_TOKENS, SPECIAL_ROLES } from "./tokenizer/bpe";
export type { BPETrainOptions, EncodeOptions, DecodeOptions, ByteLevelBPEJSON, SpecialIds, SpecialRole, SpecialTokens } from "./tokenizer/bpe";

export { splitSentences } from "./data/sentences";
export { maskTokensForMlm, specialIdPredicate } from "./data/mlm";
export type { MlmMaskingOptions, SpecialIdSet } from "./data/mlm";
export { makeNspPairs } from "./data/nsp";
export type { NspPair, NspOptions } from "./data/nsp";
export { padBatch, toTensors, batches, batchIndices } from "./data/batch";
export type { PaddedBatch, BatchTensors } from "./data/batch";
export { buildPretrainingExamples, collatePretrainingBatch } from "./data/pretraining";
export type { PretrainingExample, PretrainingBatch, BertSpecialIds } from "./data/pretraining";

export { AdamW, decayMatricesOnly } from "./train/adamw";
export type { AdamWOptions, AdamWState, LearningRate } from "./train/adamw";
export { clipGradNorm, globalNorm } from "./train/clip";
export { maskedCrossEntropy, crossEntropy, IGNORE_INDEX } from "./train/losses";
export { NonFiniteGradientError, trainSteps } from "./train/loop";
export type { StepLog, LossOutput, TrainStepsOptions } from "./train/loop";

export * from "./model";
export * as openness from "./openness";
export { tensorBundle } from "./display/tensor_view";
export { configBundle } from "./display/config_view";
export { modelSummaryBundle, modelSummaryRows } from "./display/model_summary";
export type { Summarizable } from "./display/model_summary";
export { tokensBundle, showTokens } from "./display/token_view";
export { attentionHeatmapBundle, showAttention } from "./display/attention_heatmap";
export * from "./trainer";
export { parseCsv, csvRecords } from "./datasets/csv";
export { LabelMap, loadCsv, loadJsonl, textDatasetFromRecords, classBalance } from "./datasets/text_dataset";
export type { LabeledText, TextDataset, TextColumns, ClassCount } from "./datasets/text_dataset";
export { stratifiedSplit } from "./datasets/splits";
export type { SplitFractions, Splits } from "./datasets/splits";

export { savePretrained, fromPretrained, loadPretrainedWeights, tokenizerFromPretrained, stateDict, loadStateDict, PRETRAINED_FILES } from "./io/pretrained";
export type { ConfiguredModule, SavePretrainedOptions, LoadWeightsOptions } from "./io/pretrained";
export { SafetensorsFile, loadSafetensors, saveSafetensors, encodeSafetensors, recogniseNonSafetensors, SAFETENSORS_DTYPE_BYTES, MAX_HEADER_BYTES } from "./io/safetensors";
export type { Float32Tensor, SafetensorsEntry } from "./io/safetensors";
export { readConfigJson, writeConfigJson, configFromHfJson } from "./io/config_json";
export type { ConfigFileInfo } from "./io/config_json";
export { importLlama2c, exportLlama2c, readLlama2cHeader, permuteRotaryRows, configFromLlama2cHeader, llama2cIncompatibility, LLAMA2C_MAGIC } from "./io/llama2c";
export type { Llama2cHeader } from "./io/llama2c";
export { writeFileAtomic, replaceDirAtomic } from "./io/atomic";
export { spamAssassin, parseEmail } from "./datasets/spam_assassin";
export type { Email } from "./datasets/spam_assassin";

export { generate } from "./generate/generate";
export type { GenerateOptions, GenerateResult, FinishReason } from "./generate/generate";
export { KVCache } from "./generate/kv_cache";
export { sampleToken, samplingDistribution, argMax, checkSamplingOptions } from "./generate/sampling";
export type { SamplingOptions } from "./generate/sampling";
export { TextStream, generateText } from "./generate/stream";
export type { TextCodec } from "./generate/stream";
export { HFTokenizer } from "./tokenizer/hf_tokenizer";
export type { AddedToken } from "./tokenizer/hf_tokenizer";
export { heatmap } from "./display/plotly";
export * from "./precision";
export * from "./parallel";
export { installWasmMatMul } from "./kernels/wasm_matmul";
export { installWasmKernels } from "./kernels/install";
