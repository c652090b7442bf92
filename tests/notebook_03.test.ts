import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { joined, notebookResults, runTutorial } from "./notebook_runner";
import { PLOTLY_MIME } from "../lib/display/plotly";



describe("notebook 03-causal-lm-pretraining (run headless by `llamalab run` with a parameter override)", function () {
  this.timeout(1800000);

  it("pretrains a causal LM that beats the unigram baseline, streams generations, and reloads its checkpoint exactly", () => {
    const outputs = runTutorial("03-causal-lm-pretraining.ipynb", { GEN_TOKENS: 30 });
    const r = notebookResults(outputs) as Record<string, number> & { samples: Record<string, string[]>; checkpointDir: string };
    assert.ok(r.steps > 0 && Number.isFinite(r.finalLoss));
    assert.ok(r.perplexity < r.unigramPerplexity, `held-out perplexity ${r.perplexity} should beat the unigram baseline ${r.unigramPerplexity}`);
    assert.ok(r.reloadMaxAbsDiff <= 1e-6, `reloaded logits differ by ${r.reloadMaxAbsDiff}`);
    assert.equal(r.tokenizerReloadSame, true, "the saved tokenizer.json encodes like the trained tokenizer");
    assert.equal(r.cacheSameTokens, true, "cached and uncached greedy decoding agree");
    assert.ok(r.generationTokensPerSec > 0 && r.uncachedTokensPerSec > 0);
    for (const f of ["config.json", "model.safetensors", "tokenizer.json"]) assert.ok(fs.existsSync(path.join(r.checkpointDir, f)), `checkpoint has ${f}`);
    // Streaming: each generation output was first shown, then updated in place as tokens arrived.
    const streamed = outputs.filter((o) => o.output_type === "display_data" && /tokens\/s/.test(joined(o.data?.["text/plain"] as string | string[])));
    assert.ok(streamed.length >= 3, `expected 3 streamed generations, found ${streamed.length}`);
    for (const kind of ["before", "greedy", "sampled"]) assert.equal(r.samples[kind].length, 2, `two ${kind} samples`);
    assert.ok(outputs.some((o) => o.data?.[PLOTLY_MIME]), "the loss chart is plotted");
  });
});
