/** Fine-tuning: the Trainer, its arguments, schedules, metrics, callbacks, early stopping and checkpoints. */
export * from "./schedules";
export * from "./metrics";
export * from "./early_stopping";
export * from "./callbacks";
export * from "./checkpoint";
export * from "./training_arguments";
export * from "./trainer";
