import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { declaredParameters, injectParameters, parseParameter, RunManifest } from "../kernel/runner";

const BIN = path.resolve(__dirname, "..", "..", "bin", "llamalab.js");

function notebook(cells: { source: string; tags?: string[] }[]): object {
  return {
    cells: cells.map((c, i) => ({ cell_type: "code", id: `c${i}`, metadata: c.tags ? { tags: c.tags } : {}, source: c.source, outputs: [], execution_count: null })),
    metadata: { kernelspec: { name: "llamalab", display_name: "Llama Lab (TypeScript)", language: "typescript" } },
    nbformat: 4, nbformat_minor: 5,
  };
}

// A tiny seeded training run: the final loss depends on seed and steps only.
const TRAINING = notebook([
  { source: "const steps = 2;\nconst seed = 1;", tags: ["parameters"] },
  { source: "const cfg = new llama.LlamaConfig({ vocab_size: 20, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2 });\n" +
    "const model = new llama.LlamaForCausalLM(cfg, { seed });\nconst rng = new llama.Random(seed);\n" +
    "const ids = tf.tensor2d([Array.from({ length: 6 }, () => rng.int(20))], [1, 6], 'int32');\n" +
    "const opt = new llama.AdamW(model.namedParameters(), { lr: 0.01 });\n" +
    "const logs = await llama.trainSteps({ params: model.namedParameters(), optimizer: opt, batches: () => ids, steps, lossFn: () => ({ loss: model.forward(ids).square().mean() as tf.Scalar }) });" },
  { source: "llama.display({ 'application/json': { steps: logs.length, finalLoss: logs[logs.length - 1].loss }, 'text/plain': 'results' });" },
]);

function run(nbPath: string, args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, "run", nbPath, ...args], { encoding: "utf8", cwd: path.dirname(nbPath) });
  return { status: r.status, stderr: r.stderr };
}

describe("llamalab run (headless notebooks)", function () {
  this.timeout(600000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "llamalab-run-"));

  it("llamalab --help (also after a command) prints the usage on stdout and exits 0; an unknown command exits 2 naming it", () => {
    for (const flag of [["--help"], ["-h"], ["help"], ["run", "--help"], ["install", "-h"]]) {
      const r = spawnSync(process.execPath, [BIN, ...flag], { encoding: "utf8" });
      assert.equal(r.status, 0, flag.join(" "));
      assert.match(r.stdout, /Usage:[\s\S]*llamalab run NOTEBOOK[\s\S]*llamalab install/, flag.join(" "));
    }
    const bad = spawnSync(process.execPath, [BIN, "trian"], { encoding: "utf8" });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown command 'trian'/);
  });

  it("parses -p values as JSON when they are JSON, as text otherwise", () => {
    assert.deepEqual(parseParameter("steps=10"), ["steps", 10]);
    assert.deepEqual(parseParameter("name=tiny"), ["name", "tiny"]);
    assert.deepEqual(parseParameter('xs=[1,2]'), ["xs", [1, 2]]);
    assert.throws(() => parseParameter("1x=2"), /identifier/);
    assert.deepEqual(declaredParameters("const steps = 2; // CI\nlet lr = 0.5;\nconst name = 'a';"), { steps: 2, lr: 0.5, name: "a" });
  });

  it("injects parameters after the parameters cell, replacing an earlier injection", () => {
    const nb = injectParameters(TRAINING as never, { steps: 3 });
    const again = injectParameters(nb, { steps: 4 });
    assert.deepEqual(again.cells.map((c) => c.metadata.tags ?? []), [["parameters"], ["injected-parameters"], [], []]);
    assert.match(String((again.cells[1].source as string[]).join("")), /const steps = 4;/);
  });

  it("runs a notebook with an override, writes outputs, HTML and manifest; same seed gives the same metrics", () => {
    const nbPath = path.join(dir, "train.ipynb");
    fs.writeFileSync(nbPath, JSON.stringify(TRAINING));
    const manifests: RunManifest[] = [];
    for (const name of ["a", "b"]) {
      const out = path.join(dir, `${name}.ipynb`);
      const r = run(nbPath, ["-p", "steps=3", "-o", out, "--html", path.join(dir, `${name}.html`)]);
      assert.equal(r.status, 0, r.stderr);
      manifests.push(JSON.parse(fs.readFileSync(path.join(dir, `${name}.manifest.json`), "utf8")));
      const executed = JSON.parse(fs.readFileSync(out, "utf8"));
      assert.deepEqual(executed.cells[1].metadata.tags, ["injected-parameters"]);
      assert.match(fs.readFileSync(path.join(dir, `${name}.html`), "utf8"), /finalLoss/);
    }
    const [a, b] = manifests;
    assert.equal((a.metrics as { steps: number }).steps, 3, "the override took effect");
    assert.deepEqual(a.parameters, { steps: 3, seed: 1 });
    assert.equal(a.seed, 1);
    assert.ok(a.backend && a.versions.node === process.version && a.versions.tfjs);
    assert.ok(a.backend === "wasm" ? a.backendThreads! >= 1 : a.backendThreads === null, `backendThreads ${a.backendThreads} on ${a.backend}`);
    assert.ok(a.durationS > 0 && a.cells.length === 4);
    assert.deepEqual(a.metrics, b.metrics, "same seed and backend, same metrics");
  });

  it("records a seed declared as SEED, as the tutorials declare it", () => {
    const nbPath = path.join(dir, "seeded.ipynb");
    fs.writeFileSync(nbPath, JSON.stringify(notebook([{ source: "const SEED = 7;", tags: ["parameters"] }, { source: "const x = SEED + 1;" }])));
    const r = run(nbPath, ["-p", "SEED=9", "-o", path.join(dir, "seeded.out.ipynb")]);
    assert.equal(r.status, 0, r.stderr);
    const m = JSON.parse(fs.readFileSync(path.join(dir, "seeded.out.manifest.json"), "utf8")) as RunManifest;
    assert.equal(m.seed, 9);
  });

  it("exits non-zero naming the failing cell, and still writes the notebook", () => {
    const nbPath = path.join(dir, "fails.ipynb");
    fs.writeFileSync(nbPath, JSON.stringify(notebook([{ source: "const a = 1;" }, { source: "throw new RangeError('bad value');" }, { source: "console.log('never')" }])));
    const r = run(nbPath, ["-o", path.join(dir, "fails.out.ipynb")]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cell 1 \(c1\) failed: RangeError: bad value/);
    const manifest: RunManifest = JSON.parse(fs.readFileSync(path.join(dir, "fails.out.manifest.json"), "utf8"));
    assert.equal(manifest.status, "failed");
    const executed = JSON.parse(fs.readFileSync(path.join(dir, "fails.out.ipynb"), "utf8"));
    assert.equal(executed.cells[1].outputs[0].ename, "RangeError");
    assert.deepEqual(executed.cells[2].outputs, [], "cells after the failure are not run");
  });
});
