import * as ts from "@tslab/typescript-for-tslab";
import { isCompleteCode } from "tslab/dist/converter";
import * as jupyter from "tslab/dist/jupyter";
import { codePointsToUtf16, decode, encode, Header, Message, newHeader, PROTOCOL_VERSION, utf16ToCodePoints } from "./wire";

/**
 * The Jupyter messaging protocol (5.3) on top of tslab's sockets. tslab's own dispatcher sends no execute_input,
 * execute_result or error messages, ignores interrupt_request and history_request, answers comm_info_request with
 * the wrong type, counts cursor positions in UTF-16 units and handles requests concurrently; this one follows the
 * protocol the way ipykernel does: shell requests one at a time, control requests (interrupt, shutdown) at once.
 */

type Content = Record<string, unknown>;

// The kernel's own log, saved before cells take over process.stderr (their output goes to the notebook).
const log = process.stderr.write.bind(process.stderr);

/** Output of the running request, routed to its parent message. */
export interface CellIO {
  /** Publishes an iopub message (stream, display_data, execute_result, error, …). */
  publish(msgType: string, content: Content): void;
}

/** An execute_request's content. */
export interface ExecuteRequest {
  code: string;
  silent?: boolean;
  store_history?: boolean;
  stop_on_error?: boolean;
  user_expressions?: Record<string, string>;
  allow_stdin?: boolean;
}

/** The outcome of one cell: ok, or the error that was published. */
export type ExecuteOutcome = { status: "ok"; resultText?: string } | { status: "error"; ename: string; evalue: string; traceback: string[] };

/** The language side of the kernel: runs cells and answers questions about code. */
export interface LanguageKernel {
  kernelInfo(): Content;
  execute(req: ExecuteRequest, count: number, io: CellIO): Promise<ExecuteOutcome>;
  /** Inspection and completion take UTF-16 offsets (the protocol's code points are converted by the server). */
  inspect(code: string, offset: number): string | undefined;
  complete(code: string, offset: number): { start: number; end: number; matches: string[] };
  interrupt(): void;
  close(): void;
}

