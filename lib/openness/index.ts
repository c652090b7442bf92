/**
 * Openness analysis: a sourced dataset of model releases and classifiers for the Model Openness Framework, the
 * Open Source AI Definition 1.0 and an Index-style score.
 */
export { MOF_COMPONENTS, COMPONENT_INFO, RESTRICTION_TAGS, validateRecord, validateDataset, isLicenseId } from "./schema";
export type { MofComponentId, ContentType, MofClassNumber, ComponentInfo, RestrictionTag, Sourced, Fact, ReleaseStatus, ComponentRecord, GlobalLicenses, Restriction, Architecture, Objective, ModelRecord } from "./schema";
export { LICENSES, licenseInfo, effectiveLicense, licenseFit } from "./licenses";
export type { LicenseInfo, LicenseOrigin, LicenseFit } from "./licenses";
export { classifyMof, assessComponent } from "./mof";
export type { MofResult, ComponentAssessment, ComponentVerdict, ClassProgress } from "./mof";
export { checkOsaid, OSAID_CODE } from "./osaid";
export type { OsaidResult, OsaidCriterion } from "./osaid";
export { indexScore, INDEX_DIMENSIONS, LICENSE_DIMENSION, RATING_POINTS } from "./index_score";
export type { IndexScore, IndexDimension, Rating } from "./index_score";
export { RELEASES, release, CHECKED, PUBLISHED_INDEX_SCORES } from "./records";
export type { PublishedIndexScore } from "./records";
export { LICENSE_TERMS, LICENSE_QUESTIONS, licenseTerms, compareLicenses } from "./license_terms";
export type { LicenseTerms, TermStance, TermAnswer, LicenseQuestionId } from "./license_terms";
export { scoreRelease, releaseRecord, COMPONENT_NAMES } from "./score_release";
export type { ReleaseInput, ReleaseComponentInput, ReleaseAssessment } from "./score_release";
export { assessAll, resultsTable, componentMatrix, componentHeatmap, VERDICT_VALUE } from "./report";
export type { OpennessResult } from "./report";
