import { strict as assert } from "assert";
import { KernelClient, llamalabKernelArgv } from "../kernel/client";

/** Protocol behaviour of the kernel, driven over ZeroMQ by the package's own client (no Jupyter needed). */
describe("kernel protocol", function () {
  this.timeout(300000);
  let kernel: KernelClient;

  before(async () => {
    kernel = await KernelClient.start(llamalabKernelArgv());
  });
  after(async () => {
    await kernel?.shutdown();
  });

  it("answers kernel_info with status ok and protocol ≥ 5.3", async () => {
    const reply = await kernel.request("kernel_info_request", {});
    assert.equal(reply.content.status, "ok");
    const [major, minor] = String(reply.content.protocol_version).split(".").map(Number);
    assert.ok(major > 5 || (major === 5 && minor >= 3), `protocol ${reply.content.protocol_version}`);
    assert.equal((reply.content.language_info as { name: string }).name, "typescript");
  });

  it("sends execute_input, then an execute_result with rich reprs for the last expression", async () => {
    const r = await kernel.execute("const t = tf.tensor2d([[1, 2], [3, 4]]);\nt");
    assert.equal(r.reply.status, "ok");
    assert.equal(r.messages[0].header.msg_type, "status");
    assert.ok(r.messages.some((m) => m.header.msg_type === "execute_input" && m.content.code === "const t = tf.tensor2d([[1, 2], [3, 4]]);\nt"));
    const result = r.outputs.find((o) => o.output_type === "execute_result");
    assert.ok(result, "an execute_result");
    const data = result.data as Record<string, string>;
    assert.match(data["text/plain"], /shape=\[2, 2\] dtype=float32/);
    assert.match(data["text/plain"], /max 4\.0/);
    assert.match(data["text/html"], /<b>Tensor<\/b>/);
    assert.equal(result.execution_count, r.reply.execution_count);
  });

  it("shows a model summary and a config as tables", async () => {
    const r = await kernel.execute("const cfg = new llama.LlamaConfig({ vocab_size: 40, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 2, num_attention_heads: 2 });\n" +
      "const m = new llama.LlamaForCausalLM(cfg, { seed: 1 });\nm");
    const data = r.outputs.find((o) => o.output_type === "execute_result")!.data as Record<string, unknown>;
    const summary = data["application/json"] as { total: number; modules: { module: string; parameters: number }[] };
    const total = Number((await kernel.execute("m.numParameters()")).outputs.find((o) => o.output_type === "execute_result")!.data!["text/plain" as never]);
    assert.equal(summary.total, total, "the summary's total is the model's parameter count");
    assert.ok(summary.modules.some((x) => /layers\.1/.test(x.module)), "rows per layer");
    const cfg = (await kernel.execute("cfg")).outputs.find((o) => o.output_type === "execute_result")!.data as Record<string, unknown>;
    assert.equal((cfg["application/json"] as { num_hidden_layers: number }).num_hidden_layers, 2);
    assert.match(String(cfg["text/html"]), /<code>hidden_size<\/code>/);
  });

  it("reports a runtime error as one error message whose traceback points at the cell's line", async () => {
    const r = await kernel.execute("const a = 1;\n\nfunction f(o: any) {\n  return o.missing.deep;\n}\nf({});", { stopOnError: true });
    assert.equal(r.reply.status, "error");
    const errors = r.outputs.filter((o) => o.output_type === "error");
    assert.equal(errors.length, 1);
    assert.equal(errors[0].ename, "TypeError");
    assert.match(String(errors[0].evalue), /reading 'deep'/);
    const tb = (errors[0].traceback as string[]).join("\n");
    assert.match(tb, /Cell In\[\d+\], line 4:/);
    assert.match(tb, /return o\.missing\.deep/);
    assert.match(tb, /line 6:/, "the caller's line too");
    assert.ok(!r.outputs.some((o) => o.output_type === "stream" && o.name === "stderr"), "no stderr copy of the error");
  });

  it("reports a type error with the cell's line and column, and the kernel goes on", async () => {
    const r = await kernel.execute("const ok = 1;\nconst s: string = 42;");
    const error = r.outputs.find((o) => o.output_type === "error")!;
    assert.equal(error.ename, "TSError");
    assert.match(String(error.evalue), /line 2: Type 'number' is not assignable to type 'string'/);
    assert.match((error.traceback as string[]).join("\n"), /line 2, column 7/);
    const after = await kernel.execute("console.log('alive')");
    assert.equal(after.reply.status, "ok");
  });

  it("runs every queued request after an error when stop_on_error is false, aborts them otherwise", async () => {
    const [a, b] = await Promise.all([kernel.execute("throw new Error('x')", { stopOnError: false }), kernel.execute("1 + 1")]);
    assert.equal(a.reply.status, "error");
    assert.equal(b.reply.status, "ok");
    // The failing cell waits first, so the second request is surely queued when the error happens (under load
    // an instant failure could finish before the second request arrives, and then it is not "already queued").
    const [c, d] = await Promise.all([kernel.execute("await new Promise((r) => setTimeout(r, 1000));\nthrow new Error('y')"), kernel.execute("2 + 2")]);
    assert.equal(c.reply.status, "error");
    assert.equal(d.reply.status, "aborted");
    assert.equal((await kernel.execute("3 + 3")).reply.status, "ok", "requests sent after the failure run");
  });

  it("interrupt_request stops a cell awaiting in a loop; state before it stays; same process", async () => {
    await kernel.execute("let counter = 0;\nconst before = 'kept';");
    const pid = kernel.pid;
    const running = kernel.execute("while (true) { counter++; await new Promise((r) => setTimeout(r, 5)); }");
    await new Promise((r) => setTimeout(r, 700));
    const reply = await kernel.interrupt();
    assert.equal(reply.content.status, "ok");
    const r = await running;
    assert.equal(r.reply.status, "error");
    assert.equal(r.outputs.find((o) => o.output_type === "error")!.ename, "KeyboardInterrupt");
    const read = async () => Number((await kernel.execute("counter")).outputs.find((o) => o.output_type === "execute_result")!.data!["text/plain" as never]);
    const first = await read();
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(first > 0);
    assert.equal(await read(), first, "the loop no longer runs");
    const kept = await kernel.execute("before");
    assert.equal(kept.outputs.find((o) => o.output_type === "execute_result")!.data!["text/plain" as never], "'kept'");
    assert.equal(kernel.pid, pid);
  });

  it("interrupt stops llama.trainSteps at a step boundary", async () => {
    const running = kernel.execute("const w = tf.variable(tf.scalar(3));\nconst opt = new llama.AdamW([['w', w]], { lr: 0.01 });\nlet steps = 0;\n" +
      "const logs = await llama.trainSteps({ params: [['w', w]], optimizer: opt, batches: () => 0, steps: 100000, lossFn: () => ({ loss: w.square() as tf.Scalar }), " +
      "onStep: async () => { steps++; await new Promise((r) => setTimeout(r, 2)); } });\nconsole.log('stopped after', logs.length);");
    await new Promise((r) => setTimeout(r, 700));
    await kernel.interrupt();
    const r = await running;
    assert.equal(r.reply.status, "ok", "trainSteps returns normally at the step boundary");
    assert.match(String(r.outputs.find((o) => o.output_type === "stream")?.text), /stopped after \d+/);
    const read = async () => Number((await kernel.execute("steps")).outputs.find((o) => o.output_type === "execute_result")!.data!["text/plain" as never]);
    const first = await read();
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(first > 0 && first < 100000);
    assert.equal(await read(), first);
  });

  it("completes and inspects the preloaded library, counting positions in code points", async () => {
    const code = "const 名前 = '🦙🦙';\nllama.LlamaConf";
    const reply = await kernel.request("complete_request", { code, cursor_pos: [...code].length });
    assert.deepEqual(reply.content.matches, ["LlamaConfig"]);
    assert.equal(reply.content.cursor_end, [...code].length);
    assert.equal(reply.content.cursor_start, [...code].length - "LlamaConf".length);
    const full = code + "ig";
    const inspect = await kernel.request("inspect_request", { code: full, cursor_pos: [...full].length - 2, detail_level: 0 });
    assert.equal(inspect.content.found, true);
    assert.match(String((inspect.content.data as Record<string, string>)["text/plain"]), /LlamaConfig/);
    assert.equal((await kernel.execute("'still up'")).reply.status, "ok");
  });

  it("answers is_complete: complete, incomplete with an indent, invalid", async () => {
    const ask = async (code: string) => (await kernel.request("is_complete_request", { code })).content;
    assert.equal((await ask("const x = 1;")).status, "complete");
    assert.equal((await ask("for (let i = 0; i < 3; i++) {")).status, "incomplete");
    assert.equal((await ask("const = ;")).status, "invalid");
  });
});

