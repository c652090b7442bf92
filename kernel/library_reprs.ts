import * as tf from "@tensorflow/tfjs";
import * as llama from "../lib";
import { registerRepr } from "./rich_display";

/** Registers the rich reprs of the library's objects: tensors, configs and models (modules). */
export function installLibraryReprs(): void {
  registerRepr((v) => (v instanceof llama.Module ? llama.modelSummaryBundle(v) : undefined));
  registerRepr((v) => (v instanceof llama.LlamaConfig ? llama.configBundle(v) : undefined));
  registerRepr((v) => (v instanceof tf.Tensor ? llama.tensorBundle(v) : undefined));
}
