/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}}`, then the raw
 * little-endian tensor bytes, offsets relative to the end of the header.
 *
 * The reader trusts nothing: it bounds the header size, recognises files that are not safetensors at all
 * (a Git LFS pointer, a zip archive, an HTML page), and checks every dtype, shape and offset against the
 * file size before it allocates or reads any tensor data.
 */
import { closeSync, fstatSync, openSync, readSync } from "fs";
import { bf16FromBits, fp16FromBits } from "../precision/rounding";
import { writeFileAtomic } from "./atomic";

/** Element types of the safetensors format, with their size in bytes. */
export const SAFETENSORS_DTYPE_BYTES: Readonly<Record<string, number>> = Object.freeze({
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1,
  U16: 2, I16: 2, F16: 2, BF16: 2,
  U32: 4, I32: 4, F32: 4,
  U64: 8, I64: 8, F64: 8,
});

/** Element types Llama Lab converts to float32 when it reads weights. */
export const READABLE_FLOAT_DTYPES: readonly string[] = ["F32", "F16", "BF16"];

/** Largest header accepted (the reference implementation's limit): larger means a corrupt or hostile file. */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor's entry in the header, validated. */
export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  /** Byte range in the file (absolute, header included). */
  begin: number;
  end: number;
}

/** A float32 tensor as read or to be written. */
export interface Float32Tensor {
  shape: number[];
  data: Float32Array;
}

/** Random access to the bytes of a file or buffer. */
interface ByteSource {
  size: number;
  read(offset: number, length: number): Uint8Array;
}

function bufferSource(bytes: Uint8Array): ByteSource {
  return { size: bytes.length, read: (offset, length) => bytes.subarray(offset, offset + length) };
}

/** A parsed safetensors file: the validated header, and tensors read on demand. */
export class SafetensorsFile {
  /** Tensor entries in header order. */
  readonly entries: ReadonlyMap<string, SafetensorsEntry>;
  /** The optional `__metadata__` strings. */
  readonly metadata: Readonly<Record<string, string>>;

  private constructor(
    private readonly label: string,
    private readonly source: ByteSource,
    private readonly close_: () => void,
  ) {
    const parsed = parseHeader(label, source);
    this.entries = parsed.entries;
    this.metadata = parsed.metadata;
  }

  /** Opens and validates `path` (reads only the header); call {@link close} when done. */
  static open(path: string): SafetensorsFile {
    const fd = openSync(path, "r");
    try {
      const size = fstatSync(fd).size;
      const source: ByteSource = {
        size,
        read(offset, length) {
          const out = new Uint8Array(length);
          let done = 0;
          while (done < length) {
            const n = readSync(fd, out, done, length - done, offset + done);
            if (n === 0) throw new Error(`${path}: the file ended while reading (it changed while open?)`);
            done += n;
          }
          return out;
        },
      };
      return new SafetensorsFile(path, source, () => closeSync(fd));
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** Parses and validates safetensors bytes held in memory; `label` names them in errors. */
  static fromBytes(bytes: Uint8Array, label = "safetensors data"): SafetensorsFile {
    return new SafetensorsFile(label, bufferSource(bytes), () => undefined);
  }

  /** Tensor names in header order. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  /** Reads tensor `name` (F32, F16 or BF16) as float32. */
  readFloat32(name: string): Float32Tensor {
    const e = this.entries.get(name);
    if (e === undefined) throw new Error(`${this.label}: no tensor named "${name}"`);
    if (!READABLE_FLOAT_DTYPES.includes(e.dtype)) {
      throw new Error(
        `${this.label}: tensor "${name}" has dtype ${e.dtype}; Llama Lab reads weights stored as ` +
          `${READABLE_FLOAT_DTYPES.join(", ")} (convert the file, e.g. with torch, to one of these)`,
      );
    }
    return { shape: [...e.shape], data: decodeFloats(e.dtype, this.source.read(e.begin, e.end - e.begin)) };
  }

  /** Releases the file handle (a no-op for in-memory data). */
  close(): void {
    this.close_();
  }
}

/** Decodes little-endian F32/F16/BF16 bytes to float32. */
function decodeFloats(dtype: string, bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === "F32") {
    const out = new Float32Array(bytes.byteLength / 4);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
    return out;
  }
  const out = new Float32Array(bytes.byteLength / 2);
  const fromBits = dtype === "F16" ? fp16FromBits : bf16FromBits;
  for (let i = 0; i < out.length; i++) out[i] = fromBits(view.getUint16(2 * i, true));
  return out;
}

/** Says what a file that is not safetensors most likely is, from its first bytes; null if unrecognised. */
export function recogniseNonSafetensors(head: Uint8Array): string | null {
  const text = new TextDecoder("latin1").decode(head.subarray(0, 64));
  if (text.startsWith("version https://git-lfs")) {
    return (
      "is a Git LFS pointer file, not the weights: the repository was cloned without LFS. " +
      "Run `git lfs install && git lfs pull` in the clone (or download the file directly)"
    );
  }
  if (head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5) && (head[3] === 4 || head[3] === 6)) {
    return (
      "is a zip archive (a PyTorch .bin/.pt checkpoint or a zipped download), not safetensors. " +
      "Unzip it, or convert a PyTorch checkpoint with safetensors.torch.save_file"
    );
  }
  const trimmed = text.trimStart().toLowerCase();
  if (trimmed.startsWith("<!doctype html") || trimmed.startsWith("<html")) {
    return "is an HTML page (a failed or login-walled download), not safetensors. Download the file again";
  }
  return null;
}

function parseHeader(
  label: string,
  source: ByteSource,
): { entries: Map<string, SafetensorsEntry>; metadata: Record<string, string> } {
  const fail = (msg: string): never => {
    throw new Error(`${label}: ${msg}`);
  };
  const head = source.read(0, Math.min(source.size, 64));
  const other = recogniseNonSafetensors(head);
  if (other !== null) fail(other);
  if (source.size < 8) fail(`is ${source.size} bytes, too short for a safetensors header; the download is truncated`);
  const lengthView = new DataView(head.buffer, head.byteOffset, 8);
  const headerLen = Number(lengthView.getBigUint64(0, true));
  if (headerLen > MAX_HEADER_BYTES) {
    fail(
      `declares a ${headerLen}-byte header, more than the ${MAX_HEADER_BYTES}-byte limit: ` +
        `the file is corrupt or not safetensors`,
    );
  }
  if (headerLen < 2) fail(`declares a ${headerLen}-byte header, too short for the JSON object it must hold`);
  if (8 + headerLen > source.size) {
    fail(`is truncated: its header needs ${8 + headerLen} bytes but the file has ${source.size}; download it again`);
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(source.read(8, headerLen)));
  } catch (e) {
    return fail(`header is not valid UTF-8 JSON (${(e as Error).message}); the file is corrupt or not safetensors`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) fail("header must be a JSON object");
  const dataStart = 8 + headerLen;
  const dataSize = source.size - dataStart;
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  const ranges: [number, number, string][] = [];
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      metadata = checkMetadata(raw, fail);
      continue;
    }
    const entry = checkEntry(name, raw, fail);
    const [begin, end] = entry.offsets;
    if (end > dataSize) {
      fail(
        `is truncated or corrupt: tensor "${name}" ends at data byte ${end} but the file holds ` +
          `${dataSize} data bytes; download it again`,
      );
    }
    entries.set(name, { dtype: entry.dtype, shape: entry.shape, begin: dataStart + begin, end: dataStart + end });
    ranges.push([begin, end, name]);
  }
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i][0] < ranges[i - 1][1]) {
      fail(`tensors "${ranges[i - 1][2]}" and "${ranges[i][2]}" overlap in the data section; the file is corrupt`);
    }
  }
  return { entries, metadata };
}

function checkMetadata(raw: unknown, fail: (msg: string) => never): Record<string, string> {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) fail(`"__metadata__" must be an object of strings`);
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof v !== "string") fail(`"__metadata__.${k}" must be a string, got ${JSON.stringify(v)}`);
  }
  return { ...(raw as Record<string, string>) };
}

function checkEntry(
  name: string,
  raw: unknown,
  fail: (msg: string) => never,
): { dtype: string; shape: number[]; offsets: [number, number] } {
  if (raw === null || typeof raw !== "object") fail(`tensor "${name}" has no {dtype, shape, data_offsets} entry`);
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== "string" || !(dtype in SAFETENSORS_DTYPE_BYTES)) {
    fail(`tensor "${name}" has unknown dtype ${JSON.stringify(dtype)}; known: ${Object.keys(SAFETENSORS_DTYPE_BYTES).join(", ")}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(`tensor "${name}" has shape ${JSON.stringify(shape)}; expected an array of integers ≥ 0`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
    offsets[1] < offsets[0]
  ) {
    fail(`tensor "${name}" has data_offsets ${JSON.stringify(offsets)}; expected [begin, end] with 0 ≤ begin ≤ end`);
  }
  const dims = shape as number[];
  const [begin, end] = offsets as [number, number];
  const bytes = dims.reduce((n, d) => n * d, 1) * SAFETENSORS_DTYPE_BYTES[dtype as string];
  if (end - begin !== bytes) {
    fail(
      `tensor "${name}" (${dtype} [${dims}]) needs ${bytes} bytes but data_offsets [${begin}, ${end}] ` +
        `span ${end - begin}; the file is corrupt`,
    );
  }
  return { dtype: dtype as string, shape: dims, offsets: [begin, end] };
}

