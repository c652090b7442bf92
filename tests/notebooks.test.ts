import { strict as assert } from "assert";
import * as path from "path";
import { NOTEBOOKS, allOutputs, executeNotebook, joined, assertNoErrorOutputs, notebookResults, runTutorial } from "./notebook_runner";
import { PLOTLY_MIME } from "../lib/display/plotly";




describe("notebooks (executed through the kernel by nbconvert)", function () {
  this.timeout(1800000);

  it("01-mlm-nsp-pretraining trains, plots, and beats the MLM baseline on held-out chapters", () => {
    const nb = executeNotebook(path.join(NOTEBOOKS, "01-mlm-nsp-pretraining.ipynb"), { cwd: NOTEBOOKS });
    const outputs = allOutputs(nb);
    assertNoErrorOutputs(outputs);
    const plots = outputs.filter((o) => o.data?.[PLOTLY_MIME]);
    assert.ok(plots.length >= 2, `expected Plotly outputs, found ${plots.length}`);
    for (const p of plots) {
      assert.match(joined(p.data!["text/html"] as string | string[]), /Plotly\.newPlot/, "each plot also renders from HTML");
      assert.ok(joined(p.data!["text/plain"] as string | string[]).length > 0, "each plot has a text fallback");
    }
    assert.match(joined(plots[0].data!["text/html"] as string | string[]), /plotly\.js v\d/, "the first plot embeds plotly.js (no CDN)");
    const r = notebookResults<Record<string, number>>(outputs);
    assert.ok(r.steps > 0 && Number.isFinite(r.finalLoss));
    assert.ok(r.mlmAccuracy > r.mlmBaseline + 0.03, `MLM accuracy ${r.mlmAccuracy} should beat the baseline ${r.mlmBaseline} by 3 points`);
    assert.ok(r.nspAccuracy >= 0 && r.nspAccuracy <= 1);
    const progress = outputs.map((o) => joined(o.data?.["text/plain"] as string | string[] | undefined)).filter((t) => /pretraining: step/.test(t));
    assert.equal(progress.length, 1, "the live progress display is one output, updated in place");
    assert.match(progress[0], new RegExp(`step ${r.steps}/${r.steps} .*done in`), "its final state is saved in the notebook");
  });

  it("01-mlm-nsp-pretraining also runs headless with `llamalab run` and a parameter override", () => {
    const outputs = runTutorial("01-mlm-nsp-pretraining.ipynb", { STEPS: 20 });
    assert.equal(notebookResults<Record<string, number>>(outputs).steps, 20, "the injected STEPS=20 took effect");
  });
});
