/**
 * Runs lib/kernels/wasm_gemm.ts products on several threads. Each extra thread is a worker_threads Worker with its
 * own instance of the kernels on the same shared WebAssembly memory (the threaded tfjs build's), so it reads and
 * writes tensors in place. Jobs go through a small shared Int32Array: the main thread writes the job, wakes the
 * workers with Atomics.notify, does its own share, and waits for theirs. Workers do not keep Node alive.
 */
import * as path from "path";
import { Worker } from "worker_threads";
import { WasmMemory } from "./wasm_assembler";
import { Control, GemmExports, GemmWorkerData, Job, Scratch, instantiateGemm, runShare, scratchBytes, scratchSlot } from "./wasm_gemm";
import { WasmBackendInternals, wasmMemoryOf } from "./wasm_heap";
import { wasmThreads } from "./wasm_threads";

/** A heap allocator of the wasm module (tfjs's malloc/free). */
export interface WasmAllocator {
  malloc(bytes: number): number;
  free(pointer: number): void;
}

/** A wait this long for the other threads means one of them is gone: the product fails rather than hangs. */
const WAIT_LIMIT_MS = 120_000;

export class GemmPool {
  private readonly control: Int32Array;
  /** Bytes of B-packing scratch each thread has now. */
  private packBCapacity = 0;
  /** What malloc returned for each thread's B-packing buffer (the slot holds it rounded up to 16 bytes). */
  private readonly packBAllocations: number[] = [];

  /** A pool of `threads` threads (the caller's plus threads − 1 workers) on `memory` (shared when threads > 1). */
  constructor(
    private readonly kernels: GemmExports,
    memory: WasmMemory,
    readonly threads: number,
    private readonly heap: WasmAllocator,
  ) {
    this.control = new Int32Array(new SharedArrayBuffer(4 * (Control.scratch + threads * Scratch.size)));
    const fixed = scratchBytes(0);
    for (let t = 0; t < threads; t++) {
      const slot = scratchSlot(t);
      this.control[slot + Scratch.packA] = aligned(this.allocate(fixed.packA));
      this.control[slot + Scratch.tile] = aligned(this.allocate(fixed.tile));
    }
    for (let t = 1; t < threads; t++) {
      const data: GemmWorkerData = { memory, control: this.control.buffer as SharedArrayBuffer, thread: t };
      const worker = new Worker(path.join(__dirname, "gemm_worker.js"), { workerData: data });
      worker.unref();
      // A worker that fails to start never reports ready, so the pool keeps running products on one thread.
      worker.on("error", () => undefined);
    }
  }

  /** Whether every worker is up (until then products run on the calling thread alone). */
  get ready(): boolean {
    return Atomics.load(this.control, Control.ready) === this.threads - 1;
  }

  /** The job block to fill before `run` (see Job in wasm_gemm.ts). */
  get job(): Int32Array {
    return this.control.subarray(Control.job, Control.job + Job.size);
  }

  /** Runs the job in `job` on `threads` threads (1 = here only); blocks until it is done. */
  run(threads: number): void {
    this.reserve(this.job[Job.n]);
    const parallel = threads > 1 && this.ready ? Math.min(threads, this.threads) : 1;
    this.job[Job.threads] = parallel;
    if (parallel > 1) {
      Atomics.store(this.control, Control.done, 0);
      Atomics.store(this.control, Control.failed, 0);
      Atomics.add(this.control, Control.seq, 1);
      Atomics.notify(this.control, Control.seq);
    }
    let failure: unknown = null;
    try {
      runShare(this.kernels, this.job, this.scratchOf(0), 0);
    } catch (e) {
      failure = e; // rethrown once the workers are done with this job, so that none is still writing into the next
    }
    if (parallel === 1) {
      if (failure !== null) throw failure;
      return;
    }
    // Workers beyond `parallel` see a share they are not part of and report done at once.
    const others = this.threads - 1;
    for (;;) {
      const done = Atomics.load(this.control, Control.done);
      if (done >= others) break;
      if (Atomics.wait(this.control, Control.done, done, WAIT_LIMIT_MS) === "timed-out") {
        throw new Error(`a matmul worker thread stopped responding; set LLAMALAB_WASM_THREADS=1 to run on one thread`);
      }
    }
    if (failure !== null) throw failure;
    if (Atomics.load(this.control, Control.failed) !== 0) throw new Error("a matmul worker thread failed (out-of-range operand?)");
  }

  private scratchOf(thread: number): Int32Array {
    return this.control.subarray(scratchSlot(thread), scratchSlot(thread) + Scratch.size);
  }

  /** Makes each thread's B-packing buffer big enough for products with `n` columns. */
  private reserve(n: number): void {
    const bytes = scratchBytes(n).packB;
    if (bytes <= this.packBCapacity) return;
    const capacity = Math.max(bytes, 2 * this.packBCapacity);
    for (let t = 0; t < this.threads; t++) {
      if (this.packBAllocations[t] !== undefined) this.heap.free(this.packBAllocations[t]);
      this.packBAllocations[t] = this.allocate(capacity);
      this.control[scratchSlot(t) + Scratch.packB] = aligned(this.packBAllocations[t]);
    }
    this.packBCapacity = capacity;
  }

  private allocate(bytes: number): number {
    const pointer = this.heap.malloc(bytes + 16);
    if (pointer === 0) throw new Error(`wasm memory is full: could not allocate ${bytes} bytes of matmul scratch`);
    return pointer;
  }
}

/** 16-byte aligned, for vector loads (allocations get 16 bytes extra). */
const aligned = (pointer: number): number => (pointer + 15) & ~15;

const pools = new WeakMap<object, GemmPool | null>();

/**
 * The backend's matmul pool, made on first use with as many threads as the backend has (one unless its memory
 * is shared); null when the kernels cannot run here (an engine without relaxed SIMD, or unknown internals).
 */
export function gemmPoolFor(be: WasmBackendInternals): GemmPool | null {
  let pool = pools.get(be);
  if (pool !== undefined) return pool;
  pool = null;
  const found = wasmMemoryOf(be);
  const { _malloc: malloc, _free: free } = be.wasm;
  if (found !== null && malloc !== undefined && free !== undefined) {
    const kernels = instantiateGemm(found.memory, found.shared);
    if (kernels !== null) pool = new GemmPool(kernels, found.memory, found.shared ? wasmThreads() ?? 1 : 1, { malloc, free });
  }
  pools.set(be, pool);
  return pool;
}