describe("kernel start-up options", function () {
  this.timeout(300000);

  it("runs startup files in name order after the library, and shows their errors in the first cell", async () => {
    const dir = require("fs").mkdtempSync(require("path").join(require("os").tmpdir(), "llamalab-startup-"));
    require("fs").writeFileSync(`${dir}/01-greeting.ts`, "const greeting: string = 'hi ' + llama.backendName();");
    require("fs").writeFileSync(`${dir}/02-broken.ts`, "const broken: string = 1;");
    const kernel = await KernelClient.start(llamalabKernelArgv(["--startup-dir", dir]));
    try {
      const r = await kernel.execute("greeting");
      const stderr = r.outputs.filter((o) => o.output_type === "stream" && o.name === "stderr").map((o) => String(o.text)).join("");
      assert.match(stderr, /02-broken\.ts failed:[\s\S]*not assignable to type 'string'/);
      assert.match(String(r.outputs.find((o) => o.output_type === "execute_result")!.data!["text/plain" as never]), /^'hi (wasm|cpu|tensorflow)/);
    } finally {
      await kernel.shutdown();
    }
  });

  it("--no-preload starts without the library", async () => {
    const kernel = await KernelClient.start(llamalabKernelArgv(["--no-preload"]));
    try {
      const r = await kernel.execute("typeof llama");
      assert.equal(r.outputs.find((o) => o.output_type === "error")?.ename, "TSError", "`llama` is not declared");
      assert.equal((await kernel.execute("1 + 1")).reply.status, "ok");
    } finally {
      await kernel.shutdown();
    }
  });
});
