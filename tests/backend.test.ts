import { strict as assert } from "assert";
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
