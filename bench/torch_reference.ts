/** Running the PyTorch reference scripts of the benchmarks (Debian's torch, never needed by the library or tests). */
import { execFileSync } from "child_process";
import * as path from "path";

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
  // Without libopenblas0-pthread torch falls back to reference BLAS and runs ~10× slower.
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

/**
 * Runs bench/`script` with `args` on `threads` threads and returns its `key=value` output lines as a map. The
 * thread count goes into the environment too: Debian's torch 1.13 leaves OpenBLAS's own thread pool at one
 * thread per core whatever torch.set_num_threads says (measured: a "1-thread" 1024³ matmul kept 2 cores busy).
 */
export function runTorchScript(script: string, args: string[], threads: number): Map<string, string> {
  const file = path.resolve(__dirname, "..", "..", "bench", script);
  const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  const out = execFileSync(PYTHON, [file, ...args, String(threads)], { encoding: "utf8", env, maxBuffer: 64 * 1024 * 1024 });
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
