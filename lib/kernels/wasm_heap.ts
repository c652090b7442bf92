/**
 * Direct access to tensors of the wasm backend: each float32 tensor is a range of the WebAssembly memory, which
 * JavaScript can read and write as a Float32Array, and our own kernels (wasm_gemm.ts, wasm_adamw.ts) can work on
 * in place. Everything here checks the backend's shape first and returns null when it is not what
 * tfjs-backend-wasm 4.22 looks like, so callers fall back to tfjs's own kernels.
 */
import * as tf from "@tensorflow/tfjs";
import { WasmMemory } from "./wasm_assembler";

/** The parts of tfjs-backend-wasm's BackendWasm (4.22) our kernels use. */
export interface WasmBackendInternals {
  dataIdMap: {
    get(dataId: tf.DataId): { id: number; memoryOffset: number | null } | undefined;
    has(dataId: tf.DataId): boolean;
  };
  dataIdNextNumber: number;
  wasm: {
    cwrap(name: string, ret: null, args: string[]): (...args: unknown[]) => void;
    tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
    HEAPF32: Float32Array;
    /** Present in the threaded build, whose memory is a growable SharedArrayBuffer. */
    wasmMemory?: WasmMemory;
    /** The single-threaded build's exports, which include its memory. */
    asm?: { memory?: WasmMemory };
    _malloc?: (bytes: number) => number;
    _free?: (pointer: number) => void;
  };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: tf.DataId): boolean;
}

/** The backend's internals if it is tfjs-backend-wasm as we know it, else null. */
export function wasmInternals(backend: unknown): WasmBackendInternals | null {
  const b = backend as Partial<WasmBackendInternals> | null;
  const ok =
    b != null && b.dataIdMap != null && typeof b.dataIdNextNumber === "number" && typeof b.makeOutput === "function" &&
    typeof b.wasm?.cwrap === "function" && typeof b.wasm.tfjs?.registerTensor === "function" &&
    typeof b.wasm.tfjs?.disposeData === "function" && b.wasm.HEAPF32 instanceof Float32Array;
  return ok ? (b as WasmBackendInternals) : null;
}

/** The whole WebAssembly memory as floats (fresh view: the memory may have grown since the last call). */
function heap(be: WasmBackendInternals): Float32Array {
  const buffer = be.wasm.wasmMemory?.buffer ?? be.wasm.HEAPF32.buffer;
  return new Float32Array(buffer);
}

/** Byte offset of a float32 tensor's data in wasm memory, or null if it has none there. */
export function offsetOf(be: WasmBackendInternals, t: tf.TensorInfo): number | null {
  return t.dtype === "float32" ? be.dataIdMap.get(t.dataId)?.memoryOffset ?? null : null;
}

/** A float32 tensor's data as a view into wasm memory (no copy), or null if it has none there. */
export function viewOf(be: WasmBackendInternals, t: tf.TensorInfo): Float32Array | null {
  const offset = offsetOf(be, t);
  if (offset === null) return null;
  const size = t.shape.reduce((a, b) => a * b, 1);
  return heap(be).subarray(offset / 4, offset / 4 + size);
}

/** The backend's WebAssembly memory and whether it is shared between threads, or null if it is not reachable. */
export function wasmMemoryOf(be: WasmBackendInternals): { memory: WasmMemory; shared: boolean } | null {
  const memory = be.wasm.wasmMemory ?? be.wasm.asm?.memory;
  if (memory === undefined || memory.buffer !== be.wasm.HEAPF32.buffer) return null;
  return { memory, shared: typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer };
}
