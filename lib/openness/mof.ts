/**
 * Model Openness Framework classifier (White et al., arXiv 2403.13784; MOF 1.1 license rules). Classes are
 * cumulative: Class II needs everything of Class III, Class I everything of Class II.
 */
import { effectiveLicense, licenseFit, LicenseOrigin, licenseInfo } from "./licenses";
import { COMPONENT_INFO, MOF_COMPONENTS, MofClassNumber, MofComponentId, ModelRecord } from "./schema";

/** Verdict on one component. */
export type ComponentVerdict = "open" | "open-wrong-type" | "stood-in" | "not-open-license" | "unlicensed" | "partial" | "not-released";

/** One component's assessment with the reason in words. */
export interface ComponentAssessment {
  component: MofComponentId;
  verdict: ComponentVerdict;
  /** True when the component counts toward its class. */
  met: boolean;
  license?: string;
  licenseOrigin: LicenseOrigin;
  reason: string;
}

/** Progress within one class: required items met over required items. */
export interface ClassProgress {
  met: number;
  required: number;
  fraction: number;
}

/** Result of classifying one release. */
export interface MofResult {
  /** Highest class reached, or null when not even Class III. */
  classNumber: MofClassNumber | null;
  /** "Class I", "Class II", "Class III" or "Unclassified". */
  label: string;
  progress: Record<"III" | "II" | "I", ClassProgress>;
  /** Required items not met, with the class that needs them and why. */
  missing: { component: MofComponentId; mofClass: MofClassNumber; reason: string }[];
  /** Items that count but deserve attention (wrong license type, stand-ins). */
  warnings: string[];
  /** Components whose license was inherited from a global license. */
  inherited: string[];
  components: Record<MofComponentId, ComponentAssessment>;
}

const ROMAN: Record<MofClassNumber, "III" | "II" | "I"> = { 3: "III", 2: "II", 1: "I" };

/** Assesses one component of a release on its own (no stand-ins). */
export function assessComponent(record: Pick<ModelRecord, "globalLicenses" | "components">, id: MofComponentId): ComponentAssessment {
  const info = COMPONENT_INFO[id];
  const c = record.components[id];
  if (!c || c.status === "not-released") return { component: id, verdict: "not-released", met: false, licenseOrigin: "none", reason: `${info.name} is not released` };
  const { license, origin } = effectiveLicense(record, id, c);
  if (c.status === "partial") return { component: id, verdict: "partial", met: false, license, licenseOrigin: origin, reason: `${info.name} is only partly released` };
  if (!license) return { component: id, verdict: "unlicensed", met: false, licenseOrigin: origin, reason: `${info.name} is released without a license (none given and no global license to inherit)` };
  const fit = licenseFit(license, info.contentType);
  const via = origin === "component" ? "" : origin === "global-type" ? ` (inherited ${info.contentType} license)` : " (inherited distribution license)";
  if (fit === "not-open") {
    const custom = license.startsWith("LicenseRef-") ? "a custom license, which the MOF does not count as open" : licenseInfo(license).name + ", not an open license";
    return { component: id, verdict: "not-open-license", met: false, license, licenseOrigin: origin, reason: `${info.name} is under ${license}${via}: ${custom}` };
  }
  if (fit === "open-wrong-type") {
    return { component: id, verdict: "open-wrong-type", met: true, license, licenseOrigin: origin, reason: `${info.name} is under ${license}${via}, an open license meant for another kind of artifact than ${info.contentType}; it counts, with a warning (MOF 1.1)` };
  }
  return { component: id, verdict: "open", met: true, license, licenseOrigin: origin, reason: `${info.name} is under ${license}${via}` };
}

/** Classifies a release under the MOF: class, per-class progress, what is missing and warnings. */
export function classifyMof(record: Pick<ModelRecord, "globalLicenses" | "components">): MofResult {
  const components = Object.fromEntries(MOF_COMPONENTS.map((id) => [id, assessComponent(record, id)])) as Record<MofComponentId, ComponentAssessment>;
  const report = components["technical-report"];
  const paper = components["research-paper"];
  // The MOF lets a research paper stand in for the technical report, never the other way round.
  if (!report.met && !paper.met && paper.verdict !== "not-released") {
    components["technical-report"] = { ...report, reason: `${report.reason}, and the research paper cannot stand in for it (${paper.reason})` };
  } else if (!report.met && paper.met) {
    components["technical-report"] = { ...report, verdict: "stood-in", met: true, license: paper.license, licenseOrigin: paper.licenseOrigin, reason: `no separate technical report; the research paper stands in for it (${report.reason})` };
  }
  const warnings: string[] = [];
  const inherited: string[] = [];
  for (const a of Object.values(components)) {
    if (a.verdict === "open-wrong-type" || a.verdict === "stood-in") warnings.push(a.reason);
    else if (a.met && a.licenseOrigin !== "component") inherited.push(a.reason);
  }
  const missing: MofResult["missing"] = [];
  const progress = {} as MofResult["progress"];
  for (const cls of [3, 2, 1] as MofClassNumber[]) {
    const required = MOF_COMPONENTS.filter((id) => COMPONENT_INFO[id].mofClass === cls && !COMPONENT_INFO[id].optional);
    const met = required.filter((id) => components[id].met);
    progress[ROMAN[cls]] = { met: met.length, required: required.length, fraction: met.length / required.length };
    for (const id of required) if (!components[id].met) missing.push({ component: id, mofClass: cls, reason: components[id].reason });
  }
  let classNumber: MofClassNumber | null = null;
  for (const cls of [3, 2, 1] as MofClassNumber[]) {
    if (progress[ROMAN[cls]].met < progress[ROMAN[cls]].required) break;
    classNumber = cls;
  }
  return { classNumber, label: classNumber ? `Class ${ROMAN[classNumber]}` : "Unclassified", progress, missing, warnings, inherited, components };
}
