import { strict as assert } from "assert";
import { runTutorial } from "./notebook_runner";
import { PLOTLY_MIME } from "../lib/display/plotly";


describe("notebook 06-distributed-training (run headless by `llamalab run` with a parameter override)", function () {
  this.timeout(1_800_000);

  it("shards, visualises the all-reduce, shows N-worker equivalence, measures the speedup, survives a fault and exports for PyTorch", () => {
    const outputs = runTutorial("06-distributed-training.ipynb", { benchSteps: 3 });
    assert.ok(outputs.filter((o) => o.data?.[PLOTLY_MIME]).length >= 2, "the ring all-reduce heatmap and the throughput chart");
    const found = outputs.filter((o) => o.data?.["application/json"]).pop();
    assert.ok(found, "the last cell displays its results as application/json");
    const r = found.data!["application/json"] as Record<string, number & string & string[]>;
    for (const n of [1, 2, 3]) {
      const diff = r[`maxAbsDiffN${n}`] as number;
      assert.ok(Number.isFinite(diff) && diff <= r.tolerance, `${n} workers vs one process: max |Δparam| ${diff} > ${r.tolerance}`);
    }
    assert.ok(r.maxUpdate > 100 * r.tolerance, "training moved the weights far beyond the tolerance");
    assert.equal(r.replicasIdentical, 1, "replicas bit-identical");
    assert.equal(r.workers, r.cores, "one worker per core");
    for (const k of ["stepsPerSec1", "stepsPerSecN", "tokensPerSec1", "tokensPerSecN", "speedup"]) {
      assert.ok(Number.isFinite(r[k]) && r[k] > 0, `${k} was measured (${r[k]})`);
    }
    assert.ok(Math.abs(r.speedup - r.stepsPerSecN / r.stepsPerSec1) < 1e-9, "speedup is the measured ratio");
    assert.match(r.faultMessage, /data-parallel worker 1 failed at step 3: injected fault/);
    assert.equal(r.checkpointStepAfterFault, 2, "the checkpoint before the fault is intact");
    assert.equal(r.resumedStep, 4, "resumed from step 2 on a different worker count");
    for (const f of ["config.json", "model.safetensors", "continue_training.py", "train_ids.jsonl"]) {
      assert.ok((r.exportFiles as string[]).includes(f), `export has ${f}`);
    }
  });
});
