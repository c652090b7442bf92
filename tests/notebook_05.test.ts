import { strict as assert } from "assert";
import { notebookResults, runTutorial } from "./notebook_runner";
import { PLOTLY_MIME } from "../lib/display/plotly";



describe("notebook 05-mixed-precision (run headless by `llamalab run` with a parameter override)", function () {
  this.timeout(1800000);

  it("runs without errors; fp16 + loss scaling ends within the stated tolerance of fp32; fp16 without scaling loses gradient entries", () => {
    const outputs = runTutorial("05-mixed-precision.ipynb", { GROWTH_INTERVAL: 10 });
    const r = notebookResults(outputs) as {
      tolerance: number; fp16VsFp32: number; finalLoss: Record<string, number>; underflowNoScaling: number; underflowScaled: number;
      underflowNoScalingAccumulated: number; underflowScaledAccumulated: number; underflowBf16: number; scaleTrace: number[]; steps: number;
    };
    for (const [k, v] of Object.entries(r.finalLoss)) assert.ok(Number.isFinite(v), `${k} final loss is finite`);
    assert.ok(r.fp16VsFp32 <= r.tolerance, `fp16 + scaling ends ${r.fp16VsFp32} from fp32 (tolerance ${r.tolerance})`);
    assert.ok(r.underflowNoScaling > 0.001, `fp16 without scaling flushes ${r.underflowNoScaling} of gradient entries`);
    assert.ok(r.underflowNoScalingAccumulated > r.underflowNoScaling, "a smaller loss (÷ accumulation steps) loses more");
    assert.ok(r.underflowScaled < r.underflowNoScaling / 10 && r.underflowScaledAccumulated < r.underflowNoScalingAccumulated / 10, "scaling recovers them");
    assert.equal(r.underflowBf16, 0, "bf16 flushes nothing");
    assert.equal(r.scaleTrace.length, r.steps, "one loss scale per step");
    assert.ok(outputs.filter((o) => o.data?.[PLOTLY_MIME]).length >= 5, "formats, underflow, scale trace and loss curves are plotted");
  });
});
