/**
 * The shape of a model-release record and the validator that guards the shipped dataset. Every fact carries the URL
 * it was read from and the date it was checked, because licenses and release contents change after publication.
 */

/** The 17 components of the Model Openness Framework (MOF), in the order of the Model Openness Tool. */
export const MOF_COMPONENTS = [
  "model-architecture",
  "data-preprocessing-code",
  "training-code",
  "inference-code",
  "evaluation-code",
  "supporting-libraries",
  "final-parameters",
  "intermediate-parameters",
  "datasets",
  "evaluation-data",
  "model-metadata",
  "sample-outputs",
  "model-card",
  "data-card",
  "technical-report",
  "research-paper",
  "evaluation-results",
] as const;

/** One MOF component id, e.g. "final-parameters". */
export type MofComponentId = (typeof MOF_COMPONENTS)[number];

/** What kind of artifact a component is: it decides which licenses suit it. */
export type ContentType = "code" | "data" | "document";

/** MOF class as a number: 3 = Open Model, 2 = Open Tooling, 1 = Open Science. */
export type MofClassNumber = 1 | 2 | 3;

/** Static facts about a component: readable name, content type, the class that first requires it, optional or not. */
export interface ComponentInfo {
  id: MofComponentId;
  name: string;
  contentType: ContentType;
  mofClass: MofClassNumber;
  optional: boolean;
}

/** The MOF's component table (MOF paper, arXiv 2403.13784; Model Openness Tool's component list). */
export const COMPONENT_INFO: Record<MofComponentId, ComponentInfo> = {
  "model-architecture": { id: "model-architecture", name: "Model architecture", contentType: "code", mofClass: 3, optional: false },
  "final-parameters": { id: "final-parameters", name: "Model parameters (final)", contentType: "data", mofClass: 3, optional: false },
  "technical-report": { id: "technical-report", name: "Technical report", contentType: "document", mofClass: 3, optional: false },
  "evaluation-results": { id: "evaluation-results", name: "Evaluation results", contentType: "document", mofClass: 3, optional: false },
  "model-card": { id: "model-card", name: "Model card", contentType: "document", mofClass: 3, optional: false },
  "data-card": { id: "data-card", name: "Data card", contentType: "document", mofClass: 3, optional: false },
  "sample-outputs": { id: "sample-outputs", name: "Sample model outputs", contentType: "document", mofClass: 3, optional: true },
  "training-code": { id: "training-code", name: "Training code", contentType: "code", mofClass: 2, optional: false },
  "inference-code": { id: "inference-code", name: "Inference code", contentType: "code", mofClass: 2, optional: false },
  "evaluation-code": { id: "evaluation-code", name: "Evaluation code", contentType: "code", mofClass: 2, optional: false },
  "evaluation-data": { id: "evaluation-data", name: "Evaluation data", contentType: "data", mofClass: 2, optional: false },
  "supporting-libraries": { id: "supporting-libraries", name: "Supporting libraries and tools", contentType: "code", mofClass: 2, optional: true },
  "research-paper": { id: "research-paper", name: "Research paper", contentType: "document", mofClass: 1, optional: false },
  "datasets": { id: "datasets", name: "Datasets", contentType: "data", mofClass: 1, optional: false },
  "data-preprocessing-code": { id: "data-preprocessing-code", name: "Data preprocessing code", contentType: "code", mofClass: 1, optional: false },
  "intermediate-parameters": { id: "intermediate-parameters", name: "Model parameters (intermediate)", contentType: "data", mofClass: 1, optional: false },
  "model-metadata": { id: "model-metadata", name: "Model metadata", contentType: "data", mofClass: 1, optional: true },
};

/** Restrictions a license or use policy places on users, beyond what OSI-approved licenses allow. */
export const RESTRICTION_TAGS = [
  "user-count-cap",
  "acceptable-use-policy",
  "output-use-ban",
  "naming-attribution",
  "non-commercial",
  "derivative-restrictions",
] as const;

/** One restriction tag, e.g. "user-count-cap" (Llama 2's 700M monthly-active-user threshold). */
export type RestrictionTag = (typeof RESTRICTION_TAGS)[number];

