/**
 * Open Source AI Definition 1.0 check (OSI, October 2024). The definition asks for the "preferred form to make
 * modifications": data information, the complete code under OSI-approved licenses, and the parameters under
 * OSD-conformant terms, so that anyone may use, study, modify and share the system. Training data itself is not
 * required.
 */
import { effectiveLicense, licenseInfo } from "./licenses";
import { COMPONENT_INFO, MofComponentId, ModelRecord, RestrictionTag } from "./schema";

/** One OSAID requirement and whether the release meets it. */
export interface OsaidCriterion {
  requirement: "data information" | "code" | "parameters";
  met: boolean;
  reasons: string[];
}

/** Result of the OSAID check. */
export interface OsaidResult {
  meets: boolean;
  criteria: OsaidCriterion[];
  /** Reasons for failing (empty when it meets the definition). */
  reasons: string[];
}

/** Code components the definition lists: data processing and filtering, training, inference and the architecture. */
export const OSAID_CODE: MofComponentId[] = ["data-preprocessing-code", "training-code", "inference-code", "model-architecture"];

// OSD-style licenses may ask for attribution or a new name, but not restrict who uses the work or for what.
const FREEDOM_BREAKING: Partial<Record<RestrictionTag, string>> = {
  "user-count-cap": "a cap on the number of users breaks the freedom to use for any purpose",
  "acceptable-use-policy": "an acceptable-use policy restricts the purposes of use",
  "output-use-ban": "a ban on using outputs to improve other models restricts use and modification",
  "non-commercial": "a non-commercial clause discriminates against fields of endeavour",
  "derivative-restrictions": "restrictions passed on to derivatives limit the freedom to share modified versions",
};

/** Checks a release against the OSAID 1.0, with a reason for every requirement missed. */
export function checkOsaid(record: Pick<ModelRecord, "globalLicenses" | "components" | "restrictions">): OsaidResult {
  const comp = (id: MofComponentId) => record.components[id];
  const released = (id: MofComponentId) => comp(id)?.status === "released";

  const dataReasons: string[] = [];
  const dataCard = released("data-card");
  const datasets = comp("datasets")?.status;
  if (!dataCard && datasets !== "released") {
    dataReasons.push(datasets === "partial"
      ? "only part of the training data is released and there is no data card describing the rest"
      : "no data card and no released training data: not enough data information to rebuild a substantially equivalent system");
  }

  const codeReasons: string[] = [];
  for (const id of OSAID_CODE) {
    const name = COMPONENT_INFO[id].name;
    if (!released(id)) { codeReasons.push(`${name} is not (fully) released`); continue; }
    const { license } = effectiveLicense(record, id, comp(id));
    if (!license) codeReasons.push(`${name} has no license`);
    else if (!licenseInfo(license).osiApproved) codeReasons.push(`${name} is under ${license}, not an OSI-approved license`);
  }

  const paramReasons: string[] = [];
  if (!released("final-parameters")) paramReasons.push("the final parameters are not released");
  else {
    const { license } = effectiveLicense(record, "final-parameters", comp("final-parameters"));
    if (!license) paramReasons.push("the parameters have no license");
    else if (!licenseInfo(license).open) paramReasons.push(`the parameters are under ${license}, whose terms do not conform to the Open Source Definition`);
  }
  const tags = [...new Set(record.restrictions.map((r) => r.tag))];
  for (const t of tags) if (FREEDOM_BREAKING[t]) paramReasons.push(`restriction "${t}": ${FREEDOM_BREAKING[t]}`);

  const criteria: OsaidCriterion[] = [
    { requirement: "data information", met: dataReasons.length === 0, reasons: dataReasons },
    { requirement: "code", met: codeReasons.length === 0, reasons: codeReasons },
    { requirement: "parameters", met: paramReasons.length === 0, reasons: paramReasons },
  ];
  const reasons = criteria.flatMap((c) => c.reasons.map((r) => `${c.requirement}: ${r}`));
  return { meets: reasons.length === 0, criteria, reasons };
}
