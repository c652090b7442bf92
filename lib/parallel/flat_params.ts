/**
 * The flat layout of a model's parameters (and of their gradients and optimizer moments): every tensor, in
 * `namedParameters()` order, laid end to end in one Float32Array. Workers exchange these buffers, because one
 * transferable buffer per message costs far less than one message per tensor.
 */
import * as tf from "@tensorflow/tfjs";
import { Float32Tensor } from "../io/safetensors";

/** Where each named tensor lives in a flat buffer. */
export interface ParamLayout {
  names: string[];
  shapes: number[][];
  /** Start of each tensor in the flat buffer (elements, not bytes). */
  offsets: number[];
  /** Total elements. */
  size: number;
}

/** The layout of `params` ([name, variable] pairs, as Module.namedParameters() returns them). */
export function paramLayout(params: readonly (readonly [string, { shape: readonly number[] }])[]): ParamLayout {
  const names: string[] = [];
  const shapes: number[][] = [];
  const offsets: number[] = [];
  let size = 0;
  for (const [name, v] of params) {
    names.push(name);
    shapes.push([...v.shape]);
    offsets.push(size);
    size += v.shape.reduce((a, b) => a * b, 1);
  }
  return { names, shapes, offsets, size };
}

function sizeOf(layout: ParamLayout, i: number): number {
  return (i + 1 < layout.offsets.length ? layout.offsets[i + 1] : layout.size) - layout.offsets[i];
}

/** Copies tensors (by layout name; missing ones read as zeros) into one new flat buffer. */
export function flattenTensors(layout: ParamLayout, tensors: Readonly<Record<string, tf.Tensor | undefined>>): Float32Array {
  const out = new Float32Array(layout.size);
  layout.names.forEach((name, i) => {
    const t = tensors[name];
    if (t !== undefined) out.set(t.dataSync() as Float32Array, layout.offsets[i]);
  });
  return out;
}

/** Views of a flat buffer as named tensors in plain data (no copy). */
export function unflatten(layout: ParamLayout, flat: Float32Array): Map<string, Float32Tensor> {
  if (flat.length !== layout.size) {
    throw new Error(`unflatten: buffer has ${flat.length} values but the layout needs ${layout.size}`);
  }
  return new Map(
    layout.names.map((name, i) => [
      name,
      { shape: layout.shapes[i], data: flat.subarray(layout.offsets[i], layout.offsets[i] + sizeOf(layout, i)) },
    ]),
  );
}

/** Lays named tensors (every layout name must be present with its shape) end to end in a new buffer. */
export function flattenData(layout: ParamLayout, tensors: ReadonlyMap<string, Float32Tensor>, what: string): Float32Array {
  const out = new Float32Array(layout.size);
  layout.names.forEach((name, i) => {
    const t = tensors.get(name);
    if (t === undefined) throw new Error(`${what}: no tensor named "${name}"`);
    if (!tf.util.arraysEqual(t.shape, layout.shapes[i])) {
      throw new Error(`${what}: "${name}" has shape [${t.shape}] but the model needs [${layout.shapes[i]}]`);
    }
    out.set(t.data, layout.offsets[i]);
  });
  return out;
}
