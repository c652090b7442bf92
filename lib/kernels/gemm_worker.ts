/**
 * A worker thread of lib/kernels/gemm_pool.ts: instantiates the matmul kernels on the shared wasm memory, reports
 * ready, then runs its share of every job it is woken for.
 */
import * as v8 from "v8";
import { workerData } from "worker_threads";
import { Control, GemmWorkerData, scratchSlot } from "./gemm_pool";
import { Job, Scratch, instantiateGemm, runShare } from "./wasm_gemm";

v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
const { memory, control, thread } = workerData as GemmWorkerData;
const ctl = new Int32Array(control);
const kernels = instantiateGemm(memory, true);
if (kernels !== null) {
  const job = ctl.subarray(Control.job, Control.job + Job.size);
  const scratch = ctl.subarray(scratchSlot(thread), scratchSlot(thread) + Scratch.size);
  let seen = Atomics.load(ctl, Control.seq);
  Atomics.add(ctl, Control.ready, 1);
  for (;;) {
    Atomics.wait(ctl, Control.seq, seen);
    seen = Atomics.load(ctl, Control.seq);
    try {
      if (thread < job[Job.threads]) runShare(kernels, job, scratch, thread);
    } catch {
      Atomics.store(ctl, Control.failed, 1);
    }
    Atomics.add(ctl, Control.done, 1);
    Atomics.notify(ctl, Control.done);
  }
}
