import * as util from "util";
import * as tf from "@tensorflow/tfjs";
import { createConverter } from "tslab/dist/converter";
import { ConverterSet, createExecutor } from "tslab/dist/executor";
import { printQuickInfo } from "tslab/dist/inspect";
import * as jupyter from "tslab/dist/jupyter";
import * as llama from "../lib";
import { CHECKPOINT_GLOBAL, expandShorthandProperties, insertInterruptChecks } from "./cell_rewrite";
import { classifyReport, errorContent, KeyboardInterrupt, Reported } from "./errors";
import { CellIO, ExecuteOutcome, ExecuteRequest, KernelServer, LanguageKernel } from "./protocol";
import { preambleSource } from "./preamble";
import { disposeRebound, snapshotLocals } from "./rebind";
import { installLibraryReprs } from "./library_reprs";
import { reprBundle } from "./rich_display";
import { startupDir, startupFiles } from "./startup";

/** Options of the kernel process. */
export interface KernelOptions {
  /** Jupyter's connection file. */
  configPath: string;
  /** Declare `llama` and `tf` before the first cell (default true). */
  preload?: boolean;
  /** The folder of user startup files (default: see kernel/startup.ts). */
  startupDir?: string;
}

// The vm module object itself (not an import namespace, whose properties are read-only getters).
const vm: typeof import("vm") = require("vm");

const VERSION: string = require("../../package.json").version;

/** How long an interrupted cell gets to stop at a safe point (a loop iteration, a training step) before it is abandoned. */
const INTERRUPT_GRACE_MS = 1500;

function isDisposable(value: unknown): value is { dispose(): void } {
  if (value instanceof tf.Tensor) return !value.isDisposed;
  return llama.ownsTensors(value);
}

/** What the running cell has reported through the executor's console. */
interface CellState {
  count: number;
  label: string;
  value?: { v: unknown };
  reports: Reported[];
  emitted?: string;
}

/** The TypeScript side of the kernel: tslab's executor with the library preloaded and Jupyter-shaped results. */
class LlamaLabKernel implements LanguageKernel {
  private cell: CellState | undefined;
  private io: CellIO | undefined;
  private readonly notices: { name: "stdout" | "stderr"; text: string }[] = [];
  private readonly interruptedCells = new Set<number>();
  readonly executor: ReturnType<typeof createExecutor>;
  ready: Promise<void> = Promise.resolve();

  constructor(convs: ConverterSet) {
    this.executor = createExecutor(process.cwd(), convs, {
      // tslab prints a cell's last expression with console.log; keep the value for execute_result instead.
      log: (value: unknown) => { if (this.cell) this.cell.value = { v: value }; },
      error: (...args: unknown[]) => this.cell?.reports.push(classifyReport(args)),
    });
    this.captureEmittedCode();
    (globalThis as Record<string, unknown>)[CHECKPOINT_GLOBAL] = (cell: number) => {
      if (this.interruptedCells.has(cell)) throw new KeyboardInterrupt();
    };
  }

  // tslab runs each cell's JavaScript with vm.runInThisContext; name it after the cell (so stack frames say
  // "Cell In[3]") and keep it, to map stack lines back to the cell's lines.
  private captureEmittedCode(): void {
    const run = vm.runInThisContext;
    (vm as { runInThisContext: typeof run }).runInThisContext = (code, options) => {
      const cell = this.cell;
      if (cell && typeof code === "string" && code.endsWith("})(__tslab__.exports, __tslab__.require)")) {
        cell.emitted = code;
        options = { ...(typeof options === "object" ? options : {}), filename: cell.label };
      }
      return run(code, options);
    };
  }

  /** Runs the preamble and the user's startup files; their messages are shown with the first cell's output. */
  start(options: KernelOptions): void {
    this.ready = (async () => {
      if (options.preload === false) {
        this.notices.push({ name: "stdout", text: `Llama Lab ${VERSION}: started without the library (--no-preload)\n` });
      } else {
        // The backend (wasm compiles asynchronously) loads while the preamble type-checks.
        const backendReady = llama.initBackend(() => undefined);
        const failure = await this.runQuietly(preambleSource(), "preamble");
        const backend = await backendReady;
        if (failure) this.notices.push({ name: "stderr", text: `Llama Lab could not preload its library:\n${failure}\n` });
        else this.notices.push({ name: "stdout", text: `Llama Lab ${VERSION}: \`llama\` and \`tf\` are loaded (tfjs ${tf.version_core}, backend: ${backend}${backend === "wasm" ? ` with ${llama.wasmThreadsLabel()}` : ""})\n` });
      }
      for (const file of startupFiles(startupDir(options.startupDir))) {
        const failure = await this.runQuietly(file.source, file.path);
        if (failure) this.notices.push({ name: "stderr", text: `startup file ${file.path} failed:\n${failure}\n` });
      }
    })().catch((err: Error) => { this.notices.push({ name: "stderr", text: `Llama Lab failed to start: ${err.stack}\n` }); });
  }

  private async runQuietly(source: string, label: string): Promise<string | undefined> {
    this.cell = { count: 0, label, reports: [] };
    const ok = await this.executor.execute(source);
    const cell = this.cell;
    this.cell = undefined;
    if (ok) return undefined;
    return errorContent(cell.reports, source, label, cell.emitted).traceback.join("\n");
  }

