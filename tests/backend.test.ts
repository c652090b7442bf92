import { strict as assert } from "assert";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";

const INDEX = path.resolve(__dirname, "..", "lib", "index.js");

/** Runs a fresh Node process that initialises the backend, as a notebook kernel does. */
function initIn(env: Record<string, string | undefined>): { stdout: string; stderr: string; status: number | null } {
  const code = `require(${JSON.stringify(INDEX)}).initBackend().then(async (b) => { console.log("chose " + b); ` +
    `await require(${JSON.stringify(INDEX)}).initBackend(); }).catch((e) => { console.error(e.message); process.exit(3); });`;
  const r = spawnSync(process.execPath, ["-e", code], { encoding: "utf8", env: { ...process.env, ...env } });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

describe("backend selection", function () {
  this.timeout(60000);

  it("picks the best backend present and names it exactly once", () => {
    const r = initIn({ LLAMALAB_BACKEND: undefined });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split("\n").filter((l) => l.startsWith("llamalab: using the"));
    assert.equal(lines.length, 1, `printed once: ${r.stdout}`);
    // tfjs-node(-gpu) cannot be installed here (its install downloads a binary), so wasm must win over cpu.
    let native = false;
    try { require.resolve("@tensorflow/tfjs-node"); native = true; } catch { /* not installed */ }
    assert.match(r.stdout, native ? /chose tensorflow/ : /chose wasm/);
  });

  it("obeys LLAMALAB_BACKEND", () => {
    const r = initIn({ LLAMALAB_BACKEND: "cpu" });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /using the cpu backend \(forced by LLAMALAB_BACKEND\)/);
  });

  it("rejects an unknown or unavailable backend with advice", () => {
    const bad = initIn({ LLAMALAB_BACKEND: "tpu" });
    assert.equal(bad.status, 3);
    assert.match(bad.stderr, /LLAMALAB_BACKEND=tpu is not a backend.*tensorflow-gpu, tensorflow, wasm, cpu/);
    let native = false;
    try { require.resolve("@tensorflow/tfjs-node-gpu"); native = true; } catch { /* not installed */ }
    if (!native) {
      const missing = initIn({ LLAMALAB_BACKEND: "tensorflow-gpu" });
      assert.equal(missing.status, 3);
      assert.match(missing.stderr, /could not be loaded \(is @tensorflow\/tfjs-node-gpu installed\?\)/);
    }
  });
});

describe("wasm threads", function () {
  this.timeout(120000);

  /** Trains a small model 3 steps in a fresh process; returns its log line and a hash of the trained weights. */
  function trainIn(env: Record<string, string | undefined>): { log: string; hash: string; status: number | null; stderr: string } {
    const lib = JSON.stringify(path.resolve(__dirname, "..", "lib"));
    const code = `
      const tf = require("@tensorflow/tfjs"); const crypto = require("crypto");
      const L = (m) => require(${lib} + "/" + m);
      L("backend").initBackend().then(async () => {
        const cfg = L("model/config").makeConfig({ vocab_size: 300, hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4,
          num_key_value_heads: 2, intermediate_size: 160, tie_word_embeddings: true });
        const model = new (L("model/causal_lm").LlamaForCausalLM)(cfg, { seed: 0 });
        const params = model.namedParameters();
        const optimizer = new (L("train/adamw").AdamW)(params, { lr: 1e-3 });
        const ids = tf.tensor2d(Array.from({ length: 256 }, (_, i) => (i * 7919) % 300), [4, 64], "int32");
        const labels = tf.tensor2d(Array.from({ length: 256 }, (_, i) => (i * 104729 + 3) % 300), [4, 64], "int32");
        const ce = L("train/losses").maskedCrossEntropy;
        await L("train/loop").trainSteps({ params, optimizer, batches: () => null, steps: 3, clipNorm: 1,
          lossFn: () => ({ loss: ce(model.forward(ids), labels).loss }) });
        const h = crypto.createHash("sha256");
        for (const [, p] of params) h.update(Buffer.from(p.dataSync().buffer));
        console.log("hash " + h.digest("hex"));
      }).catch((e) => { console.error(e.message); process.exit(3); });`;
    // No explicit exit: the process must end by itself (idle pool threads may not keep Node alive).
    const r = spawnSync(process.execPath, ["-e", code], { encoding: "utf8", timeout: 60000, env: { ...process.env, LLAMALAB_BACKEND: "wasm", ...env } });
    return { log: r.stdout.split("\n")[0] ?? "", hash: r.stdout.match(/hash (\w+)/)?.[1] ?? "", status: r.status, stderr: r.stderr };
  }

  it("uses one thread per core by default, obeys LLAMALAB_WASM_THREADS, gives identical weights, and lets Node exit", () => {
    const cores = Math.min(os.cpus().length, 8);
    const byDefault = trainIn({ LLAMALAB_WASM_THREADS: undefined });
    const one = trainIn({ LLAMALAB_WASM_THREADS: "1" });
    const three = trainIn({ LLAMALAB_WASM_THREADS: "3" });
    for (const r of [byDefault, one, three]) assert.equal(r.status, 0, `exits by itself with status 0: ${r.stderr}`);
    assert.match(byDefault.log, new RegExp(`using the wasm backend \\(${cores} threads?\\)`));
    assert.match(one.log, /using the wasm backend \(1 thread\)/);
    assert.match(three.log, /using the wasm backend \(3 threads\)/);
    assert.match(one.hash, /^[0-9a-f]{64}$/);
    assert.equal(byDefault.hash, one.hash, "same weights whatever the thread count");
    assert.equal(three.hash, one.hash, "same weights whatever the thread count");
  });

  it("rejects a bad LLAMALAB_WASM_THREADS with what to set instead", () => {
    for (const bad of ["0", "two", "9"]) {
      const r = initIn({ LLAMALAB_BACKEND: "wasm", LLAMALAB_WASM_THREADS: bad });
      assert.equal(r.status, 3, `${bad}: ${r.stdout}`);
      assert.match(r.stderr, new RegExp(`LLAMALAB_WASM_THREADS=${bad}: give a whole number of threads from 1 to 8`));
    }
  });
});
