/**
 * N worker threads running worker_main.js, with request/reply messaging, timeouts and failure detection. The
 * first failure of any kind — an error reply, an uncaught exception, a worker that exits, a reply that does not
 * come in time — breaks the pool: every worker is terminated and every pending request rejected with one error
 * that names the worker and the training step. Nothing waits forever.
 */
import { existsSync } from "fs";
import * as os from "os";
import * as path from "path";
import { Worker } from "worker_threads";
import { MAX_WASM_THREADS, WASM_THREADS_ENV } from "../kernels/wasm_threads";
import { Envelope, WorkerReply, WorkerRequest } from "./messages";

/** The compiled worker entry, beside this file in dist/lib/parallel/. */
export const WORKER_ENTRY = path.join(__dirname, "worker_main.js");

/** The error a broken pool rejects with; says which worker failed, at which step, and how. */
export class WorkerFailure extends Error {
  constructor(
    readonly worker: number,
    readonly step: number | null,
    readonly reason: string,
  ) {
    super(`data-parallel worker ${worker} failed${step === null ? " during set-up" : ` at step ${step}`}: ${reason}; all workers were stopped`);
    this.name = "WorkerFailure";
  }
}

interface Pending {
  worker: number;
  step: number | null;
  resolve: (reply: WorkerReply) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** A fixed set of worker threads, addressed by index 0..N−1. */
export class WorkerPool {
  private readonly workers: Worker[];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: WorkerFailure | null = null;
  private closing = false;

  /** Starts `count` workers; `timeoutMs` bounds every reply. */
  constructor(
    readonly count: number,
    private readonly timeoutMs: number,
  ) {
    if (!Number.isInteger(count) || count < 1) throw new Error(`WorkerPool: count must be a positive integer, got ${count}`);
    if (!existsSync(WORKER_ENTRY)) {
      throw new Error(`WorkerPool: ${WORKER_ENTRY} is missing; build the library first (npm run build)`);
    }
    this.workers = Array.from({ length: count }, (_, i) => this.spawn(i, count));
  }

  private spawn(index: number, count: number): Worker {
    // stdout/stderr are piped to ours; workers log nothing in normal operation.
    // Each worker's wasm backend gets its share of the cores (1 thread each with one worker per core).
    const threads = Math.max(1, Math.floor(Math.min(os.cpus().length, MAX_WASM_THREADS) / count));
    const worker = new Worker(WORKER_ENTRY, { env: { ...process.env, [WASM_THREADS_ENV]: String(threads) } });
    worker.on("message", (msg: Envelope<WorkerReply>) => this.onReply(index, msg));
    worker.on("error", (e: Error) => this.fail(index, `uncaught ${e.name}: ${e.message}`));
    worker.on("exit", (code: number) => {
      if (!this.closing) this.fail(index, `the worker thread exited with code ${code}`);
    });
    // An idle pool must not keep Node alive; a pending request's timer does while one is outstanding.
    worker.unref();
    return worker;
  }

  /** The step a worker is busy with (its oldest unanswered request), or null. */
  private stepOf(worker: number): number | null {
    for (const p of this.pending.values()) if (p.worker === worker) return p.step;
    return null;
  }

  private onReply(worker: number, msg: Envelope<WorkerReply>): void {
    const p = this.pending.get(msg.id);
    if (p === undefined) return;
    if (msg.body.type === "error") {
      this.fail(worker, msg.body.message, p.step);
      return;
    }
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    p.resolve(msg.body);
  }

  private fail(worker: number, cause: string, step: number | null = this.stepOf(worker)): void {
    if (this.failure !== null || this.closing) return;
    this.failure = new WorkerFailure(worker, step, cause);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(this.failure);
    }
    this.pending.clear();
    void this.terminate();
  }

  /** The failure that broke the pool, if any. */
  get failed(): WorkerFailure | null {
    return this.failure;
  }

  /** Sends `body` to worker `worker` and resolves with its reply; `step` labels errors. */
  request(
    worker: number,
    body: WorkerRequest,
    step: number | null,
    transfer: ArrayBuffer[] = [],
    timeoutMs = this.timeoutMs,
  ): Promise<WorkerReply> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new Error("WorkerPool: the pool was shut down; start a new trainer"));
    const id = this.nextId++;
    return new Promise<WorkerReply>((resolve, reject) => {
      const timer = setTimeout(
        () => this.fail(worker, `no reply to "${body.type}" within ${timeoutMs} ms (hung, or far too slow for stepTimeoutMs)`, step),
        timeoutMs,
      );
      this.pending.set(id, { worker, step, resolve, reject, timer });
      this.workers[worker].postMessage({ id, body } satisfies Envelope<WorkerRequest>, transfer);
    });
  }

  /** Sends one request to every worker (built per index) and waits for all replies, in index order. */
  all(
    make: (worker: number) => { body: WorkerRequest; transfer?: ArrayBuffer[] },
    step: number | null,
    timeoutMs = this.timeoutMs,
  ): Promise<WorkerReply[]> {
    const replies = this.workers.map((_, i) => {
      const { body, transfer } = make(i);
      return this.request(i, body, step, transfer, timeoutMs);
    });
    // Promise.all rejects on the first failure; the others were rejected with the same error by fail().
    return Promise.all(replies);
  }

  /** Terminates every worker (idempotent); pending requests are rejected. */
  async terminate(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error("WorkerPool: the pool was shut down while a request was pending"));
    }
    this.pending.clear();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
