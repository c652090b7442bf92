/**
 * A small WebAssembly binary writer: just enough to build Llama Lab's own SIMD kernels (lib/kernels/wasm_gemm.ts)
 * as bytes at run time, so no compiler toolchain or prebuilt binary is needed. A module imports one memory
 * (the tfjs wasm backend's, so kernels work on tensors in place) and exports functions of i32 parameters.
 * Opcodes are from the WebAssembly core spec 2.0 and its SIMD and relaxed-SIMD extensions.
 */

/** Value types. */
export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;
export type ValueType = typeof I32 | typeof F32 | typeof V128;

/** Unsigned LEB128. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer. */
function sleb(n: number): number[] {
  const out: number[] = [];
  n |= 0;
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const utf8 = (s: string): number[] => [...Buffer.from(s, "utf8")];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

/** One function's body, written instruction by instruction (a stack machine: operands first, then the op). */
export class FunctionBuilder {
  private readonly bytes: number[] = [];
  private readonly localTypes: ValueType[] = [];

  /** Parameters are locals 0 … params-1, all i32. */
  constructor(readonly name: string, readonly params: number) {}

  /** A new local of `type`; returns its index. Locals start at zero. */
  local(type: ValueType): number {
    this.localTypes.push(type);
    return this.params + this.localTypes.length - 1;
  }

  get(i: number): this { return this.op(0x20, ...uleb(i)); }
  set(i: number): this { return this.op(0x21, ...uleb(i)); }
  tee(i: number): this { return this.op(0x22, ...uleb(i)); }
  i32(c: number): this { return this.op(0x41, ...sleb(c)); }
  add(): this { return this.op(0x6a); }
  sub(): this { return this.op(0x6b); }
  mul(): this { return this.op(0x6c); }
  and(): this { return this.op(0x71); }
  eq(): this { return this.op(0x46); }
  eqz(): this { return this.op(0x45); }
  ltU(): this { return this.op(0x49); }
  geU(): this { return this.op(0x4f); }
  /** Pushes min(local[i], c), unsigned. */
  minOf(i: number, c: number): this { return this.get(i).i32(c).get(i).i32(c).ltU().op(0x1b /* select */); }
  f32Add(): this { return this.op(0x92); }
  f32Zero(): this { return this.op(0x43, 0, 0, 0, 0); }
  call(index: number): this { return this.op(0x10, ...uleb(index)); }
  /** local[i] += c (i32). */
  bump(i: number, c: number): this { return this.get(i).i32(c).add().set(i); }
  /** local[i] += local[j] (i32). */
  bumpBy(i: number, j: number): this { return this.get(i).get(j).add().set(i); }

  block(): this { return this.op(0x02, 0x40); }
  loop(): this { return this.op(0x03, 0x40); }
  if(): this { return this.op(0x04, 0x40); }
  else(): this { return this.op(0x05); }
  end(): this { return this.op(0x0b); }
  br(depth: number): this { return this.op(0x0c, ...uleb(depth)); }
  brIf(depth: number): this { return this.op(0x0d, ...uleb(depth)); }

  f32Load(offset = 0): this { return this.op(0x2a, 2, ...uleb(offset)); }
  f32Store(offset = 0): this { return this.op(0x38, 2, ...uleb(offset)); }
  v128Load(offset = 0): this { return this.simd(0x00, 4, ...uleb(offset)); }
  v128Store(offset = 0): this { return this.simd(0x0b, 4, ...uleb(offset)); }
  /** Loads one f32 into all four lanes. */
  v128Load32Splat(offset = 0): this { return this.simd(0x09, 2, ...uleb(offset)); }
  f32x4Add(): this { return this.simd(0xe4); }
  f32x4Mul(): this { return this.simd(0xe6); }
  /** a·b + c per lane, fused where the CPU has FMA (relaxed SIMD). */
  f32x4RelaxedMadd(): this { return this.simd(0x105); }
  /** Picks four 32-bit lanes from two vectors: lane i of the result is lane `lanes[i]` of (a ‖ b), 0–7. */
  shuffle32(lanes: [number, number, number, number]): this {
    return this.simd(0x0d, ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
  }

  // Plain (not relaxed) IEEE single-precision arithmetic, one rounding per op, for kernels that must match tfjs's.
  /** i32 shift right, unsigned. */
  shrU(): this { return this.op(0x76); }
  f32Sub(): this { return this.op(0x93); }
  f32Mul(): this { return this.op(0x94); }
  f32Div(): this { return this.op(0x95); }
  f32Sqrt(): this { return this.op(0x91); }
  /** One f32 into all four lanes. */
  f32x4Splat(): this { return this.simd(0x13); }
  f32x4Sub(): this { return this.simd(0xe5); }
  f32x4Div(): this { return this.simd(0xe7); }
  f32x4Sqrt(): this { return this.simd(0xe3); }

  /** Raw opcode bytes. */
  op(...bytes: number[]): this {
    this.bytes.push(...bytes);
    return this;
  }

  private simd(code: number, ...immediates: number[]): this {
    return this.op(0xfd, ...uleb(code), ...immediates);
  }

  /** The code-section entry: local declarations, then the instructions. */
  encode(): number[] {
    const groups: number[][] = [];
    for (const t of this.localTypes) {
      const last = groups[groups.length - 1];
      if (last !== undefined && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    const body = [...uleb(groups.length), ...groups.flatMap(([n, t]) => [...uleb(n), t]), ...this.bytes, 0x0b];
    return [...uleb(body.length), ...body];
  }
}

/** What the module's imported memory ("env" "memory") must look like to match the one given at instantiation. */
export interface MemoryImport {
  shared: boolean;
  /** Pages (64 KiB) at least / at most; `maximum` is required for shared memory. */
  minimum: number;
  maximum?: number;
}

/** The import for a memory that is `shared` or not: any size (a shared import must state a maximum; 4 GiB admits all). */
export const anyMemory = (shared: boolean): MemoryImport =>
  shared ? { shared, minimum: 1, maximum: 65536 } : { shared, minimum: 1 };

/** A module's bytes: the imported memory and the functions (no results), each exported under its name. */
export function moduleBytes(memory: MemoryImport, functions: FunctionBuilder[]): Uint8Array {
  const arities = [...new Set(functions.map((f) => f.params))];
  const types = arities.map((n) => [0x60, ...uleb(n), ...new Array(n).fill(I32), 0]);
  const limits =
    memory.maximum === undefined
      ? [0x00, ...uleb(memory.minimum)]
      : [memory.shared ? 0x03 : 0x01, ...uleb(memory.minimum), ...uleb(memory.maximum)];
  const name = (s: string): number[] => [...uleb(utf8(s).length), ...utf8(s)];
  const imports = [[...name("env"), ...name("memory"), 0x02, ...limits]];
  const exported = functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]);
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, vec(imports)),
    ...section(3, vec(functions.map((f) => uleb(arities.indexOf(f.params))))),
    ...section(7, vec(exported)),
    ...section(10, vec(functions.map((f) => f.encode()))),
  ]);
}

/** A WebAssembly.Memory (TypeScript's lib for Node here has no WebAssembly types). */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
}

interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
}

/** The engine's WebAssembly API. */
export const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

/** Compiles and instantiates `bytes` with `memory` as its "env" "memory" import; returns the exports. */
export function instantiate(bytes: Uint8Array, memory: WasmMemory): Record<string, unknown> {
  return new webAssembly.Instance(new webAssembly.Module(bytes), { env: { memory } }).exports;
}