/** Serialises float32 tensors as safetensors bytes (F32, in the given order, header padded to 8 bytes). */
export function encodeSafetensors(
  tensors: Iterable<[string, Float32Tensor]>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  const list: [string, Float32Tensor][] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === "__metadata__" || name in header) throw new Error(`encodeSafetensors: bad or repeated name "${name}"`);
    const count = t.shape.reduce((n, d) => n * d, 1);
    if (count !== t.data.length) {
      throw new Error(`encodeSafetensors: "${name}" has ${t.data.length} values but shape [${t.shape}] needs ${count}`);
    }
    header[name] = { dtype: "F32", shape: [...t.shape], data_offsets: [offset, offset + 4 * count] };
    list.push([name, t]);
    offset += 4 * count;
  }
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let text = JSON.stringify(header);
  // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
  text += " ".repeat((8 - ((Buffer.byteLength(text) + 8) % 8)) % 8);
  const headerBytes = Buffer.from(text, "utf8");
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const [, t] of list) {
    for (let i = 0; i < t.data.length; i++, at += 4) view.setFloat32(at, t.data[i], true);
  }
  return out;
}

/** Writes float32 tensors to `path` as safetensors, atomically (temporary file, then rename). */
export function saveSafetensors(
  path: string,
  tensors: Iterable<[string, Float32Tensor]>,
  metadata: Record<string, string> = {},
): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** Reads every tensor of a safetensors file as float32 (F32, F16 or BF16 in the file). */
export function loadSafetensors(path: string): Map<string, Float32Tensor> {
  const file = SafetensorsFile.open(path);
  try {
    return new Map(file.names().map((n) => [n, file.readFloat32(n)]));
  } finally {
    file.close();
  }
}