/** Where a fact was read and when: licenses change, so a fact without a date cannot be trusted later. */
export interface Sourced {
  source: string;
  checked: string;
  note?: string;
}

/** A sourced value. */
export interface Fact<T> extends Sourced {
  value: T;
}

/** Whether a component is released: in full, partly (e.g. an extract of the training data), or not at all. */
export type ReleaseStatus = "released" | "partial" | "not-released";

/** One component of a release: whether it is out and under which license (absent license = inherits a global one). */
export interface ComponentRecord extends Sourced {
  status: ReleaseStatus;
  license?: string;
}

/** Licenses that cover every component of a type that names none (the Model Openness Tool's "global licenses"). */
export interface GlobalLicenses {
  distribution?: Fact<string>;
  code?: Fact<string>;
  data?: Fact<string>;
  document?: Fact<string>;
}

/** A restriction with the clause's source. */
export interface Restriction extends Sourced {
  tag: RestrictionTag;
}

/** Broad architecture family. */
export type Architecture = "decoder-only" | "encoder-only" | "encoder-decoder" | "decoder-only-moe";

/** Pretraining objective. */
export type Objective = "next-token prediction" | "masked language modelling + next sentence prediction";

/** One model release: identity, facts, components and restrictions. Components not listed were not found released. */
export interface ModelRecord {
  id: string;
  name: string;
  family: string;
  organisation: Fact<string>;
  releaseDate: Fact<string>;
  architecture: Fact<Architecture>;
  objective: Fact<Objective>;
  sizes: Fact<string[]>;
  globalLicenses?: GlobalLicenses;
  components: Partial<Record<MofComponentId, ComponentRecord>>;
  restrictions: Restriction[];
}

const ARCHITECTURES: Architecture[] = ["decoder-only", "encoder-only", "encoder-decoder", "decoder-only-moe"];
const OBJECTIVES: Objective[] = ["next-token prediction", "masked language modelling + next sentence prediction"];
const STATUSES: ReleaseStatus[] = ["released", "partial", "not-released"];
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const LICENSE_REF = /^LicenseRef-[A-Za-z0-9.\-]+$/;
// SPDX ids are letters, digits, dots, plus and dashes; a space means a free-text name slipped in (as in some MOT records).
const SPDX_ID = /^[A-Za-z0-9][A-Za-z0-9.+\-]*$/;

/** True for a syntactically valid single SPDX id or a `LicenseRef-` id. */
export function isLicenseId(id: unknown): id is string {
  return typeof id === "string" && (LICENSE_REF.test(id) || (SPDX_ID.test(id) && !id.startsWith("LicenseRef")));
}

function fail(model: string, field: string, problem: string): never {
  throw new Error(`openness record "${model}": field "${field}" ${problem}`);
}

