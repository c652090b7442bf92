import { strict as assert } from "assert";
import {
  classifyMof, checkOsaid, indexScore, RELEASES, release, validateRecord, validateDataset, scoreRelease, compareLicenses,
  licenseTerms, LICENSE_TERMS, MOF_COMPONENTS, COMPONENT_INFO, componentMatrix, assessAll, licenseFit, effectiveLicense, isLicenseId,
  ModelRecord, MofComponentId, ComponentRecord,
} from "../lib/openness";

const S = { source: "https://example.org/x", checked: "2026-12-03" };
const on = (license?: string): ComponentRecord => ({ ...S, status: "released", ...(license ? { license } : {}) });

/** A release with every non-optional component of classes up to `upTo`, each under the type-appropriate license. */
function fullRelease(upTo: 1 | 2 | 3, skip: MofComponentId[] = []): Pick<ModelRecord, "components" | "globalLicenses" | "restrictions"> {
  const typeLicense = { code: "Apache-2.0", data: "CDLA-Permissive-2.0", document: "CC-BY-4.0" } as const;
  const components: ModelRecord["components"] = {};
  for (const id of MOF_COMPONENTS) {
    const info = COMPONENT_INFO[id];
    if (info.optional || info.mofClass < upTo || skip.includes(id)) continue;
    components[id] = on(typeLicense[info.contentType]);
  }
  return { components, restrictions: [] };
}

function baseRecord(): Record<string, unknown> {
  const f = (value: unknown) => ({ value, ...S });
  return {
    id: "test-model", name: "Test", family: "Test", organisation: f("Org"), releaseDate: f("2024-01-01"),
    architecture: f("decoder-only"), objective: f("next-token prediction"), sizes: f(["1B"]),
    components: { "final-parameters": on("Apache-2.0") }, restrictions: [],
  };
}

