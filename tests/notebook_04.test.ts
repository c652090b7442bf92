import { strict as assert } from "assert";
import { joined, runTutorial } from "./notebook_runner";
import { PLOTLY_MIME } from "../lib/display/plotly";


describe("notebook 04: fine-tuning text classification (run headless by `llamalab run` with a parameter override)", function () {
  this.timeout(1200000);

  it("fine-tunes a Llama classifier on SpamAssassin that beats the majority baseline by 8 points", () => {
    const outputs = runTutorial("04-fine-tuning-text-classification.ipynb", { SEED: 42 });
    const texts = outputs.map((o) => joined(o.text) + joined(o.data?.["text/plain"] as string | string[] | undefined));
    assert.ok(texts.some((t) => /fine-tuning: step \d+\/\d+/.test(t)), "a fine-tuning progress bar");
    assert.ok(texts.some((t) => /confusion matrix/.test(t)) && texts.some((t) => /misclassified/.test(t)));
    assert.ok(outputs.filter((o) => o.data?.[PLOTLY_MIME]).length >= 4, "live evaluation plots, the bar chart and the comparison");

    const found = outputs.filter((o) => o.data?.["application/json"]).pop();
    assert.ok(found, "the last cell displays its results as application/json");
    const r = found.data!["application/json"] as Record<string, number> & { savedId2label: Record<string, string> };
    assert.ok(r.steps > 0 && r.testEmails > 0);
    assert.ok(r.majorityAccuracy > 0.6 && r.majorityAccuracy < 0.75, `the test split keeps the corpus' spam share (${r.majorityAccuracy})`);
    assert.ok(r.accuracy > r.majorityAccuracy + 0.08, `accuracy ${r.accuracy} should beat the majority baseline ${r.majorityAccuracy} by 8 points`);
    assert.ok(r.macroF1 > r.majorityMacroF1 + 0.2, `macro F1 ${r.macroF1} vs majority ${r.majorityMacroF1}`);
    assert.ok(r.scratchAccuracy > r.majorityAccuracy, "the from-scratch run learns too");
    assert.ok(r.bagOfWordsAccuracy > r.majorityAccuracy + 0.1, "the bag-of-words baseline is a real baseline");
    assert.ok(r.pretrainLossEnd < r.pretrainLossStart - 0.5, `pretraining lowers the loss (${r.pretrainLossStart} → ${r.pretrainLossEnd})`);
    assert.equal(r.misclassified, Math.round((1 - r.accuracy) * r.testEmails), "predict() on raw strings agrees with evaluate()");
    assert.deepEqual(r.savedId2label, { 0: "ham", 1: "spam" }, "the label map is saved with the best model");
    assert.equal(r.reloadedAgreement, 1, "the model reloaded from best/ predicts exactly as the trained one");
  });
});
