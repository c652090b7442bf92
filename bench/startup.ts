import * as path from "path";
import { KernelClient, llamalabKernelArgv } from "../kernel/client";

/**
 * Cold start to first result: spawn the kernel, wait for kernel_info, execute `1 + 1`, stop the clock at its reply.
 * Measures the Llama Lab kernel (library and tf preloaded) and plain tslab in the same run, alternating, and prints
 * the median ratio as the last line: `kernel_cold_start_ratio_vs_tslab=…`.
 */
async function coldStartMs(argv: string[]): Promise<number> {
  const t0 = performance.now();
  const kernel = await KernelClient.start(argv);
  const r = await kernel.execute("1 + 1");
  const ms = performance.now() - t0;
  await kernel.shutdown();
  if (r.reply.status !== "ok") throw new Error(`the first cell failed: ${JSON.stringify(r.reply)}`);
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const tslab = [process.execPath, path.resolve(__dirname, "..", "..", "node_modules", "tslab", "bin", "tslab"), "kernel", "--config-path", "{connection_file}"];
  const ours: number[] = [], plain: number[] = [];
  for (let i = 0; i < runs; i++) {
    plain.push(await coldStartMs(tslab));
    ours.push(await coldStartMs(llamalabKernelArgv()));
    console.log(`run ${i + 1}: tslab ${plain[i].toFixed(0)} ms, llamalab ${ours[i].toFixed(0)} ms`);
  }
  console.log(`tslab_cold_start_ms=${median(plain).toFixed(0)}`);
  console.log(`llamalab_cold_start_ms=${median(ours).toFixed(0)}`);
  console.log(`kernel_cold_start_ratio_vs_tslab=${(median(ours) / median(plain)).toFixed(2)}`);
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