function isDate(s: unknown): boolean {
  if (typeof s !== "string" || !DATE.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

function checkSourced(model: string, field: string, v: unknown): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(model, field, "must be an object with source and checked");
  const o = v as Record<string, unknown>;
  if (typeof o.source !== "string" || !/^https:\/\/\S+$/.test(o.source)) fail(model, `${field}.source`, `must be an https URL, got ${JSON.stringify(o.source)}`);
  if (!isDate(o.checked)) fail(model, `${field}.checked`, `must be a date YYYY-MM-DD, got ${JSON.stringify(o.checked)}`);
  if (o.note !== undefined && typeof o.note !== "string") fail(model, `${field}.note`, "must be a string when present");
  return o;
}

function checkFact(model: string, field: string, v: unknown, check: (value: unknown) => string | null): void {
  const o = checkSourced(model, field, v);
  if (!("value" in o)) fail(model, `${field}.value`, "is missing");
  const problem = check(o.value);
  if (problem) fail(model, `${field}.value`, problem);
}

const nonEmptyString = (x: unknown) => (typeof x === "string" && x.trim() ? null : "must be a non-empty string");
const licenseValue = (x: unknown) => (isLicenseId(x) ? null : `must be an SPDX id or a LicenseRef- id, got ${JSON.stringify(x)}`);

/** Checks one record and returns it typed; throws an Error naming the model, the field and the problem. */
export function validateRecord(raw: unknown): ModelRecord {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new Error("openness record: expected an object, got " + JSON.stringify(raw));
  const r = raw as Record<string, unknown>;
  const model = typeof r.id === "string" && r.id ? r.id : typeof r.name === "string" ? r.name : "(no id)";
  if (typeof r.id !== "string" || !/^[a-z0-9][a-z0-9.\-]*$/.test(r.id)) fail(model, "id", "must be a lower-case slug like \"llama-2\"");
  for (const f of ["name", "family"]) if (nonEmptyString(r[f])) fail(model, f, "must be a non-empty string");
  checkFact(model, "organisation", r.organisation, nonEmptyString);
  checkFact(model, "releaseDate", r.releaseDate, (x) => (isDate(x) ? null : `must be a date YYYY-MM-DD, got ${JSON.stringify(x)}`));
  checkFact(model, "architecture", r.architecture, (x) => (ARCHITECTURES.includes(x as Architecture) ? null : `must be one of ${ARCHITECTURES.join(", ")}`));
  checkFact(model, "objective", r.objective, (x) => (OBJECTIVES.includes(x as Objective) ? null : `must be one of ${OBJECTIVES.join(", ")}`));
  checkFact(model, "sizes", r.sizes, (x) => (Array.isArray(x) && x.length > 0 && x.every((s) => typeof s === "string" && s) ? null : "must be a non-empty list of sizes like \"7B\""));
  if (r.globalLicenses !== undefined) {
    if (typeof r.globalLicenses !== "object" || r.globalLicenses === null) fail(model, "globalLicenses", "must be an object");
    for (const [k, v] of Object.entries(r.globalLicenses as Record<string, unknown>)) {
      if (!["distribution", "code", "data", "document"].includes(k)) fail(model, `globalLicenses.${k}`, "is not a license scope (use distribution, code, data or document)");
      checkFact(model, `globalLicenses.${k}`, v, licenseValue);
    }
  }
  if (typeof r.components !== "object" || r.components === null || Array.isArray(r.components)) fail(model, "components", "must be an object keyed by MOF component id");
  for (const [id, v] of Object.entries(r.components as Record<string, unknown>)) {
    if (!(MOF_COMPONENTS as readonly string[]).includes(id)) fail(model, `components.${id}`, `is not a MOF component; use one of ${MOF_COMPONENTS.join(", ")}`);
    const c = checkSourced(model, `components.${id}`, v);
    if (!STATUSES.includes(c.status as ReleaseStatus)) fail(model, `components.${id}.status`, `must be one of ${STATUSES.join(", ")}, got ${JSON.stringify(c.status)}`);
    if (c.license !== undefined && !isLicenseId(c.license)) fail(model, `components.${id}.license`, `must be an SPDX id or a LicenseRef- id, got ${JSON.stringify(c.license)}`);
    if (c.status === "not-released" && c.license !== undefined) fail(model, `components.${id}.license`, "is set on a component that is not released");
  }
  if (!Array.isArray(r.restrictions)) fail(model, "restrictions", "must be a list (empty when there are none)");
  (r.restrictions as unknown[]).forEach((v, i) => {
    const o = checkSourced(model, `restrictions[${i}]`, v);
    if (!(RESTRICTION_TAGS as readonly string[]).includes(o.tag as string)) fail(model, `restrictions[${i}].tag`, `must be one of ${RESTRICTION_TAGS.join(", ")}, got ${JSON.stringify(o.tag)}`);
  });
  return raw as ModelRecord;
}

/** Checks every record and that ids are unique; returns the records typed. */
export function validateDataset(raw: unknown): ModelRecord[] {
  if (!Array.isArray(raw)) throw new Error("openness dataset: expected a list of records");
  const seen = new Set<string>();
  return raw.map((r) => {
    const rec = validateRecord(r);
    if (seen.has(rec.id)) fail(rec.id, "id", "is used by two records; ids must be unique");
    seen.add(rec.id);
    return rec;
  });
}
