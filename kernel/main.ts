import * as tf from "@tensorflow/tfjs";
import { createConverter } from "tslab/dist/converter";
import { ConverterSet, createExecutor, Executor } from "tslab/dist/executor";
import * as jupyter from "tslab/dist/jupyter";
import * as llama from "../lib";
import { preambleSource } from "./preamble";
import { disposeRebound, snapshotLocals } from "./rebind";
import { expandShorthandProperties } from "./cell_rewrite";

type ExecuteRequest = Parameters<jupyter.JupyterHandlerImpl["handleExecute"]>[0];
type WriteStream = Parameters<jupyter.JupyterHandlerImpl["handleExecute"]>[1];
type WriteDisplay = Parameters<jupyter.JupyterHandlerImpl["handleExecute"]>[2];

// tslab's private members used to honour stop_on_error (tslab 1.0.22, pinned in package.json).
interface TslabInternals {
  execQueue: { add<T>(task: () => Promise<T>): Promise<T>; reset(delayMs?: number): void };
  handleExecuteImpl(req: ExecuteRequest, w: WriteStream, d: WriteDisplay): Promise<{ count: number }>;
}

/** Options of the kernel process. */
export interface KernelOptions {
  /** Jupyter's connection file. */
  configPath: string;
  /** Declare `llama` and `tf` before the first cell (default true). */
  preload?: boolean;
}

const VERSION: string = require("../../package.json").version;

function isDisposable(value: unknown): value is { dispose(): void } {
  if (value instanceof tf.Tensor) return !value.isDisposed;
  return llama.ownsTensors(value);
}

/** tslab's handler with Llama Lab's start-up, identity and notebook hygiene on top. */
class LlamaLabHandler extends jupyter.JupyterHandlerImpl {
  private startupNotice: string[] = [];

  constructor(private readonly exec: Executor, private readonly ready: Promise<string[]>) {
    super(exec, false);
  }

  handleKernel(): ReturnType<jupyter.JupyterHandlerImpl["handleKernel"]> {
    const reply = super.handleKernel();
    reply.implementation = "llamalab";
    reply.implementation_version = VERSION;
    reply.language_info.version = require("@tslab/typescript-for-tslab").version;
    reply.banner = `Llama Lab ${VERSION} (TypeScript, tslab): \`llama\` and \`tf\` are preloaded`;
    return Object.assign(reply, { status: "ok" });
  }

  async handleExecute(req: ExecuteRequest, writeStream: WriteStream, writeDisplay: WriteDisplay) {
    const notices = await this.ready;
    if (notices.length) {
      for (const line of notices) writeStream(line.startsWith("error") ? "stderr" : "stdout", line + "\n");
      notices.length = 0;
    }
    llama.clearInterrupt();
    const before = snapshotLocals(this.exec.locals);
    const reply = await this.executeQueued({ ...req, code: expandShorthandProperties(req.code) }, writeStream, writeDisplay);
    disposeRebound(before, this.exec.locals, isDisposable);
    return reply;
  }

  // tslab aborts every request arriving within 200 ms of an error, even when the client asked it not to
  // (stop_on_error=false, which `nbconvert --allow-errors` sends); honour the flag.
  private async executeQueued(req: ExecuteRequest, writeStream: WriteStream, writeDisplay: WriteDisplay) {
    if (req.stop_on_error !== false) return super.handleExecute(req, writeStream, writeDisplay);
    const inner = this as unknown as TslabInternals;
    try {
      const count = await inner.execQueue.add(() => inner.handleExecuteImpl(req, writeStream, writeDisplay));
      return { status: "ok", execution_count: count.count };
    } catch (e) {
      // A failed task poisons tslab's queue until it is reset; reset now so the next cell runs.
      inner.execQueue.reset();
      const count = (e as { count?: number }).count;
      if (count === undefined) console.error("unexpected error:", e);
      return { status: "error", execution_count: count as number };
    }
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
  const preambleErrors: string[] = [];
  let collecting = true;
  const executor = createExecutor(process.cwd(), convs, {
    log: (...args: unknown[]) => console.log(...args),
    error: (...args: unknown[]) => {
      if (collecting) preambleErrors.push(require("util").format(...args));
      else console.error(...args);
    },
  });

  const ready = (async (): Promise<string[]> => {
    const notices: string[] = [];
    if (options.preload === false) return notices;
    const backend = await llama.initBackend(() => undefined);
    const ok = await executor.execute(preambleSource());
    collecting = false;
    if (ok) notices.push(`Llama Lab ${VERSION}: \`llama\` and \`tf\` are loaded (tfjs ${tf.version_core}, backend: ${backend})`);
    else notices.push(`error: Llama Lab could not preload its library:\n${preambleErrors.join("\n")}`);
    return notices;
  })().catch((err: Error) => [`error: Llama Lab failed to start: ${err.message}`]);

  llama.setDisplaySink((bundle, { displayId, update }) => {
    const write = jupyter.lastWriteDisplayData;
    if (!write) return;
    write({ data: bundle as Record<string, string>, metadata: {}, transient: displayId ? { display_id: displayId } : {} }, update);
  });

  const server = new jupyter.ZmqServer(new LlamaLabHandler(executor, ready), options.configPath);
  process.on("SIGINT", () => {
    llama.requestInterrupt();
    executor.interrupt();
  });
  process.on("uncaughtException", (err) => console.error("Uncaught exception:", err));
  process.on("unhandledRejection", (reason) => console.error("Unhandled promise rejection:", reason));
  void server.init();
}
