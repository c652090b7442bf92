/** Running the PyTorch reference scripts of the benchmarks (Debian's torch, never needed by the library or tests). */
import { execFileSync } from "child_process";
import * as path from "path";
import { backendName } from "../lib/backend";
import { wasmThreadsLabel } from "../lib/kernels/wasm_threads";

/** Debian's python, which has python3-torch; the pyenv python3 first on PATH has no torch. */
export const PYTHON = "/usr/bin/python3";

/** Makes sure Debian's torch and the threaded OpenBLAS are installed (apt-get, through sudo when not root). */
export function ensureTorch(): void {
  const has = (pkg: string): boolean => {
    try {
      execFileSync("dpkg", ["-s", pkg], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  };
  // Without libopenblas0-pthread torch falls back to the reference BLAS, which is far slower.
  const missing = ["python3-torch", "libopenblas0-pthread"].filter((p) => !has(p));
  if (missing.length === 0) return;
  console.log(`installing ${missing.join(" ")} for the PyTorch reference`);
  const apt = (...args: string[]): void => {
    const [cmd, ...rest] = process.getuid?.() === 0 ? ["apt-get", ...args] : ["sudo", "apt-get", ...args];
    execFileSync(cmd, rest, { stdio: "inherit" });
  };
  apt("update");
  apt("install", "-y", "--no-install-recommends", ...missing);
}

/** How PyTorch spreads work over cores: its own intra-op threads and OpenBLAS's pool inside each matmul. */
export interface TorchThreads {
  /** torch.set_num_threads (and OMP_NUM_THREADS). */
  torch: number;
  /** OPENBLAS_NUM_THREADS. */
  blas: number;
}

/** The backend in use as the benchmarks print it, e.g. "wasm, 2 threads". */
export function backendLabel(): string {
  const name = backendName() ?? "none";
  const threads = name === "wasm" ? wasmThreadsLabel() : null;
  return threads === null ? name : `${name}, ${threads}`;
}

/** The run with the most tokens/s. */
export function fastest<T extends { tokensPerSec: number }>(runs: T[]): T {
  return runs.reduce((a, b) => (b.tokensPerSec > a.tokensPerSec ? b : a));
}

/** 1 torch thread and 1 BLAS thread: the single-core reference. */
export const ONE_THREAD: TorchThreads = { torch: 1, blas: 1 };

/**
 * The ways to give PyTorch `n` cores. Both are worth trying: on our 2-core VM, torch's own threads plus OpenBLAS's
 * made training slower than one thread (1,574–1,704 against 2,450–3,135 tok/s), while OpenBLAS alone on 2 threads was
 * fastest (3,050–4,518 tok/s): bench/torch_train.py on the 3.3M model, 2026-12-03 (docs/performance.md).
 */
export function allCores(n: number): TorchThreads[] {
  return [{ torch: n, blas: n }, { torch: 1, blas: n }];
}

/** "1 thread", or e.g. "2 threads (torch 1, OpenBLAS 2)". */
export function describeThreads(t: TorchThreads): string {
  return t.torch === 1 && t.blas === 1 ? "1 thread" : `${Math.max(t.torch, t.blas)} threads (torch ${t.torch}, OpenBLAS ${t.blas})`;
}

/**
 * Runs bench/`script` with `args` on the given threads and returns its `key=value` output lines as a map. The
 * thread counts go into the environment too: Debian's torch 1.13 leaves OpenBLAS's own thread pool at one
 * thread per core whatever torch.set_num_threads says (measured: a "1-thread" 1024³ matmul kept 2 cores busy).
 */
export function runTorchScript(script: string, args: string[], threads: TorchThreads): Map<string, string> {
  const file = path.resolve(__dirname, "..", "..", "bench", script);
  const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads.blas), OMP_NUM_THREADS: String(threads.torch) };
  const out = execFileSync(PYTHON, [file, ...args, String(threads.torch)], { encoding: "utf8", env, maxBuffer: 64 * 1024 * 1024 });
  const values = new Map<string, string>();
  for (const line of out.split("\n")) {
    const m = line.match(/^(\w+)=(.*)$/);
    if (m) values.set(m[1], m[2]);
  }
  return values;
}

/** The number printed as `key=…` by a reference script, or an Error naming the script and what it printed. */
export function numberFrom(values: Map<string, string>, key: string, script: string): number {
  const v = Number(values.get(key));
  if (!Number.isFinite(v)) throw new Error(`${script} printed no number for ${key}; it printed ${JSON.stringify([...values])}`);
  return v;
}
