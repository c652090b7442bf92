import { strict as assert } from "assert";
import { ChildProcess, spawn } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { KernelManager, KernelMessage, ServerConnection, SessionManager } from "@jupyterlab/services";
import { kernelJupyterPath } from "./notebook_runner";

/** Drives the kernel through a real `jupyter server` (127.0.0.1, token auth) with JupyterLab's own client library. */
describe("kernel through a real Jupyter server (@jupyterlab/services)", function () {
  this.timeout(300000);
  let server: ChildProcess | undefined;
  let settings: ServerConnection.ISettings;
  let sessions: SessionManager;
  let kernels: KernelManager;

  before(async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const token = randomBytes(16).toString("hex");
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "llamalab-server-"));
    server = spawn("/usr/bin/python3", ["-m", "jupyter_server", "--no-browser", ...(process.getuid?.() === 0 ? ["--allow-root"] : []), `--ServerApp.ip=127.0.0.1`, `--ServerApp.port=${port}`, `--ServerApp.token=${token}`, `--ServerApp.root_dir=${root}`], {
      env: { ...process.env, JUPYTER_PATH: kernelJupyterPath(), JUPYTER_RUNTIME_DIR: path.join(root, ".runtime") }, stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    server.stderr!.on("data", (d) => (log += d));
    const baseUrl = `http://127.0.0.1:${port}/`;
    const deadline = Date.now() + 60000;
    for (;;) {
      const ok = await fetch(`${baseUrl}api?token=${token}`).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > deadline || server.exitCode !== null) throw new Error(`jupyter server did not start (is python3-jupyter-server installed?):\n${log}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    // Node 20 has no global WebSocket; `ws` provides one. ServiceManager crashes on server 1.x, so the managers are built by hand.
    settings = ServerConnection.makeSettings({ baseUrl, wsUrl: baseUrl.replace("http", "ws"), token, WebSocket: require("ws") as never, appendToken: true });
    kernels = new KernelManager({ serverSettings: settings });
    sessions = new SessionManager({ serverSettings: settings, kernelManager: kernels });
  });

  after(async () => {
    sessions?.dispose();
    kernels?.dispose();
    if (server && server.exitCode === null) {
      server.kill("SIGTERM");
      await new Promise((r) => setTimeout(r, 1000));
      if (server.exitCode === null) server.kill("SIGKILL");
    }
  });

  it("starts a session, runs cells with execute_result and error, completes, interrupts and shuts down", async () => {
    const specs = await fetch(`${settings.baseUrl}api/kernelspecs?token=${settings.token}`).then((r) => r.json()) as { kernelspecs: Record<string, { spec: { interrupt_mode: string } }> };
    assert.equal(specs.kernelspecs.llamalab.spec.interrupt_mode, "message");
    const session = await sessions.startNew({ name: "t.ipynb", path: "t.ipynb", type: "notebook", kernel: { name: "llamalab" } });
    const kernel = session.kernel!;
    const info = await kernel.info;
    assert.equal(info.implementation, "llamalab");
    assert.equal((info as unknown as { status: string }).status, "ok");

    const run = async (code: string) => {
      const outputs: KernelMessage.IIOPubMessage[] = [];
      const future = kernel.requestExecute({ code, stop_on_error: false });
      future.onIOPub = (msg) => { if (!["status", "execute_input"].includes(msg.header.msg_type)) outputs.push(msg); };
      const reply = await future.done;
      return { reply: reply.content, outputs };
    };
    const ok = await run("const x = 20;\nx * 2 + 2");
    assert.equal(ok.reply.status, "ok");
    const result = ok.outputs.find((m) => m.header.msg_type === "execute_result");
    assert.equal((result!.content as KernelMessage.IExecuteResultMsg["content"]).data["text/plain"], "42");

    const bad = await run("(null as any).boom");
    assert.equal(bad.reply.status, "error");
    const error = bad.outputs.find((m) => m.header.msg_type === "error")!.content as KernelMessage.IErrorMsg["content"];
    assert.equal(error.ename, "TypeError");

    const completion = await kernel.requestComplete({ code: "llama.trainSt", cursor_pos: 13 });
    assert.deepEqual(completion.content.status === "ok" && completion.content.matches, ["trainSteps"]);

    const loop = run("let n = 0;\nwhile (true) { n++; await new Promise((r) => setTimeout(r, 5)); }");
    await new Promise((r) => setTimeout(r, 800));
    await kernel.interrupt();
    const interrupted = await loop;
    assert.equal(interrupted.reply.status, "error");
    assert.equal((interrupted.outputs.find((m) => m.header.msg_type === "error")!.content as KernelMessage.IErrorMsg["content"]).ename, "KeyboardInterrupt");
    assert.equal((await run("x")).reply.status, "ok", "the kernel survived and kept its state");

    await session.shutdown();
  });
});