  kernelInfo(): Record<string, unknown> {
    return {
      implementation: "llamalab",
      implementation_version: VERSION,
      language_info: {
        name: "typescript",
        version: require("@tslab/typescript-for-tslab").version,
        mimetype: "text/typescript",
        file_extension: ".ts",
        codemirror_mode: { mode: "typescript", name: "javascript", typescript: true },
      },
      banner: `Llama Lab ${VERSION} (TypeScript, tslab): \`llama\` and \`tf\` are preloaded`,
      help_links: [{ text: "Llama Lab", url: "https://github.com/yunabe/tslab" }],
    };
  }

  async execute(req: ExecuteRequest, count: number, io: CellIO): Promise<ExecuteOutcome> {
    await this.ready;
    this.bindOutput(io);
    for (const n of this.notices.splice(0)) io.publish("stream", { name: n.name, text: n.text });
    llama.clearInterrupt();
    const label = `Cell In[${count}]`;
    const cell: CellState = { count, label, reports: [] };
    this.cell = cell;
    const before = snapshotLocals(this.executor.locals);
    let ok: boolean;
    try {
      ok = await this.executor.execute(insertInterruptChecks(expandShorthandProperties(req.code), count));
    } catch (err) {
      cell.reports.push({ kind: "thrown", value: err });
      ok = false;
    } finally {
      this.cell = undefined;
    }
    disposeRebound(before, this.executor.locals, isDisposable);
    if (!ok) {
      const error = errorContent(cell.reports, req.code, label, cell.emitted);
      io.publish("error", { ...error });
      return { status: "error", ...error };
    }
    if (!cell.value) return { status: "ok" };
    const data = reprBundle(cell.value.v);
    io.publish("execute_result", { execution_count: count, data, metadata: {} });
    return { status: "ok", resultText: String(data["text/plain"]) };
  }

  // Output written after a cell ends (timers, unawaited promises) goes to the last cell, as in ipykernel.
  private bindOutput(io: CellIO): void {
    this.io = io;
    for (const name of ["stdout", "stderr"] as const) {
      (process[name] as { write: unknown }).write = (chunk: string | Uint8Array, ...rest: unknown[]) => {
        io.publish("stream", { name, text: typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8") });
        const done = rest.find((r) => typeof r === "function") as (() => void) | undefined;
        done?.();
        return true;
      };
    }
    // tslab's own display API (`import * as tslab from "tslab"`) writes through this.
    (jupyter as { lastWriteDisplayData: unknown }).lastWriteDisplayData = (data: object, update: boolean) =>
      io.publish(update ? "update_display_data" : "display_data", { metadata: {}, transient: {}, ...data });
  }

  /** Sends a display bundle to the cell that is running (or ran last). */
  display(bundle: llama.MimeBundle, displayId: string | undefined, update: boolean): void {
    this.io?.publish(update ? "update_display_data" : "display_data", { data: bundle, metadata: {}, transient: displayId ? { display_id: displayId } : {} });
  }

  inspect(code: string, offset: number): string | undefined {
    const info = this.executor.inspect(code, offset);
    return info ? printQuickInfo(info) : undefined;
  }

  complete(code: string, offset: number): { start: number; end: number; matches: string[] } {
    const info = this.executor.complete(code, offset);
    return { start: info.start, end: info.end, matches: info.candidates };
  }

  /**
   * Stops the running cell: library loops (trainSteps) and the cell's own loops stop at their next iteration; a
   * cell still waiting after a grace period is abandoned (its promise is left behind, the kernel goes on).
   */
  interrupt(): void {
    const cell = this.cell;
    if (!cell) return;
    llama.requestInterrupt();
    this.interruptedCells.add(cell.count);
    setTimeout(() => { if (this.cell === cell) this.executor.interrupt(); }, INTERRUPT_GRACE_MS).unref();
  }

  close(): void {
    this.executor.close();
  }
}

/** Starts the Llama Lab kernel: tslab's TypeScript executor with the library declared before the first cell. */
export function startKernel(options: KernelOptions): void {
  let node: ReturnType<typeof createConverter> | undefined;
  let browser: ReturnType<typeof createConverter> | undefined;
  const convs: ConverterSet = {
    get node() { return (node ??= createConverter({ isJS: false, isBrowser: false })); },
    get browser() { return (browser ??= createConverter({ isJS: false, isBrowser: true })); },
    close() { node?.close(); browser?.close(); },
  };
  const kernel = new LlamaLabKernel(convs);
  installLibraryReprs();
  llama.setDisplaySink((bundle, { displayId, update }) => kernel.display(bundle, displayId, update));
  const server = new KernelServer(kernel, options.configPath);
  process.on("SIGINT", () => kernel.interrupt());
  process.on("uncaughtException", (err) => process.stderr.write(`Uncaught exception: ${err.stack ?? err}\n`));
  process.on("unhandledRejection", (reason) => process.stderr.write(`Unhandled promise rejection: ${util.inspect(reason)}\n`));
  // Bind the sockets first, so Jupyter sees the kernel alive while the library loads.
  void server.init().then(() => kernel.start(options));
}
