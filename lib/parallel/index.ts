/** Data-parallel training on worker threads: sharding, the all-reduce, the trainer and its checkpoints. */
export { causalLmExample, supervisedTokens, countSupervisedTokens, shardBySupervisedTokens, splitIntoMicroBatches } from "./sharding";
export type { LmExample, Shard } from "./sharding";
export { collateLmExamples, lmTokenSumLoss } from "./lm_loss";
export { sumInOrder, sumInOrderInPlace, flatNorm, allFinite, scaleInPlace, clipFlatInPlace, ringAllReduce } from "./allreduce";
export type { RingTransfer, RingAllReduceResult } from "./allreduce";
export { paramLayout, flattenTensors, flattenData, unflatten } from "./flat_params";
export type { ParamLayout } from "./flat_params";
export { WorkerPool, WorkerFailure, WORKER_ENTRY } from "./worker_pool";
export type { FaultInjection } from "./messages";
export { DataParallelTrainer } from "./data_parallel_trainer";
export type {
  DataParallelOptions, DataParallelStepLog, DataParallelTrainOptions, DataParallelRunResult, DataParallelTrainingArguments,
} from "./data_parallel_trainer";
export { DATA_PARALLEL_FILES, readDataParallelCheckpoint, writeDataParallelCheckpoint } from "./checkpoint";
export type { DataParallelCheckpoint, DataParallelTrainerState } from "./checkpoint";
