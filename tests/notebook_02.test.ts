import { strict as assert } from "assert";
import { notebookResults, runTutorial } from "./notebook_runner";
import { PLOTLY_MIME } from "../lib/display/plotly";



describe("notebook 02-llama-architecture (run headless by `llamalab run` with a parameter override)", function () {
  this.timeout(1800000);

  it("shows RoPE, masks, GQA, parameter counts and attention heatmaps with correct numbers", () => {
    const outputs = runTutorial("02-llama-architecture.ipynb", { STEPS: 60 });
    const heatmaps = outputs.filter((o) => (o.data?.[PLOTLY_MIME] as { data?: { type?: string }[] } | undefined)?.data?.[0]?.type === "heatmap");
    assert.ok(heatmaps.length >= 8, `expected embedding, RoPE, 3 mask and 4 attention heatmaps, found ${heatmaps.length}`);
    const r = notebookResults(outputs) as Record<string, number> & { gqaSharing: number[] };
    assert.equal(r.formulaMatchesModel, true, "the parameter formula counts the model's parameters");
    assert.equal(r.llama2_7bParameters, 6738415616, "Llama 2 7B's published parameter count");
    assert.ok(r.ropeRelativeError < 1e-4, `RoPE scores depend on m − n only (error ${r.ropeRelativeError})`);
    assert.equal(r.causalFutureAllowed, 0, "the causal mask hides every future key");
    assert.ok(r.attentionFutureMass < 1e-6 && r.rowSumError < 1e-5);
    assert.deepEqual(r.gqaSharing, [0, 0, 0, 0, 1, 1, 1, 1]);
    assert.ok(r.finalLoss < r.firstLoss - 0.5, `the quick training run learns (loss ${r.firstLoss} → ${r.finalLoss})`);
  });
});