describe("openness: MOF classifier", () => {
  it("gives Class III, II and I cumulatively from the published component lists", () => {
    assert.equal(classifyMof(fullRelease(3)).label, "Class III");
    assert.equal(classifyMof(fullRelease(2)).label, "Class II");
    const all = classifyMof(fullRelease(1));
    assert.equal(all.label, "Class I");
    assert.deepEqual(all.missing, []);
    assert.deepEqual(all.warnings, []);
    assert.deepEqual([all.progress.III.required, all.progress.II.required, all.progress.I.required], [6, 4, 4]);
  });

  it("is cumulative: the Class I and II items without a Class III item give no class, with progress kept per class", () => {
    const r = classifyMof(fullRelease(1, ["data-card"]));
    assert.equal(r.classNumber, null);
    assert.equal(r.progress.III.met, 5);
    assert.equal(r.progress.II.fraction, 1);
    assert.equal(r.progress.I.fraction, 1);
    assert.deepEqual(r.missing.map((m) => [m.component, m.mofClass]), [["data-card", 3]]);
  });

  it("lets a research paper stand in for the technical report, but not the reverse", () => {
    const noReport = fullRelease(1, ["technical-report"]);
    const r = classifyMof(noReport);
    assert.equal(r.label, "Class I");
    assert.equal(r.components["technical-report"].verdict, "stood-in");
    assert.ok(r.warnings.some((w) => /research paper stands in/.test(w)));
    const noPaper = classifyMof(fullRelease(1, ["research-paper"]));
    assert.equal(noPaper.label, "Class II");
    assert.deepEqual(noPaper.missing.map((m) => m.component), ["research-paper"]);
  });

  it("inherits a global license (per type first, then distribution)", () => {
    const rel = fullRelease(3);
    for (const id of Object.keys(rel.components) as MofComponentId[]) rel.components[id] = on();
    assert.equal(classifyMof(rel).label, "Unclassified");
    rel.globalLicenses = { distribution: { value: "Apache-2.0", ...S }, document: { value: "CC-BY-4.0", ...S } };
    const r = classifyMof(rel);
    assert.equal(r.label, "Class III");
    assert.equal(r.components["model-card"].licenseOrigin, "global-type");
    assert.equal(r.components["model-card"].license, "CC-BY-4.0");
    assert.equal(r.components["final-parameters"].licenseOrigin, "global-distribution");
    assert.equal(r.components["final-parameters"].verdict, "open-wrong-type");
    assert.deepEqual(effectiveLicense(rel, "model-architecture", rel.components["model-architecture"]), { license: "Apache-2.0", origin: "global-distribution" });
  });

  it("fails an unlicensed released component and names it", () => {
    const rel = fullRelease(3);
    rel.components["model-architecture"] = on();
    const r = classifyMof(rel);
    assert.equal(r.label, "Unclassified");
    assert.equal(r.components["model-architecture"].verdict, "unlicensed");
    assert.match(r.missing[0].reason, /Model architecture is released without a license/);
  });

  it("passes an open license of the wrong type with a warning (MOF 1.1)", () => {
    const rel = fullRelease(3);
    rel.components["final-parameters"] = on("Apache-2.0");
    rel.components["model-card"] = on("MIT");
    const r = classifyMof(rel);
    assert.equal(r.label, "Class III");
    assert.equal(r.warnings.length, 2);
    assert.equal(licenseFit("CC-BY-4.0", "code"), "open-wrong-type");
    assert.equal(licenseFit("OpenMDW-1.0", "code"), "open");
    assert.equal(licenseFit("OpenMDW-1.0", "data"), "open");
  });

  it("counts custom licenses, non-commercial licenses and partial releases as not open", () => {
    for (const lic of ["LicenseRef-Llama-2-Community", "LicenseRef-Something-Else", "CC-BY-NC-4.0", "BigScience-BLOOM-RAIL-1.0"]) {
      const rel = fullRelease(3);
      rel.components["final-parameters"] = on(lic);
      const r = classifyMof(rel);
      assert.equal(r.label, "Unclassified", lic);
      assert.equal(r.components["final-parameters"].verdict, "not-open-license", lic);
    }
    const rel = fullRelease(3);
    rel.components["final-parameters"] = { ...S, status: "partial", license: "Apache-2.0" };
    assert.equal(classifyMof(rel).components["final-parameters"].verdict, "partial");
  });

  it("does not count optional components toward progress", () => {
    const rel = fullRelease(3);
    const before = classifyMof(rel).progress.III;
    rel.components["sample-outputs"] = on("CC-BY-4.0");
    assert.deepEqual(classifyMof(rel).progress.III, before);
  });
});

describe("openness: OSAID 1.0 check", () => {
  it("meets with data information, OSI-licensed code and open parameters; training data itself not required", () => {
    const rel = fullRelease(1, ["datasets"]);
    const r = checkOsaid(rel);
    assert.equal(r.meets, true, r.reasons.join("; "));
  });

  it("gives a reason per missing requirement", () => {
    const rel = fullRelease(3);
    const r = checkOsaid(rel);
    assert.equal(r.meets, false);
    assert.equal(r.criteria.find((c) => c.requirement === "parameters")!.met, true);
    assert.ok(r.reasons.some((x) => /Training code is not/.test(x)));
    assert.ok(r.reasons.some((x) => /Data preprocessing code/.test(x)));
  });

  it("rejects code under a non-OSI license, and use restrictions on the parameters, but allows attribution", () => {
    const rel = fullRelease(1);
    rel.components["training-code"] = on("CC-BY-4.0");
    assert.match(checkOsaid(rel).reasons.join(), /not an OSI-approved license/);
    const rel2 = fullRelease(1);
    rel2.restrictions = [{ ...S, tag: "naming-attribution" }];
    assert.equal(checkOsaid(rel2).meets, true);
    rel2.restrictions.push({ ...S, tag: "acceptable-use-policy" });
    assert.match(checkOsaid(rel2).reasons.join(), /acceptable-use/);
  });
});

