import { ChildProcess, spawn } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { decode, encode, Message, newHeader } from "./wire";

/**
 * A minimal Jupyter client: starts a kernel process with a fresh connection file and speaks the protocol to it over
 * ZeroMQ (zeromq comes with tslab). Used by the headless runner, the start-up benchmark and the tests, so none of
 * them needs a Jupyter installation.
 */

/** One nbformat 4 output. */
export type NbOutput = Record<string, unknown> & { output_type: string };

/** The result of one execute_request: the reply's content and the outputs the cell produced, in nbformat. */
export interface Execution {
  reply: Record<string, unknown>;
  outputs: NbOutput[];
  /** Every iopub message of the request, in order (for protocol tests). */
  messages: Message[];
}

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<net.Server>((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => resolve(s));
  })));
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

interface Pending {
  outputs: NbOutput[];
  messages: Message[];
  idle: () => void;
  idleSeen: Promise<void>;
}

/** A running kernel and the sockets connected to it. */
export class KernelClient {
  private readonly session = randomBytes(16).toString("hex");
  private readonly replies = new Map<string, (m: Message) => void>();
  private readonly pending = new Map<string, Pending>();
  /** display_id → the outputs showing it, so update_display_data replaces them in place. */
  private readonly displays = new Map<string, NbOutput[]>();
  private sockets: { shell: import("zeromq").Dealer; control: import("zeromq").Dealer; iopub: import("zeromq").Subscriber } | undefined;
  private sending: Promise<unknown> = Promise.resolve();
  /** The kernel's stderr (its own log), for error messages. */
  log = "";

  private constructor(private readonly proc: ChildProcess, private readonly key: string, readonly connectionFile: string) {
    proc.stderr?.on("data", (d: Buffer) => { this.log = (this.log + d.toString()).slice(-20000); });
    proc.stdout?.on("data", (d: Buffer) => { this.log = (this.log + d.toString()).slice(-20000); });
  }

