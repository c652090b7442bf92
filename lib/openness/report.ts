/**
 * Tables and figures for the openness notebook, computed from the records by the classifiers (nothing hard-coded).
 */
import type { Figure } from "../display/plotly";
import { classifyMof, ComponentVerdict } from "./mof";
import { checkOsaid } from "./osaid";
import { indexScore } from "./index_score";
import { COMPONENT_INFO, MOF_COMPONENTS, ModelRecord } from "./schema";

/** The three frameworks' verdicts for one release. */
export interface OpennessResult {
  id: string;
  name: string;
  mofClass: string;
  mofProgress: { III: number; II: number; I: number };
  osaid: boolean;
  osaidReasons: string[];
  indexScore: number;
  indexMax: number;
}

/** Runs every classifier on every record. */
export function assessAll(records: readonly ModelRecord[]): OpennessResult[] {
  return records.map((r) => {
    const mof = classifyMof(r);
    const osaid = checkOsaid(r);
    const index = indexScore(r);
    return {
      id: r.id, name: r.name, mofClass: mof.label,
      mofProgress: { III: mof.progress.III.fraction, II: mof.progress.II.fraction, I: mof.progress.I.fraction },
      osaid: osaid.meets, osaidReasons: osaid.reasons, indexScore: index.score, indexMax: index.max,
    };
  });
}

/** One table row per release: who, when, licenses, class, OSAID, score. */
export function resultsTable(records: readonly ModelRecord[]): Record<string, string | number>[] {
  const results = assessAll(records);
  return records.map((r, i) => {
    const res = results[i];
    const weights = r.components["final-parameters"]?.license ?? r.globalLicenses?.data?.value ?? r.globalLicenses?.distribution?.value ?? "—";
    return {
      model: r.name,
      organisation: r.organisation.value,
      released: r.releaseDate.value,
      "weights license": weights,
      "MOF class": res.mofClass,
      "Class III": `${Math.round(res.mofProgress.III * 100)}%`,
      "Class II": `${Math.round(res.mofProgress.II * 100)}%`,
      "Class I": `${Math.round(res.mofProgress.I * 100)}%`,
      OSAID: res.osaid ? "meets" : "fails",
      "Index-style": res.indexScore,
    };
  });
}

/** Heatmap value of a component verdict: 2 open, 1.5 open with a warning, 1 available but not open, 0 absent. */
export const VERDICT_VALUE: Record<ComponentVerdict, number> = {
  open: 2, "open-wrong-type": 1.5, "stood-in": 1.5, "not-open-license": 1, unlicensed: 1, partial: 0.5, "not-released": 0,
};

/** Models × components matrix of verdict values, for the heatmap. */
export function componentMatrix(records: readonly ModelRecord[]): { models: string[]; components: string[]; z: number[][]; text: string[][] } {
  const assessments = records.map((r) => classifyMof(r).components);
  return {
    models: records.map((r) => r.name),
    components: MOF_COMPONENTS.map((id) => COMPONENT_INFO[id].name),
    z: assessments.map((a) => MOF_COMPONENTS.map((id) => VERDICT_VALUE[a[id].verdict])),
    text: assessments.map((a) => MOF_COMPONENTS.map((id) => `${a[id].verdict}${a[id].license ? ` (${a[id].license})` : ""}`)),
  };
}

/** A Plotly heatmap of the component matrix. */
export function componentHeatmap(records: readonly ModelRecord[]): Figure {
  const m = componentMatrix(records);
  return {
    data: [{
      type: "heatmap", x: m.components, y: m.models, z: m.z, text: m.text, hoverinfo: "x+y+text", zmin: 0, zmax: 2,
      colorscale: [[0, "#d7301f"], [0.25, "#fc8d59"], [0.5, "#fdcc8a"], [0.75, "#a1d99b"], [1, "#238b45"]],
      colorbar: { tickvals: [0, 0.5, 1, 1.5, 2], ticktext: ["not released", "partial", "not open", "open (warning)", "open"] },
    }],
    layout: { title: { text: "MOF components by model" }, height: 120 + 28 * m.models.length, margin: { l: 160, b: 160 }, xaxis: { tickangle: -45 }, yaxis: { autorange: "reversed" } },
  };
}
