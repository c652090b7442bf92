import { strict as assert } from "assert";
import * as tf from "@tensorflow/tfjs";
import { attentionHeatmapBundle } from "../lib/display/attention_heatmap";
import { tensorBundle } from "../lib/display/tensor_view";
import { tokensBundle } from "../lib/display/token_view";

describe("rich displays (tokens, attention, tensors)", () => {
  it("shows tokens as coloured spans with ids, and rejects mismatched ids", () => {
    const b = tokensBundle(["He", "llo", " wor<ld>"], [5, 6, 7]);
    assert.equal((String(b["text/html"]).match(/<span/g) ?? []).length, 3);
    assert.match(String(b["text/html"]), /title="id 7"[^>]*>·wor&lt;ld&gt;/);
    assert.match(String(b["text/plain"]), /3 tokens: He\|llo\|·wor<ld>/);
    assert.throws(() => tokensBundle(["a"], [1, 2]), /1 tokens but 2 ids/);
  });

  it("draws an attention heatmap with one cell per weight and names each query's strongest key", () => {
    const b = attentionHeatmapBundle([[1, 0], [0.3, 0.7]], { tokens: ["a", "b"] });
    assert.equal((String(b["image/svg+xml"]).match(/<rect/g) ?? []).length, 4);
    assert.match(String(b["text/plain"]), /b → b \(0\.70\)/);
    assert.throws(() => attentionHeatmapBundle([[1, 0], [1]]), /equal length/);
  });

  it("previews a large tensor from its corner without leaking tensors", () => {
    const t = tf.range(0, 1000).reshape([10, 100]);
    const before = tf.memory().numTensors;
    const b = tensorBundle(t);
    assert.equal(tf.memory().numTensors, before);
    assert.match(String(b["text/plain"]), /shape=\[10, 100\] dtype=float32 size=1000\nmin 0\.0  max 999\.0/);
    assert.match(String(b["text/plain"]), /\[\[0\.0, 1\.0, 2\.0, …\]/);
    t.dispose();
  });
});