describe("openness: Index-style score", () => {
  it("rates open 1, partial 0.5, closed 0 and sums", () => {
    const full = indexScore(fullRelease(1));
    assert.equal(full.score, full.max);
    const none = indexScore({ components: {}, restrictions: [] });
    assert.equal(none.score, 0);
    const rel = fullRelease(1);
    rel.components["datasets"] = { ...S, status: "partial" };
    rel.components["final-parameters"] = on("LicenseRef-Custom");
    const r = indexScore(rel);
    assert.equal(r.ratings["llm-data"], "partial");
    assert.equal(r.ratings["llm-weights"], "partial");
    assert.equal(r.ratings["license"], "partial");
    assert.equal(r.score, full.max - 1.5);
  });
});

describe("openness: schema", () => {
  it("accepts a good record and rejects bad ones naming the model, the field and the problem", () => {
    assert.equal(validateRecord(baseRecord()).id, "test-model");
    const cases: [(r: Record<string, any>) => void, RegExp][] = [
      [(r) => { r.components["final-parameters"].license = "Apache 2.0"; }, /"test-model".*components\.final-parameters\.license.*SPDX/],
      [(r) => { r.components["weights"] = on("MIT"); }, /"test-model".*components\.weights.*not a MOF component/],
      [(r) => { r.releaseDate.value = "2024-02-30"; }, /"test-model".*releaseDate\.value.*date/],
      [(r) => { delete r.organisation.source; }, /"test-model".*organisation\.source.*https URL/],
      [(r) => { r.components["final-parameters"].checked = "yesterday"; }, /components\.final-parameters\.checked/],
      [(r) => { r.restrictions = [{ ...S, tag: "no-fun" }]; }, /restrictions\[0\]\.tag/],
      [(r) => { r.architecture.value = "mlp"; }, /architecture\.value/],
      [(r) => { r.components["datasets"] = { ...S, status: "not-released", license: "MIT" }; }, /components\.datasets\.license.*not released/],
    ];
    for (const [mutate, re] of cases) {
      const r = baseRecord() as Record<string, any>;
      mutate(r);
      assert.throws(() => validateRecord(r), re);
    }
    assert.throws(() => validateDataset([baseRecord(), baseRecord()]), /"test-model".*unique/);
    assert.equal(isLicenseId("LicenseRef-Llama-2-Community"), true);
    assert.equal(isLicenseId("Llama 2 Community License"), false);
  });
});

