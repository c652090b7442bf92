/**
 * What each Llama license version permits, forbids and requires, beside Apache-2.0 and MIT — as structured data
 * summarised in our own words (no license text is copied). Read the linked license before relying on it.
 */
import { CHECKED } from "./records";

/** How a license treats one question. */
export type TermStance = "permitted" | "forbidden" | "condition" | "not-addressed";

/** A question asked of every license, in the comparison's row order. */
export const LICENSE_QUESTIONS = [
  { id: "commercial-use", question: "Commercial use" },
  { id: "modify", question: "Modify and make derivatives" },
  { id: "redistribute", question: "Redistribute copies and derivatives" },
  { id: "user-cap", question: "Use by services above a user threshold" },
  { id: "use-policy", question: "Use for any purpose (no acceptable-use policy)" },
  { id: "outputs-train-other-models", question: "Use outputs to improve other LLMs" },
  { id: "attribution", question: "Attribution / notice" },
  { id: "derivative-naming", question: "Name of derivative models" },
  { id: "regional", question: "Available in every region" },
  { id: "osi-approved", question: "OSI-approved" },
] as const;

/** Id of a comparison question. */
export type LicenseQuestionId = (typeof LICENSE_QUESTIONS)[number]["id"];

/** One license's answer to one question. */
export interface TermAnswer {
  stance: TermStance;
  detail: string;
}

/** A license summarised as answers to the comparison questions. */
export interface LicenseTerms {
  id: string;
  name: string;
  /** When this version took effect (release of the model it came with), or null for general-purpose licenses. */
  since: string | null;
  source: string;
  checked: string;
  terms: Record<LicenseQuestionId, TermAnswer>;
}

const a = (stance: TermStance, detail: string): TermAnswer => ({ stance, detail });
const NA = a("not-addressed", "not addressed");

const PERMISSIVE = (notice: string): Omit<LicenseTerms, "id" | "name" | "source"> => ({
  since: null, checked: CHECKED,
  terms: {
    "commercial-use": a("permitted", "any use, including commercial"),
    "modify": a("permitted", "yes"),
    "redistribute": a("condition", notice),
    "user-cap": a("permitted", "no threshold"),
    "use-policy": a("permitted", "no field-of-use restriction"),
    "outputs-train-other-models": a("permitted", "no restriction on outputs"),
    "attribution": a("condition", notice),
    "derivative-naming": NA,
    "regional": a("permitted", "worldwide"),
    "osi-approved": a("permitted", "yes"),
  },
});

const LLAMA_COMMON = {
  "commercial-use": a("condition", "allowed under the community license, subject to the user threshold and the AUP"),
  "modify": a("permitted", "derivative works allowed"),
  "redistribute": a("condition", "include the agreement and keep its terms for recipients"),
  "user-cap": a("forbidden", "above 700M monthly active users (at release) a separate license must be requested from Meta"),
  "use-policy": a("forbidden", "bound by Meta's Acceptable Use Policy"),
  "regional": a("permitted", "no regional carve-out"),
  "osi-approved": a("forbidden", "no: a custom license, not OSI-approved"),
} satisfies Partial<Record<LicenseQuestionId, TermAnswer>>;

/** The Llama licenses in version order, then Apache-2.0 and MIT. */
export const LICENSE_TERMS: readonly LicenseTerms[] = [
  {
    id: "LicenseRef-Llama-1-Research", name: "LLaMA (v1) non-commercial license", since: "2023-02-24",
    source: "https://github.com/meta-llama/llama/blob/llama_v1/MODEL_CARD.md", checked: CHECKED,
    terms: {
      "commercial-use": a("forbidden", "research use only; weights granted on request"),
      "modify": a("condition", "for non-commercial research"),
      "redistribute": a("forbidden", "weights not licensed for redistribution; access by application"),
      "user-cap": NA,
      "use-policy": a("forbidden", "non-commercial research purposes only"),
      "outputs-train-other-models": NA,
      "attribution": NA,
      "derivative-naming": NA,
      "regional": a("permitted", "no regional carve-out"),
      "osi-approved": a("forbidden", "no (the inference code was GPL-3.0, the weights were not)"),
    },
  },
  {
    id: "LicenseRef-Llama-2-Community", name: "Llama 2 Community License", since: "2023-07-18",
    source: "https://github.com/meta-llama/llama/blob/main/LICENSE", checked: CHECKED,
    terms: {
      ...LLAMA_COMMON,
      "outputs-train-other-models": a("forbidden", "outputs may not be used to improve any other LLM"),
      "attribution": a("condition", "ship a notice that Llama 2 is licensed under the community license"),
      "derivative-naming": NA,
    },
  },
  {
    id: "LicenseRef-Llama-3-Community", name: "Meta Llama 3 Community License", since: "2024-04-18",
    source: "https://github.com/meta-llama/llama3/blob/main/LICENSE", checked: CHECKED,
    terms: {
      ...LLAMA_COMMON,
      "outputs-train-other-models": a("forbidden", "still forbidden"),
      "attribution": a("condition", "display \"Built with Meta Llama 3\" on related products"),
      "derivative-naming": a("condition", "derivative models' names must begin with \"Llama 3\""),
    },
  },
  {
    id: "LicenseRef-Llama-3.1-Community", name: "Llama 3.1 Community License", since: "2024-07-23",
    source: "https://github.com/meta-llama/llama-models/blob/main/models/llama3_1/LICENSE", checked: CHECKED,
    terms: {
      ...LLAMA_COMMON,
      "outputs-train-other-models": a("condition", "allowed (the ban is dropped), but a model trained on Llama outputs must carry the \"Llama\" prefix"),
      "attribution": a("condition", "display \"Built with Llama\""),
      "derivative-naming": a("condition", "names of models built with Llama materials or outputs begin with \"Llama\""),
    },
  },
  {
    id: "LicenseRef-Llama-3.2-Community", name: "Llama 3.2 Community License", since: "2024-09-25",
    source: "https://github.com/meta-llama/llama-models/blob/main/models/llama3_2/LICENSE", checked: CHECKED,
    terms: {
      ...LLAMA_COMMON,
      "outputs-train-other-models": a("condition", "allowed, with the \"Llama\" naming rule"),
      "attribution": a("condition", "display \"Built with Llama\""),
      "derivative-naming": a("condition", "names begin with \"Llama\""),
      "regional": a("forbidden", "the AUP withholds rights to the multimodal models from EU-domiciled individuals and companies"),
    },
  },
  { id: "Apache-2.0", name: "Apache License 2.0", source: "https://spdx.org/licenses/Apache-2.0.html", ...PERMISSIVE("keep copyright, license and NOTICE; state changes") },
  { id: "MIT", name: "MIT License", source: "https://spdx.org/licenses/MIT.html", ...PERMISSIVE("keep the copyright and permission notice") },
];

/** Terms of one license by id; throws listing the known ids. */
export function licenseTerms(id: string): LicenseTerms {
  const t = LICENSE_TERMS.find((x) => x.id === id);
  if (!t) throw new Error(`no license terms for "${id}"; known: ${LICENSE_TERMS.map((x) => x.id).join(", ")}`);
  return t;
}

/** Side-by-side comparison rows: one per question, one column per license (stance, then detail). */
export function compareLicenses(ids: string[] = LICENSE_TERMS.map((t) => t.id)): Record<string, string>[] {
  const licenses = ids.map(licenseTerms);
  return LICENSE_QUESTIONS.map((q) => {
    const row: Record<string, string> = { question: q.question };
    for (const l of licenses) row[l.name] = `${l.terms[q.id].stance}: ${l.terms[q.id].detail}`;
    return row;
  });
}
