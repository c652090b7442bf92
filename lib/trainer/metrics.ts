/** Classification metrics: accuracy, precision, recall and F1 per class and macro-averaged, and the confusion matrix. */

/** One class's row of a {@link ClassificationReport}. */
export interface ClassMetrics {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  /** Number of true examples of this class. */
  support: number;
}

/** Everything {@link classificationReport} computes. */
export interface ClassificationReport {
  accuracy: number;
  macroPrecision: number;
  macroRecall: number;
  macroF1: number;
  perClass: ClassMetrics[];
  /** confusion[true][predicted] counts. */
  confusion: number[][];
}

/** confusion[t][p]: how many examples of true class t were predicted as p. */
export function confusionMatrix(yTrue: readonly number[], yPred: readonly number[], numClasses: number): number[][] {
  if (yTrue.length !== yPred.length) {
    throw new Error(`confusionMatrix: ${yTrue.length} true labels but ${yPred.length} predictions`);
  }
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  yTrue.forEach((t, i) => {
    const p = yPred[i];
    if (!(Number.isInteger(t) && t >= 0 && t < numClasses && Number.isInteger(p) && p >= 0 && p < numClasses)) {
      throw new Error(`confusionMatrix: example ${i} has true ${t}, predicted ${p}; both must be class ids in [0, ${numClasses})`);
    }
    m[t][p] += 1;
  });
  return m;
}

/**
 * Accuracy, per-class precision/recall/F1 and their unweighted (macro) means, as scikit-learn's
 * `classification_report` with zero_division=0: a class never predicted has precision 0.
 */
export function classificationReport(
  yTrue: readonly number[],
  yPred: readonly number[],
  labelNames: readonly string[],
): ClassificationReport {
  const k = labelNames.length;
  const confusion = confusionMatrix(yTrue, yPred, k);
  const safe = (a: number, b: number): number => (b === 0 ? 0 : a / b);
  const perClass = labelNames.map((label, c) => {
    const tp = confusion[c][c];
    const predicted = confusion.reduce((n, row) => n + row[c], 0);
    const support = confusion[c].reduce((n, x) => n + x, 0);
    const precision = safe(tp, predicted);
    const recall = safe(tp, support);
    return { label, precision, recall, f1: safe(2 * precision * recall, precision + recall), support };
  });
  const mean = (f: (m: ClassMetrics) => number): number => perClass.reduce((s, m) => s + f(m), 0) / Math.max(1, k);
  const correct = confusion.reduce((n, row, c) => n + row[c], 0);
  return {
    accuracy: safe(correct, yTrue.length),
    macroPrecision: mean((m) => m.precision),
    macroRecall: mean((m) => m.recall),
    macroF1: mean((m) => m.f1),
    perClass,
    confusion,
  };
}