describe("openness: shipped dataset", () => {
  const REQUIRED = ["llama-1", "llama-2", "llama-3", "llama-3.1", "mistral-7b", "mixtral-8x7b", "olmo-7b", "pythia", "bloom", "falcon-40b", "falcon-180b", "gemma", "qwen2", "gpt-2", "bert", "deepseek-v3", "deepseek-r1", "phi-3", "smollm"];

  it("lists every model the issue names, each valid, sourced and dated", () => {
    const ids = RELEASES.map((r) => r.id);
    for (const id of REQUIRED) assert.ok(ids.includes(id), id);
    assert.doesNotThrow(() => validateDataset(JSON.parse(JSON.stringify(RELEASES))));
    for (const r of RELEASES) for (const c of Object.values(r.components)) assert.match(c!.source, /^https:\/\//);
  });

  it("reproduces the published verdicts: OLMo and Pythia Class I and OSAID; every Llama unclassified and failing OSAID", () => {
    for (const id of ["olmo-7b", "pythia"]) {
      assert.equal(classifyMof(release(id)).label, "Class I", id);
      assert.equal(checkOsaid(release(id)).meets, true, id);
    }
    for (const r of RELEASES.filter((x) => x.family === "Llama")) {
      assert.equal(classifyMof(r).label, "Unclassified", r.id);
      assert.equal(checkOsaid(r).meets, false, r.id);
    }
    for (const id of ["bloom", "gemma", "gpt-2", "falcon-180b"]) assert.equal(classifyMof(release(id)).label, "Unclassified", id);
    for (const id of ["mixtral-8x7b", "deepseek-r1"]) {
      const m = classifyMof(release(id));
      assert.equal(m.progress.III.required - m.progress.III.met, 1, `${id} should be one Class III item short`);
    }
    for (const id of ["mixtral-8x7b"]) assert.equal(checkOsaid(release(id)).meets, false);
  });

  it("derives the results from the data: Llama 2 fails because of its custom license, and an open license would change it", () => {
    const llama2 = release("llama-2");
    const m = classifyMof(llama2);
    assert.equal(m.components["final-parameters"].verdict, "not-open-license");
    assert.match(checkOsaid(llama2).reasons.join(), /user-count-cap/);
    const relicensed: ModelRecord = JSON.parse(JSON.stringify(llama2));
    for (const c of Object.values(relicensed.components)) if (c!.license) c!.license = "Apache-2.0";
    assert.ok(classifyMof(relicensed).progress.III.met > m.progress.III.met);
    // OSI's validation: BLOOM would meet the definition with a license change; its data information is enough.
    const bloom = checkOsaid(release("bloom"));
    assert.equal(bloom.criteria.find((c) => c.requirement === "data information")!.met, true);
    assert.equal(bloom.meets, false);
  });

  it("builds the heatmap matrix and the results table from the classifiers", () => {
    const m = componentMatrix(RELEASES);
    assert.equal(m.z.length, RELEASES.length);
    assert.ok(m.z.every((row) => row.length === MOF_COMPONENTS.length));
    const olmo = m.models.indexOf("OLMo 7B");
    const params = MOF_COMPONENTS.indexOf("final-parameters");
    assert.equal(m.z[olmo][params], 1.5, "Apache-2.0 on weights is open but of the wrong type");
    const results = assessAll(RELEASES);
    assert.ok(results.find((r) => r.id === "olmo-7b")!.indexScore > results.find((r) => r.id === "llama-2")!.indexScore);
  });
});

describe("openness: license view", () => {
  it("compares the Llama licenses with Apache-2.0 and MIT as structured terms", () => {
    const rows = compareLicenses();
    assert.equal(Object.keys(rows[0]).length, LICENSE_TERMS.length + 1);
    assert.equal(licenseTerms("LicenseRef-Llama-2-Community").terms["outputs-train-other-models"].stance, "forbidden");
    assert.equal(licenseTerms("LicenseRef-Llama-3-Community").terms["outputs-train-other-models"].stance, "forbidden");
    assert.notEqual(licenseTerms("LicenseRef-Llama-3.1-Community").terms["outputs-train-other-models"].stance, "forbidden");
    assert.equal(licenseTerms("LicenseRef-Llama-3.2-Community").terms["regional"].stance, "forbidden");
    for (const id of ["Apache-2.0", "MIT"]) assert.ok(Object.values(licenseTerms(id).terms).every((t) => t.stance !== "forbidden"), id);
    for (const t of LICENSE_TERMS.filter((x) => x.id.startsWith("LicenseRef-Llama"))) assert.equal(t.terms["osi-approved"].stance, "forbidden");
    assert.throws(() => licenseTerms("GPL-2.0-only"), /known:/);
  });
});

describe("openness: scoring your own release", () => {
  it("scores a release from chosen licenses and explains the class", () => {
    const mine = scoreRelease({
      name: "my tiny llama",
      licenses: { code: "MIT", data: "CC-BY-4.0", document: "CC-BY-4.0" },
      components: {
        "model-architecture": true, "final-parameters": true, "model-card": true, "data-card": true, "evaluation-results": true,
        "research-paper": true, "training-code": true, "inference-code": true, "evaluation-code": true, "evaluation-data": true,
        "datasets": true, "data-preprocessing-code": true, "intermediate-parameters": true,
      },
    });
    assert.equal(mine.mof.label, "Class I");
    assert.equal(mine.osaid.meets, true);
    const restricted = scoreRelease({ components: { "model-architecture": "MIT", "final-parameters": "LicenseRef-My-Community-License" }, restrictions: ["acceptable-use-policy"] });
    assert.equal(restricted.mof.label, "Unclassified");
    assert.ok(restricted.summary.some((s) => /custom license/.test(s)));
    assert.throws(() => scoreRelease({ components: { weights: true } as never }), /components\.weights is not a MOF component/);
    assert.throws(() => scoreRelease({ components: { "final-parameters": "Apache 2" } }), /final-parameters license/);
    assert.throws(() => scoreRelease({ components: {}, restrictions: ["nope" as never] }), /restriction "nope"/);
  });
});