/** Whether `code` is complete, incomplete (needs more lines) or invalid, as the is_complete_request asks. */
export function completeness(code: string): Content {
  const res = isCompleteCode(code);
  if (!res.completed) return { status: "incomplete", indent: res.indent ?? "" };
  const file = ts.createSourceFile("cell.ts", code, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const diags = (file as unknown as { parseDiagnostics?: unknown[] }).parseDiagnostics ?? [];
  return { status: diags.length ? "invalid" : "complete" };
}

/** The kernel's ZeroMQ server: tslab's socket set-up and heartbeat, this module's dispatch. */
export class KernelServer extends jupyter.ZmqServer {
  private executionCount = 0;
  private shellQueue: Promise<void> = Promise.resolve();
  private received = 0;
  /** Execute requests received up to this sequence number are aborted (an earlier cell failed with stop_on_error). */
  private abortThrough = 0;
  private readonly history: [number, number, string, string | null][] = [];
  private readonly session = newHeader("status", "").msg_id;
  private sending: Promise<unknown> = Promise.resolve();

  constructor(private readonly kernel: LanguageKernel, configPath: string) {
    super({ close: () => kernel.close() } as unknown as jupyter.JupyterHandlerImpl, configPath);
  }

  /** Publishes a message on iopub with `parent` as parent header. */
  publish(msgType: string, content: Content, parent: Partial<Header>): void {
    this.send(this.iopub, { identities: [Buffer.from(msgType)], header: newHeader(msgType, parent.session ?? this.session), parent_header: parent, metadata: {}, content });
  }

  // Sends are serialised: ZeroMQ sockets take one send at a time.
  private send(sock: { send(frames: (string | Buffer)[]): Promise<void> }, msg: Omit<Message<unknown>, "buffers">): void {
    const frames = encode(this.connInfo.key, msg);
    this.sending = this.sending.then(() => sock.send(frames)).catch((err: Error) => log(`llamalab: could not send a message: ${err.message}\n`));
  }

  private reply(sock: unknown, req: Message, msgType: string, content: Content): void {
    this.send(sock as never, { identities: req.identities, header: newHeader(msgType, req.header.session), parent_header: req.header, metadata: {}, content });
  }

  async handleShellMessage(sock: jupyter.ZmqServer["shell"], ...frames: Buffer[]): Promise<void> {
    let msg: Message;
    try {
      msg = decode(this.connInfo.key, frames);
    } catch (err) {
      log(`llamalab: dropped a message: ${(err as Error).message}\n`);
      return;
    }
    if (sock === this.control) return this.dispatch(sock, msg);
    const seq = ++this.received;
    this.shellQueue = this.shellQueue.then(() => this.dispatch(sock, msg, seq));
    return this.shellQueue;
  }

  private async dispatch(sock: unknown, msg: Message, seq = 0): Promise<void> {
    this.publish("status", { execution_state: "busy" }, msg.header);
    try {
      const c = msg.content;
      switch (msg.header.msg_type) {
        case "kernel_info_request":
          this.reply(sock, msg, "kernel_info_reply", { status: "ok", protocol_version: PROTOCOL_VERSION, ...this.kernel.kernelInfo() });
          break;
        case "execute_request":
          this.reply(sock, msg, "execute_reply", await this.execute(msg as Message<ExecuteRequest & Content>, seq));
          break;
        case "is_complete_request":
          this.reply(sock, msg, "is_complete_reply", completeness(String(c.code ?? "")));
          break;
        case "inspect_request": {
          const code = String(c.code ?? "");
          const text = this.kernel.inspect(code, codePointsToUtf16(code, Number(c.cursor_pos ?? 0)));
          this.reply(sock, msg, "inspect_reply", { status: "ok", found: text !== undefined, data: text === undefined ? {} : { "text/plain": text }, metadata: {} });
          break;
        }
        case "complete_request": {
          const code = String(c.code ?? "");
          const res = this.kernel.complete(code, codePointsToUtf16(code, Number(c.cursor_pos ?? code.length)));
          this.reply(sock, msg, "complete_reply", {
            status: "ok", matches: res.matches, metadata: {},
            cursor_start: utf16ToCodePoints(code, res.start), cursor_end: utf16ToCodePoints(code, res.end),
          });
          break;
        }
        case "history_request":
          this.reply(sock, msg, "history_reply", { status: "ok", history: this.historyFor(c) });
          break;
        case "comm_info_request":
          this.reply(sock, msg, "comm_info_reply", { status: "ok", comms: {} });
          break;
        case "interrupt_request":
          this.kernel.interrupt();
          this.reply(sock, msg, "interrupt_reply", { status: "ok" });
          break;
        case "shutdown_request":
          this.reply(sock, msg, "shutdown_reply", { status: "ok", restart: Boolean(c.restart) });
          this.publish("status", { execution_state: "idle" }, msg.header);
          await this.sending;
          this.close();
          setTimeout(() => process.exit(0), 50);
          return;
        case "comm_open": case "comm_msg": case "comm_close":
          break; // No comm targets: ignored, as the protocol allows.
        default:
          log(`llamalab: unsupported message type ${msg.header.msg_type}\n`);
      }
    } catch (err) {
      log(`llamalab: failed to handle ${msg.header.msg_type}: ${(err as Error).stack}\n`);
    }
    this.publish("status", { execution_state: "idle" }, msg.header);
  }

  private async execute(msg: Message<ExecuteRequest & Content>, seq: number): Promise<Content> {
    const req = msg.content;
    const silent = Boolean(req.silent);
    const store = req.store_history !== false && !silent;
    if (seq <= this.abortThrough) return { status: "aborted", execution_count: this.executionCount };
    if (store) this.executionCount++;
    const count = this.executionCount;
    const io: CellIO = { publish: (type, content) => { if (!silent || type === "error") this.publish(type, content, msg.header); } };
    if (!silent) this.publish("execute_input", { code: req.code, execution_count: count }, msg.header);
    const outcome = await this.kernel.execute(req, count, io);
    if (store) this.history.push([0, count, req.code, outcome.status === "ok" ? outcome.resultText ?? null : null]);
    if (outcome.status === "ok") return { status: "ok", execution_count: count, payload: [], user_expressions: {} };
    // Requests queued before the failure are aborted, as ipykernel does, unless the client asked to go on.
    if (req.stop_on_error !== false) this.abortThrough = this.received;
    const { ename, evalue, traceback } = outcome;
    return { status: "error", execution_count: count, ename, evalue, traceback };
  }

  private historyFor(c: Content): unknown[] {
    const row = ([s, n, input, output]: (typeof this.history)[number]) => [s, n, c.output ? [input, output] : input];
    const n = Number(c.n ?? this.history.length);
    let entries = this.history;
    if (c.hist_access_type === "range") {
      const start = Number(c.start ?? 0), stop = Number(c.stop ?? Infinity);
      return entries.filter(([, line]) => line >= start && line < stop).map(row);
    }
    if (c.hist_access_type === "search") {
      const glob = new RegExp("^" + String(c.pattern ?? "*").replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") + "$", "s");
      entries = entries.filter(([, , input]) => glob.test(input));
      if (c.unique) entries = entries.filter(([, , input], i) => entries.findIndex((e) => e[2] === input) === i);
    }
    return entries.slice(-n).map(row);
  }
}
