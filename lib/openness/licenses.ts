/**
 * The license catalog the classifiers judge against: which licenses are open, for which kind of artifact, and
 * which are custom (not open). MOF rules: code needs an OSI-approved license, data and parameters an open-data
 * license, documents an open-content license; OpenMDW-1.0 suits all three.
 */
import { ComponentRecord, ContentType, ModelRecord, MofComponentId, COMPONENT_INFO } from "./schema";

/** What the classifiers need to know about one license. */
export interface LicenseInfo {
  id: string;
  name: string;
  /** Open in the MOF's sense for at least one content type (an OSI-approved or open data/content license). */
  open: boolean;
  /** On OSI's list of approved licenses. */
  osiApproved: boolean;
  /** Content types this license was written for (an open license used for another type passes with a warning). */
  suits: ContentType[];
}

const L = (id: string, name: string, open: boolean, osiApproved: boolean, suits: ContentType[]): LicenseInfo => ({ id, name, open, osiApproved, suits });

/** Known licenses by SPDX id or LicenseRef- id. */
export const LICENSES: Record<string, LicenseInfo> = Object.fromEntries([
  L("Apache-2.0", "Apache License 2.0", true, true, ["code"]),
  L("MIT", "MIT License", true, true, ["code"]),
  L("BSD-2-Clause", "BSD 2-Clause License", true, true, ["code"]),
  L("BSD-3-Clause", "BSD 3-Clause License", true, true, ["code"]),
  L("GPL-3.0-only", "GNU General Public License v3.0 only", true, true, ["code"]),
  L("GPL-3.0-or-later", "GNU General Public License v3.0 or later", true, true, ["code"]),
  L("MPL-2.0", "Mozilla Public License 2.0", true, true, ["code"]),
  L("CDLA-Permissive-1.0", "Community Data License Agreement Permissive 1.0", true, false, ["data"]),
  L("CDLA-Permissive-2.0", "Community Data License Agreement Permissive 2.0", true, false, ["data"]),
  L("CDLA-Sharing-1.0", "Community Data License Agreement Sharing 1.0", true, false, ["data"]),
  L("ODC-By-1.0", "Open Data Commons Attribution License 1.0", true, false, ["data"]),
  L("ODbL-1.0", "Open Data Commons Open Database License 1.0", true, false, ["data"]),
  L("PDDL-1.0", "Open Data Commons Public Domain Dedication and License 1.0", true, false, ["data"]),
  L("CC-BY-4.0", "Creative Commons Attribution 4.0", true, false, ["data", "document"]),
  L("CC-BY-SA-4.0", "Creative Commons Attribution Share Alike 4.0", true, false, ["data", "document"]),
  L("CC0-1.0", "Creative Commons Zero v1.0 Universal", true, false, ["data", "document"]),
  L("OpenMDW-1.0", "Open Model, Data & Weights License 1.0", true, false, ["code", "data", "document"]),
  L("CC-BY-NC-4.0", "Creative Commons Attribution Non Commercial 4.0", false, false, []),
  L("BigScience-BLOOM-RAIL-1.0", "BigScience BLOOM RAIL License 1.0 (use restrictions)", false, false, []),
  L("LicenseRef-Llama-1-Research", "LLaMA non-commercial research license (custom)", false, false, []),
  L("LicenseRef-Llama-2-Community", "Llama 2 Community License Agreement (custom)", false, false, []),
  L("LicenseRef-Llama-3-Community", "Meta Llama 3 Community License Agreement (custom)", false, false, []),
  L("LicenseRef-Llama-3.1-Community", "Llama 3.1 Community License Agreement (custom)", false, false, []),
  L("LicenseRef-Llama-3.2-Community", "Llama 3.2 Community License Agreement (custom)", false, false, []),
  L("LicenseRef-Gemma-Terms-of-Use", "Gemma Terms of Use (custom)", false, false, []),
  L("LicenseRef-Falcon-180B-TII", "Falcon-180B TII License and Acceptable Use Policy (custom)", false, false, []),
  L("LicenseRef-Qwen", "Qwen License Agreement (custom, Qwen2-72B)", false, false, []),
  L("LicenseRef-DeepSeek-Model", "DeepSeek Model License (custom)", false, false, []),
  L("LicenseRef-GPT-2-Modified-MIT", "GPT-2 modified MIT license (custom)", false, false, []),
].map((l) => [l.id, l]));

/** Catalog entry for a license id; unknown ids count as not open (a LicenseRef- is custom by definition). */
export function licenseInfo(id: string): LicenseInfo {
  return LICENSES[id] ?? { id, name: id.startsWith("LicenseRef-") ? `${id} (custom)` : `${id} (not in the catalog)`, open: false, osiApproved: false, suits: [] };
}

/** Where a component's license came from: its own entry, or a global license it inherits. */
export type LicenseOrigin = "component" | "global-type" | "global-distribution" | "none";

/** The license that applies to a released component, following the MOT's inheritance: own, then per-type, then distribution. */
export function effectiveLicense(record: Pick<ModelRecord, "globalLicenses">, id: MofComponentId, component: ComponentRecord | undefined): { license?: string; origin: LicenseOrigin } {
  if (component?.license) return { license: component.license, origin: "component" };
  const type = COMPONENT_INFO[id].contentType;
  const byType = record.globalLicenses?.[type]?.value;
  if (byType) return { license: byType, origin: "global-type" };
  const dist = record.globalLicenses?.distribution?.value;
  if (dist) return { license: dist, origin: "global-distribution" };
  return { origin: "none" };
}

/** How a license fits a content type under the MOF: open and suited, open but written for another type, or not open. */
export type LicenseFit = "open" | "open-wrong-type" | "not-open";

/** Judges a license for a content type. Code must be OSI-approved to be "open"; a non-OSI open license on code is wrong-type. */
export function licenseFit(id: string, type: ContentType): LicenseFit {
  const info = licenseInfo(id);
  if (!info.open) return "not-open";
  if (type === "code") return info.osiApproved || info.suits.includes("code") ? "open" : "open-wrong-type";
  return info.suits.includes(type) ? "open" : "open-wrong-type";
}
