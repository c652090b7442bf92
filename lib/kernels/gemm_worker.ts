/**
 * A worker thread of lib/kernels/gemm_pool.ts: instantiates the matmul kernels on the shared wasm memory, reports
 * ready, then runs its share of every job it is woken for.
 */
import { workerData } from "worker_threads";
import { Control, GemmWorkerData, Job, Scratch, instantiateGemm, runShare, scratchSlot } from "./wasm_gemm";

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
