/** The Llama model family: config, components, base model and task heads. */
export * from "./config";
export * from "./module";
export * from "./embedding";
export * from "./rmsnorm";
export * from "./rope";
export * from "./mask";
export * from "./attention";
export * from "./mlp";
export * from "./block";
export * from "./llama";
export * from "./causal_lm";
export * from "./masked_lm";
export * from "./pretraining";
export * from "./sequence_classification";
export * from "./token_classification";
