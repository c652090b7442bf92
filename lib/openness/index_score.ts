/**
 * An Index-style openness score in the manner of the European Open Source AI Index ("Opening up ChatGPT"): each
 * dimension is rated open (1), partial (0.5) or closed (0) and the ratings are summed. The Index rates 12–14
 * dimensions by hand, including instruction-tuning data and weights, packages and APIs; this module rates the
 * dimensions that can be derived from a base-model release record, so its totals are comparable with each other,
 * not with the Index's published totals.
 */
import { effectiveLicense, licenseInfo } from "./licenses";
import { COMPONENT_INFO, MofComponentId, ModelRecord } from "./schema";

/** A rating on one dimension. */
export type Rating = "open" | "partial" | "closed";

/** Points per rating. */
export const RATING_POINTS: Record<Rating, number> = { open: 1, partial: 0.5, closed: 0 };

/** One dimension: which components it reads and whether a license is needed for "open". */
export interface IndexDimension {
  id: string;
  name: string;
  components: MofComponentId[];
  /** Availability dimensions (documents) only need to be out; code, data and weights need an open license too. */
  needsOpenLicense: boolean;
}

/** Derivable dimensions, after the Index's 2023–24 list (RL data, RL weights, package and API are not derivable here). */
export const INDEX_DIMENSIONS: IndexDimension[] = [
  { id: "open-code", name: "Open code", components: ["training-code", "data-preprocessing-code"], needsOpenLicense: true },
  { id: "llm-data", name: "LLM data", components: ["datasets"], needsOpenLicense: true },
  { id: "llm-weights", name: "LLM weights", components: ["final-parameters"], needsOpenLicense: true },
  { id: "architecture", name: "Architecture", components: ["model-architecture"], needsOpenLicense: true },
  { id: "preprint", name: "Preprint / technical report", components: ["technical-report"], needsOpenLicense: false },
  { id: "paper", name: "Paper", components: ["research-paper"], needsOpenLicense: false },
  { id: "model-card", name: "Model card", components: ["model-card"], needsOpenLicense: false },
  { id: "datasheet", name: "Datasheet", components: ["data-card"], needsOpenLicense: false },
];

/** The license dimension's id: it rates the weights' terms, not availability. */
export const LICENSE_DIMENSION = { id: "license", name: "License" };

/** Score of one release. */
export interface IndexScore {
  ratings: Record<string, Rating>;
  score: number;
  max: number;
  /** score / max */
  fraction: number;
}

function rateComponent(record: Pick<ModelRecord, "globalLicenses" | "components">, id: MofComponentId, needsOpenLicense: boolean): Rating {
  const c = record.components[id];
  if (!c || c.status === "not-released") return "closed";
  if (c.status === "partial") return "partial";
  if (!needsOpenLicense) return "open";
  const { license } = effectiveLicense(record, id, c);
  const info = license ? licenseInfo(license) : undefined;
  // Available under restrictive or missing terms: you can read it, not freely reuse it.
  const open = info?.open && (COMPONENT_INFO[id].contentType !== "code" || info.osiApproved);
  return open ? "open" : "partial";
}

function combine(ratings: Rating[]): Rating {
  if (ratings.every((r) => r === "open")) return "open";
  if (ratings.every((r) => r === "closed")) return "closed";
  return "partial";
}

/** Rates every dimension and sums the points. */
export function indexScore(record: Pick<ModelRecord, "globalLicenses" | "components" | "restrictions">): IndexScore {
  const ratings: Record<string, Rating> = {};
  for (const d of INDEX_DIMENSIONS) ratings[d.id] = combine(d.components.map((id) => rateComponent(record, id, d.needsOpenLicense)));
  const weights = record.components["final-parameters"];
  const { license } = effectiveLicense(record, "final-parameters", weights);
  // Attribution and naming duties are compatible with open licenses; use, user and output restrictions are not.
  if (!weights || weights.status === "not-released" || !license) ratings[LICENSE_DIMENSION.id] = "closed";
  else ratings[LICENSE_DIMENSION.id] = licenseInfo(license).open && record.restrictions.every((r) => r.tag === "naming-attribution") ? "open" : "partial";
  const score = Object.values(ratings).reduce((s, r) => s + RATING_POINTS[r], 0);
  const max = INDEX_DIMENSIONS.length + 1;
  return { ratings, score, max, fraction: score / max };
}
