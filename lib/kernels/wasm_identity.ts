/**
 * Copy-free Identity and same-dtype Cast for the wasm backend. tfjs clones every tensor it keeps for a backward pass
 * (Engine.saveTensorsForBackwardMode → Identity), and its gradients cast operands to the dtype they already have
 * (e.g. Multiply's: mul(dy, cast(b, "float32"))). tfjs-backend-wasm 4.22 copies the data for both, where the cpu
 * and WebGL backends only add a reference. Tensors are immutable, so sharing the data is equivalent; per training
 * step of the 3.3M model this saves ~390 Identity copies (24–27 ms in tf.profile) and ~130 Cast copies (7–12 ms).
 */
import * as tf from "@tensorflow/tfjs";

let installed = false;

interface RefCounting {
  incRef(dataId: tf.DataId): void;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

/** Replaces a kernel with one that shares x's data when `same(x, attrs)`, else runs the original. */
function shareWhen(kernelName: string, same: (x: tf.TensorInfo, attrs: tf.NamedAttrMap) => boolean): void {
  const original = tf.getKernel(kernelName, "wasm")!.kernelFunc as (args: KernelArgs) => tf.TensorInfo;
  const kernelFunc = (args: KernelArgs): tf.TensorInfo => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const be = args.backend as Partial<RefCounting>;
    if (x.dtype === "string" || typeof be.incRef !== "function" || !same(x, args.attrs ?? {})) return original(args);
    be.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  tf.unregisterKernel(kernelName, "wasm");
  tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc: kernelFunc as tf.KernelFunc });
}

/**
 * Replaces the wasm backend's Identity and Cast kernels (Cast only where the dtype does not change), once. A no-op
 * unless wasm is active; returns whether they are in place.
 */
export function installWasmIdentity(): boolean {
  if (installed) return true;
  const backend = tf.getBackend() === "wasm" ? (tf.backend() as unknown as Partial<RefCounting>) : null;
  if (backend == null || typeof backend.incRef !== "function") return false;
  if (tf.getKernel(tf.Identity, "wasm") === undefined || tf.getKernel(tf.Cast, "wasm") === undefined) return false;
  shareWhen(tf.Identity, () => true);
  shareWhen(tf.Cast, (x, attrs) => attrs.dtype === x.dtype);
  installed = true;
  return true;
}
