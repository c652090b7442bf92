/**
 * Scoring your own release: say which components you publish and under which licenses, and get the MOF class,
 * the OSAID verdict and the Index-style score, each with its reasons.
 */
import { classifyMof, MofResult } from "./mof";
import { checkOsaid, OsaidResult } from "./osaid";
import { indexScore, IndexScore } from "./index_score";
import { COMPONENT_INFO, ContentType, isLicenseId, MOF_COMPONENTS, MofComponentId, ModelRecord, RESTRICTION_TAGS, RestrictionTag } from "./schema";

/** A component of your release: `true` = released (license inherited), a license id, or details. */
export type ReleaseComponentInput = boolean | string | { status?: "released" | "partial" | "not-released"; license?: string };

/** Your release: components and the licenses you chose. */
export interface ReleaseInput {
  name?: string;
  /** Licenses that cover components naming none: per content type, or one for everything. */
  licenses?: Partial<Record<ContentType | "distribution", string>>;
  components: Partial<Record<MofComponentId, ReleaseComponentInput>>;
  restrictions?: RestrictionTag[];
}

/** Everything the three frameworks say about a release, with a plain-language summary. */
export interface ReleaseAssessment {
  name: string;
  mof: MofResult;
  osaid: OsaidResult;
  index: IndexScore;
  summary: string[];
}

const USER = { source: "https://user.invalid/self-reported", checked: new Date(0).toISOString().slice(0, 10) };

/** Builds a record from your input; throws naming the field when a component, license or tag is unknown. */
export function releaseRecord(input: ReleaseInput): Pick<ModelRecord, "components" | "globalLicenses" | "restrictions"> {
  if (typeof input !== "object" || input === null || typeof input.components !== "object" || input.components === null) {
    throw new Error("scoreRelease: pass { components: { \"final-parameters\": \"Apache-2.0\", ... } }");
  }
  const components: ModelRecord["components"] = {};
  for (const [id, v] of Object.entries(input.components)) {
    if (!(MOF_COMPONENTS as readonly string[]).includes(id)) throw new Error(`scoreRelease: components.${id} is not a MOF component; use one of ${MOF_COMPONENTS.join(", ")}`);
    const entry = typeof v === "boolean" ? { status: v ? "released" as const : "not-released" as const } : typeof v === "string" ? { status: "released" as const, license: v } : { status: v?.status ?? "released" as const, license: v?.license };
    if (entry.license !== undefined && !isLicenseId(entry.license)) throw new Error(`scoreRelease: components.${id} license ${JSON.stringify(entry.license)} is not an SPDX id (e.g. "Apache-2.0") or a LicenseRef- id`);
    components[id as MofComponentId] = { ...USER, status: entry.status, ...(entry.license ? { license: entry.license } : {}) };
  }
  const globalLicenses: ModelRecord["globalLicenses"] = {};
  for (const [scope, lic] of Object.entries(input.licenses ?? {})) {
    if (!["code", "data", "document", "distribution"].includes(scope)) throw new Error(`scoreRelease: licenses.${scope} is not a scope; use code, data, document or distribution`);
    if (!isLicenseId(lic)) throw new Error(`scoreRelease: licenses.${scope} ${JSON.stringify(lic)} is not an SPDX id or a LicenseRef- id`);
    globalLicenses[scope as ContentType | "distribution"] = { ...USER, value: lic };
  }
  const restrictions = (input.restrictions ?? []).map((tag) => {
    if (!(RESTRICTION_TAGS as readonly string[]).includes(tag)) throw new Error(`scoreRelease: restriction ${JSON.stringify(tag)} is unknown; use one of ${RESTRICTION_TAGS.join(", ")}`);
    return { ...USER, tag };
  });
  return { components, globalLicenses, restrictions };
}

/** Scores your release under the MOF, the OSAID and the Index-style score, with reasons and next steps. */
export function scoreRelease(input: ReleaseInput): ReleaseAssessment {
  const record = releaseRecord(input);
  const mof = classifyMof(record);
  const osaid = checkOsaid(record);
  const index = indexScore(record);
  const summary = [`MOF: ${mof.label} (Class III ${mof.progress.III.met}/${mof.progress.III.required}, II ${mof.progress.II.met}/${mof.progress.II.required}, I ${mof.progress.I.met}/${mof.progress.I.required})`];
  const next = mof.missing.filter((m) => m.mofClass === (mof.classNumber ? mof.classNumber - 1 : 3));
  if (next.length) summary.push(`to reach the next class: ${next.map((m) => m.reason).join("; ")}`);
  for (const w of mof.warnings) summary.push(`warning: ${w}`);
  summary.push(osaid.meets ? "OSAID 1.0: meets the definition" : `OSAID 1.0: does not meet it — ${osaid.reasons.join("; ")}`);
  summary.push(`Index-style score: ${index.score}/${index.max}`);
  return { name: input.name ?? "your release", mof, osaid, index, summary };
}

/** Readable names of the components, for prompts and tables. */
export const COMPONENT_NAMES: Record<MofComponentId, string> = Object.fromEntries(MOF_COMPONENTS.map((id) => [id, COMPONENT_INFO[id].name])) as Record<MofComponentId, string>;
