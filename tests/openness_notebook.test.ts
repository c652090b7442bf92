import { strict as assert } from "assert";
import * as path from "path";
import { allOutputs, runNotebookHeadless } from "./notebook_runner";

const NOTEBOOK = path.resolve(__dirname, "..", "..", "notebooks", "07-openness-analysis.ipynb");

describe("notebook 07: openness analysis (run headless by `llamalab run` with a parameter override)", function () {
  this.timeout(600000);

  it("runs without errors and publishes the computed verdicts", () => {
    const nb = runNotebookHeadless(NOTEBOOK, { releaseTrainingData: true });
    const outputs = allOutputs(nb);
    assert.ok(outputs.every((o) => o.output_type !== "error"), "a cell raised an error");
    const json = outputs.map((o) => o.data?.["application/json"]).filter((d) => d !== undefined);
    assert.ok(json.length > 0, "the last cell should display application/json results");
    const results = json[json.length - 1] as Record<string, { mofClass: string; osaid: boolean; indexScore: number }>;
    assert.equal(results["olmo-7b"].mofClass, "Class I");
    assert.equal(results["pythia"].mofClass, "Class I");
    assert.equal(results["olmo-7b"].osaid, true);
    for (const id of ["llama-1", "llama-2", "llama-3", "llama-3.1", "llama-3.2"]) {
      assert.equal(results[id].mofClass, "Unclassified", id);
      assert.equal(results[id].osaid, false, id);
    }
    assert.ok(results["olmo-7b"].indexScore > results["llama-2"].indexScore);
    const tagged = nb.cells.filter((c) => c.metadata.tags?.includes("parameters"));
    assert.equal(tagged.length, 1, "one cell tagged parameters");
  });
});
