/**
 * Multi-threaded wasm in Node. tfjs-backend-wasm 4.22 ships a threaded SIMD build (XNNPACK with a pthread pool)
 * but never picks it in Node: its flag WASM_HAS_MULTITHREAD_SUPPORT is hard-wired to false there, because the
 * Emscripten glue starts its pthread workers from Blob URLs, which Node's worker_threads cannot load. This module
 * bridges exactly that gap, for the duration of `tf.setBackend("wasm")`:
 *
 * - the glue's `new Worker(blobUrl)` gets a worker_threads Worker running the same worker script (shipped in the
 *   package as wasm-out/…worker.js), and the script it is told to load is the package's own copy of the glue;
 * - running pthreads do not keep Node alive (the pool only ever works while the main thread waits for it), so a
 *   script or a kernel still exits when its work is done;
 * - the C side caps the pool at "logical cores / 2" (it assumes hyper-threading); os.cpus() is made to report
 *   2 × the wanted count while the module starts, then restored.
 *
 * XNNPACK's operators then run on all threads, and the threaded build's memory is a SharedArrayBuffer, which is
 * what lets Llama Lab's own matmul kernels (gemm_pool.ts) split products over worker threads of their own. Each
 * output element is still summed by one thread in the same order, so results do not depend on the thread count
 * (tested).
 */
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { Worker as NodeWorker, isMainThread } from "worker_threads";

/** Environment variable: number of wasm threads (1 = the single-threaded build, as before). */
export const WASM_THREADS_ENV = "LLAMALAB_WASM_THREADS";

/** tfjs-backend-wasm 4.22 pre-starts this many pthread workers; its thread pool never uses more. */
export const MAX_WASM_THREADS = 8;

/**
 * Threads the wasm backend should use: LLAMALAB_WASM_THREADS if set, else one per CPU core (at most 8) on the main
 * thread and 1 inside a worker thread (data-parallel workers already use one core each).
 */
export function wantedWasmThreads(): number {
  const raw = process.env[WASM_THREADS_ENV]?.trim();
  if (raw) {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > MAX_WASM_THREADS) {
      throw new Error(`${WASM_THREADS_ENV}=${raw}: give a whole number of threads from 1 to ${MAX_WASM_THREADS} (1 turns threads off).`);
    }
    return n;
  }
  return isMainThread ? Math.max(1, Math.min(os.cpus().length, MAX_WASM_THREADS)) : 1;
}

interface WasmPackage {
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
}

/** Files of the threaded build inside the tfjs-backend-wasm package. */
function threadedBuild(): { glue: string; workerSource: string } {
  const glue = require.resolve("@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js");
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const contents: unknown = require(path.join(path.dirname(glue), "tfjs-backend-wasm-threaded-simd.worker.js")).wasmWorkerContents;
  if (typeof contents !== "string") throw new Error("tfjs-backend-wasm's threaded worker script was not found");
  // The script is a template literal meant for a Blob: its "\n" escapes became real newlines inside JS strings.
  return { glue, workerSource: contents.replace(/\n/g, "\\n") };
}

/**
 * Starts the wasm backend with `threads` threads (`start` is the caller's `tf.setBackend("wasm")`), or with the
 * plain single-threaded build when `threads` is 1. Resolves to what `start` resolved to; rejects with advice if a
 * pthread worker fails to start.
 */
export async function startWasmWithThreads<T>(threads: number, start: () => Promise<T>): Promise<T> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const wasm = require("@tensorflow/tfjs-backend-wasm") as WasmPackage;
  if (threads <= 1) {
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    return start();
  }
  const { glue, workerSource } = threadedBuild();
  let fail: (e: Error) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => undefined);

  class PthreadWorker extends NodeWorker {
    constructor() {
      super(workerSource, { eval: true });
    }
    // The glue refs a worker while it runs a pthread; pool threads idle forever, so that would keep Node alive.
    override ref(): void {}
    override postMessage(message: unknown, transfer?: readonly (ArrayBuffer | import("worker_threads").MessagePort)[]): void {
      const m = message as { cmd?: string; urlOrBlob?: unknown } | null;
      if (m?.cmd === "load" && typeof m.urlOrBlob !== "string") message = { ...m, urlOrBlob: glue };
      super.postMessage(message, transfer as never);
    }
    // The glue rethrows a worker's error from its handler, which would crash the process: reject instead.
    override on(event: string | symbol, listener: (...args: any[]) => void): this {
      if (event !== "error") return super.on(event, listener);
      return super.on("error", (e: Error) => fail(new Error(`a wasm pthread worker failed: ${e?.message ?? e}`)));
    }
  }

  const g = globalThis as { Worker?: unknown };
  const hadWorker = Object.getOwnPropertyDescriptor(g, "Worker");
  // The glue assigns Worker = worker_threads.Worker before starting its pool; keep ours in place instead.
  Object.defineProperty(g, "Worker", { configurable: true, get: () => PthreadWorker, set: () => undefined });
  // The module object itself (an `import * as` namespace is read-only): the glue calls require("os").cpus().
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const osModule = require("os") as { cpus: () => os.CpuInfo[] };
  const cpus = osModule.cpus;
  const cores = cpus();
  osModule.cpus = () => Array.from({ length: 2 * threads }, (_, i) => cores[i % cores.length]);
  wasm.setThreadsCount(threads);
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
  try {
    return await Promise.race([start(), failed]);
  } catch (e) {
    throw new Error(
      `the wasm backend could not start ${threads} threads (${(e as Error).message}). ` +
        `Set ${WASM_THREADS_ENV}=1 to run it on one thread.`,
    );
  } finally {
    osModule.cpus = cpus;
    if (hadWorker) Object.defineProperty(g, "Worker", hadWorker);
    else delete g.Worker;
  }
}

/** Threads the running wasm backend uses (1 for the single-threaded build); undefined before it started. */
export function wasmThreads(): number | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const n = (require("@tensorflow/tfjs-backend-wasm") as WasmPackage).getThreadsCount();
    return n > 0 ? n : 1;
  } catch {
    return undefined;
  }
}

/** "2 threads" or "1 thread" for the running wasm backend; null before it started. */
export function wasmThreadsLabel(): string | null {
  const n = wasmThreads();
  return n === undefined ? null : `${n} thread${n === 1 ? "" : "s"}`;
}