  /** Starts `argv` (with `{connection_file}` replaced) and waits until it answers kernel_info_request. */
  static async start(argv: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<KernelClient> {
    const [shell, iopub, stdin, control, hb] = await freePorts(5);
    const key = randomBytes(16).toString("hex");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "llamalab-kernel-"));
    const connectionFile = path.join(dir, "connection.json");
    fs.writeFileSync(connectionFile, JSON.stringify({
      shell_port: shell, iopub_port: iopub, stdin_port: stdin, control_port: control, hb_port: hb,
      ip: "127.0.0.1", key, transport: "tcp", signature_scheme: "hmac-sha256", kernel_name: "llamalab",
    }));
    const args = argv.map((a) => a.replace("{connection_file}", connectionFile));
    const proc = spawn(args[0], args.slice(1), { cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    const client = new KernelClient(proc, key, connectionFile);
    const zmq = await import("zeromq");
    const sockets = { shell: new zmq.Dealer(), control: new zmq.Dealer(), iopub: new zmq.Subscriber() };
    sockets.shell.connect(`tcp://127.0.0.1:${shell}`);
    sockets.control.connect(`tcp://127.0.0.1:${control}`);
    sockets.iopub.connect(`tcp://127.0.0.1:${iopub}`);
    sockets.iopub.subscribe();
    client.sockets = sockets;
    void client.listen(sockets.shell, (m) => client.onReply(m));
    void client.listen(sockets.control, (m) => client.onReply(m));
    void client.listen(sockets.iopub, (m) => client.onIopub(m));
    const exited = new Promise<never>((_, reject) => proc.once("exit", (code) => reject(new Error(`the kernel exited (code ${code}) before it was ready:\n${client.log}`))));
    exited.catch(() => undefined);
    const deadline = Date.now() + (options.timeoutMs ?? 120000);
    // kernel_info until it answers: the kernel may bind its sockets after we connect, and early messages are lost.
    for (;;) {
      const reply = client.request("kernel_info_request", {}, "shell", 1000);
      const got = await Promise.race([reply.then(() => true, () => false), exited]);
      if (got) break;
      if (Date.now() > deadline) {
        client.kill();
        throw new Error(`the kernel did not answer kernel_info_request in time:\n${client.log}`);
      }
    }
    return client;
  }

  private async listen(sock: AsyncIterable<Buffer[]>, handle: (m: Message) => void): Promise<void> {
    try {
      for await (const frames of sock) {
        try {
          handle(decode(this.key, frames));
        } catch {
          // A message we cannot verify is ignored, as Jupyter clients do.
        }
      }
    } catch {
      // The socket was closed.
    }
  }

  private onReply(m: Message): void {
    const id = m.parent_header.msg_id;
    if (id) this.replies.get(id)?.(m);
  }

  private onIopub(m: Message): void {
    const p = m.parent_header.msg_id ? this.pending.get(m.parent_header.msg_id) : undefined;
    const c = m.content as Record<string, unknown>;
    if (m.header.msg_type === "update_display_data") {
      // Updates replace every output showing that display id, in any cell (as nbclient does).
      const id = (c.transient as { display_id?: string } | undefined)?.display_id;
      for (const out of (id && this.displays.get(id)) || []) Object.assign(out, { data: c.data, metadata: c.metadata ?? {} });
    }
    if (!p) return;
    p.messages.push(m);
    const out = toOutput(m);
    if (out) {
      const last = p.outputs[p.outputs.length - 1];
      if (out.output_type === "stream" && last?.output_type === "stream" && last.name === out.name) last.text = String(last.text) + String(out.text);
      else p.outputs.push(out);
      const id = (c.transient as { display_id?: string } | undefined)?.display_id;
      if (id && out.output_type === "display_data") this.displays.set(id, [...(this.displays.get(id) ?? []), out]);
    }
    if (m.header.msg_type === "clear_output") p.outputs.length = 0;
    if (m.header.msg_type === "status" && c.execution_state === "idle") p.idle();
  }

  /** Sends a request and resolves with its reply's message; rejects after `timeoutMs`. */
  request(msgType: string, content: Record<string, unknown>, channel: "shell" | "control" = "shell", timeoutMs = 0): Promise<Message> {
    if (!this.sockets) throw new Error("the kernel client is not connected");
    const header = newHeader(msgType, this.session);
    const reply = new Promise<Message>((resolve, reject) => {
      this.replies.set(header.msg_id, (m) => { this.replies.delete(header.msg_id); resolve(m); });
      if (timeoutMs) setTimeout(() => { this.replies.delete(header.msg_id); reject(new Error(`no ${msgType} reply in ${timeoutMs} ms`)); }, timeoutMs).unref();
    });
    void this.send(channel, encode(this.key, { identities: [], header, parent_header: {}, metadata: {}, content }));
    return reply;
  }

  // ZeroMQ sockets take one send at a time.
  private send(channel: "shell" | "control", frames: (string | Buffer)[]): Promise<unknown> {
    const sock = this.sockets?.[channel];
    this.sending = this.sending.then(() => sock?.send(frames)).catch(() => undefined);
    return this.sending;
  }

  /** Executes code and resolves when the kernel is idle again, with the reply and the outputs. */
  async execute(code: string, options: { silent?: boolean; storeHistory?: boolean; stopOnError?: boolean } = {}): Promise<Execution> {
    if (!this.sockets) throw new Error("the kernel client is not connected");
    const header = newHeader("execute_request", this.session);
    let idle!: () => void;
    const p: Pending = { outputs: [], messages: [], idle: () => idle(), idleSeen: new Promise<void>((r) => (idle = r)) };
    this.pending.set(header.msg_id, p);
    const reply = new Promise<Message>((resolve) => this.replies.set(header.msg_id, resolve));
    const content = { code, silent: options.silent ?? false, store_history: options.storeHistory ?? true, user_expressions: {}, allow_stdin: false, stop_on_error: options.stopOnError ?? true };
    await this.send("shell", encode(this.key, { identities: [], header, parent_header: {}, metadata: {}, content }));
    const [r] = await Promise.all([reply, p.idleSeen]);
    this.pending.delete(header.msg_id);
    this.replies.delete(header.msg_id);
    return { reply: r.content, outputs: p.outputs, messages: p.messages };
  }

  /** Asks the kernel to interrupt the running cell (interrupt_request on the control channel). */
  interrupt(): Promise<Message> {
    return this.request("interrupt_request", {}, "control");
  }

  /** The kernel's process id. */
  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** Shuts the kernel down politely, then for sure. */
  async shutdown(): Promise<void> {
    const exited = new Promise<void>((r) => (this.proc.exitCode !== null ? r() : this.proc.once("exit", () => r())));
    await this.request("shutdown_request", { restart: false }, "control", 3000).catch(() => undefined);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000).unref())]);
    this.kill();
  }

  /** Kills the kernel process and closes the sockets. */
  kill(): void {
    if (this.proc.exitCode === null) this.proc.kill("SIGKILL");
    if (this.sockets) for (const s of Object.values(this.sockets)) s.close();
    this.sockets = undefined;
    fs.rmSync(path.dirname(this.connectionFile), { recursive: true, force: true });
  }
}

/** The nbformat output for an iopub message, or undefined for messages that are not outputs. */
export function toOutput(m: Message): NbOutput | undefined {
  const c = m.content as Record<string, unknown>;
  switch (m.header.msg_type) {
    case "stream": return { output_type: "stream", name: c.name, text: c.text };
    case "display_data": return { output_type: "display_data", data: c.data, metadata: c.metadata ?? {} };
    case "execute_result": return { output_type: "execute_result", execution_count: c.execution_count, data: c.data, metadata: c.metadata ?? {} };
    case "error": return { output_type: "error", ename: c.ename, evalue: c.evalue, traceback: c.traceback };
    default: return undefined;
  }
}

/** The command line that starts the Llama Lab kernel with this package's files: the kernelspec's own argv. */
export function llamalabKernelArgv(extra: string[] = []): string[] {
  const { kernelSpec } = require(path.resolve(__dirname, "..", "..", "install.js")) as { kernelSpec(): { argv: string[] } };
  return [...kernelSpec().argv, ...extra];
}
