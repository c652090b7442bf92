import * as tf from "@tensorflow/tfjs";
import { installWasmKernels } from "./kernels/install";
import { WASM_THREADS_ENV, startWasmWithThreads, wantedWasmThreads, wasmThreadsLabel } from "./kernels/wasm_threads";

/** The tensor backends Llama Lab can run on, fastest first. */
export type BackendName = "tensorflow-gpu" | "tensorflow" | "wasm" | "cpu";

/** Environment variable that forces a backend (`wasm`, `cpu`, `tensorflow`, `tensorflow-gpu`). */
export const BACKEND_ENV = "LLAMALAB_BACKEND";

/** Every backend, in the order {@link initBackend} tries them. */
const BACKENDS: BackendName[] = ["tensorflow-gpu", "tensorflow", "wasm", "cpu"];

const NATIVE_PACKAGES: Record<string, string> = {
  "tensorflow-gpu": "@tensorflow/tfjs-node-gpu",
  tensorflow: "@tensorflow/tfjs-node",
};

let chosen: Promise<BackendName> | undefined;

// Native packages register a backend named "tensorflow" (CUDA or CPU build) when required.
function tryNative(pkg: string): boolean {
  try {
    require(pkg);
    return tf.findBackend("tensorflow") !== null;
  } catch {
    return false;
  }
}

async function activate(name: string): Promise<boolean> {
  try {
    return (await tf.setBackend(name)) && tf.getBackend() === name;
  } catch {
    return false;
  }
}

async function choose(log: (line: string) => void): Promise<BackendName> {
  const forced = process.env[BACKEND_ENV]?.trim();
  if (forced && !BACKENDS.includes(forced as BackendName)) {
    throw new Error(`${BACKEND_ENV}=${forced} is not a backend Llama Lab knows; use one of: ${BACKENDS.join(", ")}.`);
  }
  const order = forced ? [forced as BackendName] : BACKENDS;
  for (const name of order) {
    let ok = false;
    if (name in NATIVE_PACKAGES) {
      ok = tryNative(NATIVE_PACKAGES[name]) && (await activate("tensorflow"));
    } else if (name === "wasm") {
      require("@tensorflow/tfjs-backend-wasm");
      const threads = wantedWasmThreads();
      ok = await startWasmWithThreads(threads, () => activate(name));
      if (!ok && threads > 1) {
        throw new Error(`the wasm backend did not start with ${threads} threads; set ${WASM_THREADS_ENV}=1 to run it on one thread.`);
      }
    } else {
      ok = await activate(name);
    }
    if (ok) {
      await tf.ready();
      // wasm's own matmul leaves XNNPACK's fast path for transposed or batched operands, and its Identity copies.
      if (name === "wasm") installWasmKernels();
      const threads = name === "wasm" ? ` (${wasmThreadsLabel()})` : "";
      log(`llamalab: using the ${name} backend${threads}${forced ? ` (forced by ${BACKEND_ENV})` : ""}`);
      return name;
    }
    if (forced) {
      throw new Error(
        `${BACKEND_ENV}=${forced}: that backend could not be loaded` +
          (name in NATIVE_PACKAGES ? ` (is ${NATIVE_PACKAGES[name]} installed?)` : "") +
          `. Unset ${BACKEND_ENV} to pick the best available backend.`,
      );
    }
  }
  throw new Error("no tfjs backend could be initialised");
}

/**
 * Picks the best backend present (CUDA, native CPU, wasm, then plain JS cpu), or the one named by
 * LLAMALAB_BACKEND, and prints the choice once. Safe to call many times.
 */
export function initBackend(log: (line: string) => void = (l) => console.log(l)): Promise<BackendName> {
  chosen ??= choose(log);
  return chosen;
}

/** The backend chosen by {@link initBackend}, or undefined before any backend was set. */
export function backendName(): string | undefined {
  return tf.getBackend() as string | undefined;
}
