import { installWasmIdentity } from "./wasm_identity";
import { installWasmMatMul } from "./wasm_matmul";

/**
 * Installs Llama Lab's replacements for slow tfjs-backend-wasm kernels (matmul, on our own FMA kernels; copying
 * Identity). A no-op unless wasm is the active backend; returns whether they are in place.
 */
export function installWasmKernels(): boolean {
  const matMul = installWasmMatMul();
  const identity = installWasmIdentity();
  return matMul && identity;
}
