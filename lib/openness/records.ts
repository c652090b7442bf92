/**
 * The shipped dataset of model releases. Each fact names the primary source it was read from (model card, LICENSE
 * file, paper, or the Model Openness Tool's record) and the date it was checked. A component missing from a record
 * was not found released. Records describe the base models of each family.
 */
import { ComponentRecord, Fact, ModelRecord, ReleaseStatus, Restriction, RestrictionTag, validateDataset } from "./schema";

/** Date on which the facts below were last confirmed. */
export const CHECKED = "2026-12-03";

const fact = <T>(value: T, source: string, note?: string): Fact<T> => ({ value, source, checked: CHECKED, ...(note ? { note } : {}) });
const comp = (status: ReleaseStatus, source: string, license?: string, note?: string): ComponentRecord =>
  ({ status, source, checked: CHECKED, ...(license ? { license } : {}), ...(note ? { note } : {}) });
const restrict = (tag: RestrictionTag, source: string, note?: string): Restriction => ({ tag, source, checked: CHECKED, ...(note ? { note } : {}) });
const yes = (source: string, license?: string, note?: string) => comp("released", source, license, note);
const no = (source: string, note?: string) => comp("not-released", source, undefined, note);
const partly = (source: string, license?: string, note?: string) => comp("partial", source, license, note);

const MOT = (file: string) => `https://github.com/lfai/model_openness_tool/blob/main/models/${file}`;

// --- Meta's Llama family -------------------------------------------------------------------------------------------
const LLAMA1_CARD = "https://github.com/meta-llama/llama/blob/llama_v1/MODEL_CARD.md";
const LLAMA1_LICENSE = "https://github.com/meta-llama/llama/blob/llama_v1/LICENSE";
const LLAMA1_PAPER = "https://arxiv.org/abs/2302.13971";
const LLAMA2_LICENSE = "https://github.com/meta-llama/llama/blob/main/LICENSE";
const LLAMA2_CARD = "https://github.com/meta-llama/llama/blob/main/MODEL_CARD.md";
const LLAMA2_AUP = "https://github.com/meta-llama/llama/blob/main/USE_POLICY.md";
const LLAMA2_PAPER = "https://arxiv.org/abs/2307.09288";
const LLAMA3_LICENSE = "https://github.com/meta-llama/llama3/blob/main/LICENSE";
const LLAMA3_CARD = "https://github.com/meta-llama/llama3/blob/main/MODEL_CARD.md";
const LLAMA3_AUP = "https://github.com/meta-llama/llama3/blob/main/USE_POLICY.md";
const HERD_PAPER = "https://arxiv.org/abs/2407.21783";
const LLAMA31_LICENSE = "https://github.com/meta-llama/llama-models/blob/main/models/llama3_1/LICENSE";
const LLAMA31_CARD = "https://github.com/meta-llama/llama-models/blob/main/models/llama3_1/MODEL_CARD.md";
const LLAMA31_AUP = "https://github.com/meta-llama/llama-models/blob/main/models/llama3_1/USE_POLICY.md";
const LLAMA32_LICENSE = "https://github.com/meta-llama/llama-models/blob/main/models/llama3_2/LICENSE";
const LLAMA32_CARD = "https://github.com/meta-llama/llama-models/blob/main/models/llama3_2/MODEL_CARD.md";
const LLAMA32_AUP = "https://github.com/meta-llama/llama-models/blob/main/models/llama3_2/USE_POLICY.md";

const NTP = "next-token prediction" as const;

function llama(opts: {
  id: string; name: string; date: string; dateSource: string; sizes: string[]; license: string; licenseUrl: string; card: string;
  code: string; paper?: string; paperNote?: string; restrictions: Restriction[];
}): ModelRecord {
  return {
    id: opts.id, name: opts.name, family: "Llama",
    organisation: fact("Meta", opts.card, "Built and released by Meta; Hugging Face hosts the gated weights and the transformers implementation"),
    releaseDate: fact(opts.date, opts.dateSource),
    architecture: fact("decoder-only", opts.card),
    objective: fact(NTP, opts.card),
    sizes: fact(opts.sizes, opts.card),
    components: {
      "model-architecture": yes(opts.code, opts.license),
      "inference-code": yes(opts.code, opts.license),
      "final-parameters": yes(opts.licenseUrl, opts.license, "gated download after accepting the license"),
      "model-card": yes(opts.card, opts.license),
      "evaluation-results": yes(opts.card, opts.license),
      ...(opts.paper ? { "research-paper": yes(opts.paper, undefined, opts.paperNote ?? "arXiv paper; no open license recorded for it") } : {}),
      "training-code": no(opts.card, "no pretraining code released"),
      "datasets": no(opts.card, "data sources described in outline only; the training corpus is not released"),
      "data-card": no(opts.card, "the model card's training-data section gives no data card"),
    },
    restrictions: opts.restrictions,
  };
}

const RAW: ModelRecord[] = [
  {
    id: "llama-1", name: "LLaMA (Llama 1)", family: "Llama",
    organisation: fact("Meta AI (FAIR)", LLAMA1_CARD, "Built and released by Meta's FAIR team, not by Hugging Face"),
    releaseDate: fact("2023-02-24", "https://ai.meta.com/blog/large-language-model-llama-meta-ai/"),
    architecture: fact("decoder-only", LLAMA1_PAPER),
    objective: fact(NTP, LLAMA1_PAPER),
    sizes: fact(["7B", "13B", "33B", "65B"], LLAMA1_CARD),
    components: {
      "model-architecture": yes(LLAMA1_LICENSE, "GPL-3.0-only", "inference code and model definition under GPL v3"),
      "inference-code": yes(LLAMA1_LICENSE, "GPL-3.0-only"),
      "final-parameters": yes(LLAMA1_CARD, "LicenseRef-Llama-1-Research", "weights by request, under a non-commercial bespoke license"),
      "model-card": yes(LLAMA1_CARD),
      "evaluation-results": yes(LLAMA1_PAPER),
      "research-paper": yes(LLAMA1_PAPER, undefined, "arXiv paper; no open license recorded for it"),
      "training-code": no(LLAMA1_CARD),
      "datasets": no(LLAMA1_PAPER, "built from public sources listed in the paper; the processed corpus is not released"),
      "data-card": no(LLAMA1_CARD),
    },
    restrictions: [restrict("non-commercial", LLAMA1_CARD, "research use only")],
  },
  llama({
    id: "llama-2", name: "Llama 2", date: "2023-07-18", dateSource: LLAMA2_CARD, sizes: ["7B", "13B", "70B"],
    license: "LicenseRef-Llama-2-Community", licenseUrl: LLAMA2_LICENSE, card: LLAMA2_CARD, code: LLAMA2_LICENSE, paper: LLAMA2_PAPER,
    restrictions: [
      restrict("user-count-cap", LLAMA2_LICENSE, "separate license from Meta needed above 700M monthly active users"),
      restrict("acceptable-use-policy", LLAMA2_AUP),
      restrict("output-use-ban", LLAMA2_LICENSE, "outputs may not be used to improve other large language models"),
      restrict("naming-attribution", LLAMA2_LICENSE, "attribution notice must accompany copies"),
      restrict("derivative-restrictions", LLAMA2_LICENSE, "redistributed derivatives stay bound by the agreement and the AUP"),
    ],
  }),
  llama({
    id: "llama-3", name: "Llama 3", date: "2024-04-18", dateSource: LLAMA3_CARD, sizes: ["8B", "70B"],
    license: "LicenseRef-Llama-3-Community", licenseUrl: LLAMA3_LICENSE, card: LLAMA3_CARD, code: LLAMA3_LICENSE, paper: HERD_PAPER,
    paperNote: "The Llama 3 Herd of Models appeared in July 2024, three months after release; no open license recorded for it",
    restrictions: [
      restrict("user-count-cap", LLAMA3_LICENSE, "700M monthly active users"),
      restrict("acceptable-use-policy", LLAMA3_AUP),
      restrict("output-use-ban", LLAMA3_LICENSE),
      restrict("naming-attribution", LLAMA3_LICENSE, "display \"Built with Meta Llama 3\"; derivative model names start with \"Llama 3\""),
      restrict("derivative-restrictions", LLAMA3_LICENSE),
    ],
  }),
  llama({
    id: "llama-3.1", name: "Llama 3.1", date: "2024-07-23", dateSource: LLAMA31_CARD, sizes: ["8B", "70B", "405B"],
    license: "LicenseRef-Llama-3.1-Community", licenseUrl: LLAMA31_LICENSE, card: LLAMA31_CARD, code: LLAMA31_LICENSE, paper: HERD_PAPER,
    restrictions: [
      restrict("user-count-cap", LLAMA31_LICENSE, "700M monthly active users"),
      restrict("acceptable-use-policy", LLAMA31_AUP),
      restrict("naming-attribution", LLAMA31_LICENSE, "display \"Built with Llama\"; models trained on Llama materials or outputs carry the \"Llama\" prefix"),
      restrict("derivative-restrictions", LLAMA31_LICENSE, "the output clause is gone, but models built with Llama outputs inherit the naming and license terms"),
    ],
  }),
  llama({
    id: "llama-3.2", name: "Llama 3.2", date: "2024-09-25", dateSource: LLAMA32_CARD, sizes: ["1B", "3B", "11B", "90B"],
    license: "LicenseRef-Llama-3.2-Community", licenseUrl: LLAMA32_LICENSE, card: LLAMA32_CARD, code: LLAMA32_LICENSE,
    restrictions: [
      restrict("user-count-cap", LLAMA32_LICENSE, "700M monthly active users"),
      restrict("acceptable-use-policy", LLAMA32_AUP, "withholds the rights to the multimodal models from individuals and companies in the EU"),
      restrict("naming-attribution", LLAMA32_LICENSE, "\"Built with Llama\"; \"Llama\" name prefix"),
      restrict("derivative-restrictions", LLAMA32_LICENSE),
    ],
  }),
  // --- Others ------------------------------------------------------------------------------------------------------
  {
    id: "mistral-7b", name: "Mistral 7B", family: "Mistral",
    organisation: fact("Mistral AI", "https://mistral.ai/news/announcing-mistral-7b"),
    releaseDate: fact("2023-09-27", "https://mistral.ai/news/announcing-mistral-7b"),
    architecture: fact("decoder-only", "https://arxiv.org/abs/2310.06825"),
    objective: fact(NTP, "https://arxiv.org/abs/2310.06825"),
    sizes: fact(["7.3B"], "https://mistral.ai/news/announcing-mistral-7b"),
    globalLicenses: { distribution: fact("Apache-2.0", "https://huggingface.co/mistralai/Mistral-7B-v0.1") },
    components: {
      "model-architecture": yes("https://github.com/mistralai/mistral-inference", "Apache-2.0"),
      "inference-code": yes("https://github.com/mistralai/mistral-inference", "Apache-2.0"),
      "final-parameters": yes("https://huggingface.co/mistralai/Mistral-7B-v0.1"),
      "model-card": yes("https://huggingface.co/mistralai/Mistral-7B-v0.1"),
      "research-paper": yes("https://arxiv.org/abs/2310.06825"),
      "evaluation-results": yes("https://arxiv.org/abs/2310.06825"),
      "training-code": no("https://arxiv.org/abs/2310.06825"),
      "datasets": no("https://arxiv.org/abs/2310.06825", "training data not disclosed"),
      "data-card": no("https://huggingface.co/mistralai/Mistral-7B-v0.1"),
    },
    restrictions: [],
  },
  {
    id: "mixtral-8x7b", name: "Mixtral 8x7B", family: "Mistral",
    organisation: fact("Mistral AI", "https://mistral.ai/news/mixtral-of-experts"),
    releaseDate: fact("2023-12-11", "https://mistral.ai/news/mixtral-of-experts"),
    architecture: fact("decoder-only-moe", "https://arxiv.org/abs/2401.04088"),
    objective: fact(NTP, "https://arxiv.org/abs/2401.04088"),
    sizes: fact(["46.7B total / 12.9B active"], "https://mistral.ai/news/mixtral-of-experts"),
    globalLicenses: { distribution: fact("Apache-2.0", MOT("Mixtral-8x7B-v0.1.yml")) },
    components: {
      "model-architecture": yes("https://github.com/mistralai/mistral-inference", "Apache-2.0"),
      "inference-code": yes("https://github.com/mistralai/mistral-inference", "Apache-2.0"),
      "supporting-libraries": yes("https://github.com/mistralai/cookbook"),
      "final-parameters": yes("https://huggingface.co/mistralai/Mixtral-8x7B-v0.1"),
      "model-card": yes("https://huggingface.co/mistralai/Mixtral-8x7B-v0.1"),
      "technical-report": yes("https://mistral.ai/news/mixtral-of-experts"),
      "research-paper": yes("https://arxiv.org/abs/2401.04088", "CC-BY-4.0"),
      "evaluation-results": yes("https://arxiv.org/abs/2401.04088", "CC-BY-4.0"),
      "training-code": no("https://arxiv.org/abs/2401.04088"),
      "datasets": no("https://arxiv.org/abs/2401.04088", "pretrained on \"data extracted from the open Web\"; not released"),
      "data-card": no(MOT("Mixtral-8x7B-v0.1.yml")),
    },
    restrictions: [],
  },
  {
    id: "olmo-7b", name: "OLMo 7B", family: "OLMo",
    organisation: fact("Allen Institute for AI (AI2)", "https://huggingface.co/allenai/OLMo-7B"),
    releaseDate: fact("2024-02-01", "https://arxiv.org/abs/2402.00838"),
    architecture: fact("decoder-only", "https://arxiv.org/abs/2402.00838"),
    objective: fact(NTP, "https://arxiv.org/abs/2402.00838"),
    sizes: fact(["1B", "7B"], "https://huggingface.co/allenai/OLMo-7B"),
    globalLicenses: { distribution: fact("Apache-2.0", "https://github.com/allenai/OLMo/blob/main/LICENSE") },
    components: {
      "model-architecture": yes("https://github.com/allenai/OLMo", "Apache-2.0"),
      "data-preprocessing-code": yes("https://github.com/allenai/dolma", "Apache-2.0"),
      "training-code": yes("https://github.com/allenai/OLMo", "Apache-2.0"),
      "inference-code": yes("https://github.com/allenai/OLMo", "Apache-2.0"),
      "evaluation-code": yes("https://github.com/allenai/OLMo-Eval", "Apache-2.0"),
      "final-parameters": yes("https://huggingface.co/allenai/OLMo-7B", "Apache-2.0"),
      "intermediate-parameters": yes("https://huggingface.co/allenai/OLMo-7B", "Apache-2.0", "checkpoints every 1000 steps as repository revisions"),
      "datasets": yes("https://huggingface.co/datasets/allenai/dolma", "ODC-By-1.0", "Dolma, under ODC-By since 2024-04 (previously the AI2 ImpACT license)"),
      "evaluation-data": yes(MOT("OLMo-7B.yml")),
      "model-metadata": yes("https://github.com/allenai/OLMo", undefined, "training configs"),
      "model-card": yes("https://huggingface.co/allenai/OLMo-7B"),
      "data-card": yes("https://huggingface.co/datasets/allenai/dolma"),
      "research-paper": yes("https://arxiv.org/abs/2402.00838", "CC-BY-4.0"),
      "evaluation-results": yes("https://arxiv.org/abs/2402.00838"),
    },
    restrictions: [],
  },
  {
    id: "pythia", name: "Pythia", family: "Pythia",
    organisation: fact("EleutherAI", "https://github.com/EleutherAI/pythia"),
    releaseDate: fact("2023-04-03", "https://arxiv.org/abs/2304.01373", "paper date; the weights appeared on Hugging Face earlier in 2023"),
    architecture: fact("decoder-only", "https://arxiv.org/abs/2304.01373"),
    objective: fact(NTP, "https://arxiv.org/abs/2304.01373"),
    sizes: fact(["70M", "160M", "410M", "1B", "1.4B", "2.8B", "6.9B", "12B"], "https://github.com/EleutherAI/pythia"),
    globalLicenses: { distribution: fact("Apache-2.0", MOT("Pythia-6.9B.yml")) },
    components: {
      "model-architecture": yes("https://github.com/EleutherAI/gpt-neox", "Apache-2.0"),
      "data-preprocessing-code": yes("https://github.com/EleutherAI/the-pile", "MIT"),
      "training-code": yes("https://github.com/EleutherAI/gpt-neox", "Apache-2.0"),
      "inference-code": yes("https://github.com/EleutherAI/gpt-neox", "Apache-2.0"),
      "evaluation-code": yes("https://github.com/EleutherAI/lm-evaluation-harness", "MIT"),
      "final-parameters": yes("https://github.com/EleutherAI/pythia"),
      "intermediate-parameters": yes("https://github.com/EleutherAI/pythia", undefined, "154 checkpoints per model"),
      "datasets": yes("https://github.com/EleutherAI/pythia", undefined, "the Pile (and a deduplicated copy) in the training order; the Pile's parts keep their own terms"),
      "evaluation-data": yes("https://github.com/EleutherAI/lm-evaluation-harness"),
      "model-card": yes("https://huggingface.co/EleutherAI/pythia-6.9b"),
      "data-card": yes("https://arxiv.org/abs/2201.07311", undefined, "datasheet for the Pile"),
      "research-paper": yes("https://arxiv.org/abs/2304.01373", "CC-BY-SA-4.0"),
      "evaluation-results": yes("https://arxiv.org/abs/2304.01373"),
    },
    restrictions: [],
  },
  {
    id: "bloom", name: "BLOOM", family: "BLOOM",
    organisation: fact("BigScience (coordinated by Hugging Face)", "https://huggingface.co/bigscience/bloom"),
    releaseDate: fact("2022-07-12", "https://huggingface.co/bigscience/bloom"),
    architecture: fact("decoder-only", "https://arxiv.org/abs/2211.05100"),
    objective: fact(NTP, "https://arxiv.org/abs/2211.05100"),
    sizes: fact(["560M", "1.1B", "1.7B", "3B", "7.1B", "176B"], "https://arxiv.org/abs/2211.05100"),
    globalLicenses: { distribution: fact("BigScience-BLOOM-RAIL-1.0", "https://huggingface.co/spaces/bigscience/license") },
    components: {
      "model-architecture": yes("https://github.com/bigscience-workshop/Megatron-DeepSpeed"),
      "data-preprocessing-code": yes("https://github.com/bigscience-workshop/data-preparation"),
      "training-code": yes("https://github.com/bigscience-workshop/Megatron-DeepSpeed"),
      "inference-code": yes("https://huggingface.co/bigscience/bloom"),
      "evaluation-code": yes(MOT("BLOOM.yml")),
      "final-parameters": yes("https://huggingface.co/bigscience/bloom"),
      "intermediate-parameters": yes("https://huggingface.co/bigscience/bloom-intermediate"),
      "datasets": partly("https://arxiv.org/abs/2211.05100", undefined, "ROOTS corpus, partly released and gated"),
      "model-metadata": yes(MOT("BLOOM.yml")),
      "model-card": yes("https://huggingface.co/bigscience/bloom"),
      "data-card": yes("https://huggingface.co/bigscience/bloom"),
      "technical-report": yes(MOT("BLOOM.yml"), "CC-BY-4.0"),
      "research-paper": yes("https://arxiv.org/abs/2211.05100", "CC-BY-4.0"),
      "evaluation-results": yes("https://arxiv.org/abs/2211.05100"),
    },
    restrictions: [
      restrict("acceptable-use-policy", "https://huggingface.co/spaces/bigscience/license", "RAIL use restrictions (Attachment A)"),
      restrict("derivative-restrictions", "https://huggingface.co/spaces/bigscience/license", "use restrictions must be passed on to derivatives"),
    ],
  },
  {
    id: "falcon-40b", name: "Falcon 40B", family: "Falcon",
    organisation: fact("Technology Innovation Institute (TII)", "https://huggingface.co/tiiuae/falcon-40b"),
    releaseDate: fact("2023-05-25", "https://huggingface.co/tiiuae/falcon-40b"),
    architecture: fact("decoder-only", "https://arxiv.org/abs/2311.16867"),
    objective: fact(NTP, "https://arxiv.org/abs/2311.16867"),
    sizes: fact(["7B", "40B"], "https://huggingface.co/tiiuae/falcon-40b"),
    globalLicenses: { distribution: fact("Apache-2.0", "https://huggingface.co/tiiuae/falcon-40b", "Apache-2.0 since 2023-05-31; released first under the TII Falcon LLM License with royalties") },
    components: {
      "model-architecture": yes("https://huggingface.co/tiiuae/falcon-40b", "Apache-2.0"),
      "inference-code": yes("https://huggingface.co/tiiuae/falcon-40b", "Apache-2.0"),
      "final-parameters": yes("https://huggingface.co/tiiuae/falcon-40b"),
      "datasets": partly("https://huggingface.co/datasets/tiiuae/falcon-refinedweb", "ODC-By-1.0", "a 600B-token extract of RefinedWeb"),
      "model-card": yes("https://huggingface.co/tiiuae/falcon-40b"),
      "data-card": yes("https://huggingface.co/datasets/tiiuae/falcon-refinedweb"),
      "research-paper": yes("https://arxiv.org/abs/2311.16867"),
      "evaluation-results": yes("https://arxiv.org/abs/2311.16867"),
      "training-code": no("https://huggingface.co/tiiuae/falcon-40b", "trained with TII's in-house Gigatron; not released"),
    },
    restrictions: [],
  },
  {
    id: "falcon-180b", name: "Falcon 180B", family: "Falcon",
    organisation: fact("Technology Innovation Institute (TII)", "https://huggingface.co/tiiuae/falcon-180B"),
    releaseDate: fact("2023-09-06", "https://huggingface.co/tiiuae/falcon-180B"),
    architecture: fact("decoder-only", "https://arxiv.org/abs/2311.16867"),
    objective: fact(NTP, "https://arxiv.org/abs/2311.16867"),
    sizes: fact(["180B"], "https://huggingface.co/tiiuae/falcon-180B"),
    globalLicenses: { distribution: fact("LicenseRef-Falcon-180B-TII", MOT("Falcon-180B.yml")) },
    components: {
      "model-architecture": yes("https://huggingface.co/tiiuae/falcon-180B"),
      "inference-code": yes("https://huggingface.co/tiiuae/falcon-180B"),
      "final-parameters": yes("https://huggingface.co/tiiuae/falcon-180B"),
      "datasets": partly("https://huggingface.co/datasets/tiiuae/falcon-refinedweb", "ODC-By-1.0"),
      "model-card": yes("https://huggingface.co/tiiuae/falcon-180B"),
      "data-card": yes("https://huggingface.co/datasets/tiiuae/falcon-refinedweb"),
      "research-paper": yes("https://arxiv.org/abs/2311.16867", "LicenseRef-arXiv-Nonexclusive-Distrib-1.0"),
      "evaluation-results": yes("https://arxiv.org/abs/2311.16867", "LicenseRef-arXiv-Nonexclusive-Distrib-1.0"),
      "training-code": no("https://huggingface.co/tiiuae/falcon-180B"),
    },
    restrictions: [
      restrict("acceptable-use-policy", "https://huggingface.co/tiiuae/falcon-180B", "TII acceptable use policy"),
      restrict("derivative-restrictions", "https://huggingface.co/tiiuae/falcon-180B", "hosting-use restrictions and the AUP follow derivative works"),
    ],
  },
  {
    id: "gemma", name: "Gemma", family: "Gemma",
    organisation: fact("Google DeepMind", "https://huggingface.co/google/gemma-7b"),
    releaseDate: fact("2024-02-21", "https://blog.google/technology/developers/gemma-open-models/"),
    architecture: fact("decoder-only", "https://arxiv.org/abs/2403.08295"),
    objective: fact(NTP, "https://arxiv.org/abs/2403.08295"),
    sizes: fact(["2B", "7B"], "https://huggingface.co/google/gemma-7b"),
    globalLicenses: { distribution: fact("LicenseRef-Gemma-Terms-of-Use", "https://ai.google.dev/gemma/terms") },
    components: {
      "model-architecture": yes("https://github.com/google/gemma_pytorch", "Apache-2.0"),
      "inference-code": yes("https://github.com/google/gemma_pytorch", "Apache-2.0"),
      "final-parameters": yes("https://huggingface.co/google/gemma-7b"),
      "model-card": yes("https://huggingface.co/google/gemma-7b"),
      "technical-report": yes("https://arxiv.org/abs/2403.08295"),
      "evaluation-results": yes("https://arxiv.org/abs/2403.08295"),
      "training-code": no("https://arxiv.org/abs/2403.08295"),
      "datasets": no("https://huggingface.co/google/gemma-7b"),
      "data-card": no("https://huggingface.co/google/gemma-7b"),
    },
    restrictions: [
      restrict("acceptable-use-policy", "https://ai.google.dev/gemma/prohibited_use_policy"),
      restrict("derivative-restrictions", "https://ai.google.dev/gemma/terms", "the terms follow model derivatives, including models trained on Gemma outputs"),
    ],
  },
  {
    id: "qwen2", name: "Qwen2 (0.5B–57B)", family: "Qwen",
    organisation: fact("Alibaba Cloud (Qwen team)", "https://qwenlm.github.io/blog/qwen2/"),
    releaseDate: fact("2024-06-07", "https://qwenlm.github.io/blog/qwen2/"),
    architecture: fact("decoder-only", "https://arxiv.org/abs/2407.10671"),
    objective: fact(NTP, "https://arxiv.org/abs/2407.10671"),
    sizes: fact(["0.5B", "1.5B", "7B", "57B-A14B"], "https://qwenlm.github.io/blog/qwen2/", "Qwen2-72B is under the custom Qwen license and is left out of this record"),
    globalLicenses: { distribution: fact("Apache-2.0", "https://huggingface.co/Qwen/Qwen2-7B") },
    components: {
      "model-architecture": yes("https://huggingface.co/Qwen/Qwen2-7B", "Apache-2.0"),
      "inference-code": yes("https://huggingface.co/Qwen/Qwen2-7B", "Apache-2.0"),
      "final-parameters": yes("https://huggingface.co/Qwen/Qwen2-7B"),
      "model-card": yes("https://huggingface.co/Qwen/Qwen2-7B"),
      "technical-report": yes("https://arxiv.org/abs/2407.10671"),
      "evaluation-results": yes("https://arxiv.org/abs/2407.10671"),
      "training-code": no("https://arxiv.org/abs/2407.10671"),
      "datasets": no("https://arxiv.org/abs/2407.10671"),
      "data-card": no("https://huggingface.co/Qwen/Qwen2-7B"),
    },
    restrictions: [],
  },
  {
    id: "gpt-2", name: "GPT-2", family: "GPT",
    organisation: fact("OpenAI", "https://github.com/openai/gpt-2"),
    releaseDate: fact("2019-02-14", "https://openai.com/index/better-language-models/", "staged release; the 1.5B weights followed in November 2019"),
    architecture: fact("decoder-only", "https://github.com/openai/gpt-2/blob/master/model_card.md"),
    objective: fact(NTP, "https://github.com/openai/gpt-2/blob/master/model_card.md"),
    sizes: fact(["124M", "355M", "774M", "1.5B"], "https://github.com/openai/gpt-2/blob/master/model_card.md"),
    globalLicenses: { distribution: fact("LicenseRef-GPT-2-Modified-MIT", "https://github.com/openai/gpt-2/blob/master/LICENSE") },
    components: {
      "model-architecture": yes("https://github.com/openai/gpt-2"),
      "inference-code": yes("https://github.com/openai/gpt-2"),
      "final-parameters": yes("https://github.com/openai/gpt-2"),
      "model-card": yes("https://github.com/openai/gpt-2/blob/master/model_card.md"),
      "research-paper": yes("https://cdn.openai.com/better-language-models/language_models_are_unsupervised_multitask_learners.pdf"),
      "evaluation-results": yes("https://cdn.openai.com/better-language-models/language_models_are_unsupervised_multitask_learners.pdf"),
      "sample-outputs": yes("https://github.com/openai/gpt-2-output-dataset"),
      "training-code": no("https://github.com/openai/gpt-2"),
      "datasets": no("https://github.com/openai/gpt-2/blob/master/model_card.md", "WebText is not released"),
      "data-card": no("https://github.com/openai/gpt-2/blob/master/model_card.md"),
    },
    restrictions: [],
  },
  {
    id: "bert", name: "BERT", family: "BERT",
    organisation: fact("Google", "https://github.com/google-research/bert"),
    releaseDate: fact("2018-10-31", "https://github.com/google-research/bert", "code and checkpoints; the paper appeared 2018-10-11"),
    architecture: fact("encoder-only", "https://arxiv.org/abs/1810.04805"),
    objective: fact("masked language modelling + next sentence prediction", "https://arxiv.org/abs/1810.04805"),
    sizes: fact(["110M (Base)", "340M (Large)"], "https://arxiv.org/abs/1810.04805"),
    globalLicenses: { distribution: fact("Apache-2.0", "https://github.com/google-research/bert/blob/master/LICENSE") },
    components: {
      "model-architecture": yes("https://github.com/google-research/bert", "Apache-2.0"),
      "data-preprocessing-code": yes("https://github.com/google-research/bert", "Apache-2.0", "create_pretraining_data.py"),
      "training-code": yes("https://github.com/google-research/bert", "Apache-2.0"),
      "inference-code": yes("https://github.com/google-research/bert", "Apache-2.0"),
      "evaluation-code": yes("https://github.com/google-research/bert", "Apache-2.0", "fine-tuning scripts for GLUE and SQuAD"),
      "final-parameters": yes("https://github.com/google-research/bert"),
      "research-paper": yes("https://arxiv.org/abs/1810.04805"),
      "evaluation-results": yes("https://arxiv.org/abs/1810.04805"),
      "datasets": no("https://arxiv.org/abs/1810.04805", "BooksCorpus + English Wikipedia; not redistributed"),
      "model-card": no("https://github.com/google-research/bert", "no model card in the original release"),
      "data-card": no("https://github.com/google-research/bert"),
    },
    restrictions: [],
  },
  {
    id: "deepseek-v3", name: "DeepSeek-V3", family: "DeepSeek",
    organisation: fact("DeepSeek", "https://github.com/deepseek-ai/DeepSeek-V3"),
    releaseDate: fact("2024-12-26", "https://github.com/deepseek-ai/DeepSeek-V3"),
    architecture: fact("decoder-only-moe", "https://arxiv.org/abs/2412.19437"),
    objective: fact(NTP, "https://arxiv.org/abs/2412.19437", "plus multi-token prediction as an auxiliary objective"),
    sizes: fact(["671B total / 37B active"], "https://github.com/deepseek-ai/DeepSeek-V3"),
    globalLicenses: { code: fact("MIT", "https://github.com/deepseek-ai/DeepSeek-V3/blob/main/LICENSE-CODE") },
    components: {
      "model-architecture": yes("https://github.com/deepseek-ai/DeepSeek-V3"),
      "inference-code": yes("https://github.com/deepseek-ai/DeepSeek-V3"),
      "final-parameters": yes("https://github.com/deepseek-ai/DeepSeek-V3/blob/main/LICENSE-MODEL", "LicenseRef-DeepSeek-Model"),
      "model-card": yes("https://github.com/deepseek-ai/DeepSeek-V3", "LicenseRef-DeepSeek-Model"),
      "technical-report": yes("https://arxiv.org/abs/2412.19437"),
      "evaluation-results": yes("https://arxiv.org/abs/2412.19437"),
      "training-code": no("https://github.com/deepseek-ai/DeepSeek-V3"),
      "datasets": no("https://arxiv.org/abs/2412.19437"),
      "data-card": no("https://github.com/deepseek-ai/DeepSeek-V3"),
    },
    restrictions: [
      restrict("acceptable-use-policy", "https://github.com/deepseek-ai/DeepSeek-V3/blob/main/LICENSE-MODEL", "use restrictions in the model license's attachment"),
      restrict("derivative-restrictions", "https://github.com/deepseek-ai/DeepSeek-V3/blob/main/LICENSE-MODEL"),
    ],
  },
  {
    id: "deepseek-r1", name: "DeepSeek-R1", family: "DeepSeek",
    organisation: fact("DeepSeek", "https://github.com/deepseek-ai/DeepSeek-R1"),
    releaseDate: fact("2025-01-20", "https://github.com/deepseek-ai/DeepSeek-R1"),
    architecture: fact("decoder-only-moe", "https://github.com/deepseek-ai/DeepSeek-R1"),
    objective: fact(NTP, "https://arxiv.org/abs/2501.12948", "V3 base model, then reinforcement learning for reasoning"),
    sizes: fact(["671B total / 37B active"], "https://github.com/deepseek-ai/DeepSeek-R1"),
    globalLicenses: { distribution: fact("MIT", "https://github.com/deepseek-ai/DeepSeek-R1/blob/main/LICENSE", "code and weights; distillation allowed") },
    components: {
      "model-architecture": yes("https://huggingface.co/deepseek-ai/DeepSeek-R1"),
      "inference-code": yes("https://huggingface.co/deepseek-ai/DeepSeek-R1"),
      "final-parameters": yes("https://huggingface.co/deepseek-ai/DeepSeek-R1"),
      "model-card": yes("https://huggingface.co/deepseek-ai/DeepSeek-R1"),
      "research-paper": yes("https://arxiv.org/abs/2501.12948"),
      "evaluation-results": yes("https://arxiv.org/abs/2501.12948"),
      "training-code": no("https://github.com/deepseek-ai/DeepSeek-R1"),
      "datasets": no("https://arxiv.org/abs/2501.12948"),
      "data-card": no("https://huggingface.co/deepseek-ai/DeepSeek-R1"),
    },
    restrictions: [],
  },
  {
    id: "phi-3", name: "Phi-3", family: "Phi",
    organisation: fact("Microsoft", "https://huggingface.co/microsoft/Phi-3-mini-4k-instruct"),
    releaseDate: fact("2024-04-23", "https://arxiv.org/abs/2404.14219"),
    architecture: fact("decoder-only", "https://arxiv.org/abs/2404.14219"),
    objective: fact(NTP, "https://arxiv.org/abs/2404.14219"),
    sizes: fact(["3.8B (mini)", "7B (small)", "14B (medium)"], "https://arxiv.org/abs/2404.14219"),
    globalLicenses: { distribution: fact("MIT", "https://huggingface.co/microsoft/Phi-3-mini-4k-instruct") },
    components: {
      "model-architecture": yes("https://huggingface.co/microsoft/Phi-3-mini-4k-instruct"),
      "inference-code": yes("https://huggingface.co/microsoft/Phi-3-mini-4k-instruct"),
      "final-parameters": yes("https://huggingface.co/microsoft/Phi-3-mini-4k-instruct"),
      "model-card": yes("https://huggingface.co/microsoft/Phi-3-mini-4k-instruct"),
      "technical-report": yes("https://arxiv.org/abs/2404.14219"),
      "evaluation-results": yes("https://arxiv.org/abs/2404.14219"),
      "training-code": no("https://arxiv.org/abs/2404.14219"),
      "datasets": no("https://arxiv.org/abs/2404.14219", "filtered web and synthetic data; not released"),
      "data-card": no("https://huggingface.co/microsoft/Phi-3-mini-4k-instruct"),
    },
    restrictions: [],
  },
  {
    id: "smollm", name: "SmolLM", family: "SmolLM",
    organisation: fact("Hugging Face", "https://huggingface.co/blog/smollm"),
    releaseDate: fact("2024-07-16", "https://huggingface.co/blog/smollm"),
    architecture: fact("decoder-only", "https://huggingface.co/HuggingFaceTB/SmolLM-1.7B"),
    objective: fact(NTP, "https://huggingface.co/blog/smollm"),
    sizes: fact(["135M", "360M", "1.7B"], "https://huggingface.co/blog/smollm"),
    globalLicenses: { distribution: fact("Apache-2.0", "https://huggingface.co/HuggingFaceTB/SmolLM-1.7B") },
    components: {
      "model-architecture": yes("https://huggingface.co/HuggingFaceTB/SmolLM-1.7B"),
      "data-preprocessing-code": yes("https://github.com/huggingface/datatrove", "Apache-2.0"),
      "training-code": yes("https://github.com/huggingface/nanotron", "Apache-2.0"),
      "inference-code": yes("https://huggingface.co/HuggingFaceTB/SmolLM-1.7B"),
      "evaluation-code": yes("https://github.com/huggingface/lighteval", "MIT"),
      "final-parameters": yes("https://huggingface.co/HuggingFaceTB/SmolLM-1.7B"),
      "datasets": yes("https://huggingface.co/datasets/HuggingFaceTB/smollm-corpus", "ODC-By-1.0"),
      "model-card": yes("https://huggingface.co/HuggingFaceTB/SmolLM-1.7B"),
      "data-card": yes("https://huggingface.co/datasets/HuggingFaceTB/smollm-corpus"),
      "technical-report": yes("https://huggingface.co/blog/smollm", undefined, "a blog post; no research paper for the first SmolLM"),
      "evaluation-results": yes("https://huggingface.co/blog/smollm"),
    },
    restrictions: [],
  },
];

/** Every record of the shipped dataset, validated when the module loads. */
export const RELEASES: readonly ModelRecord[] = Object.freeze(validateDataset(RAW));

/** The record with this id; throws listing the known ids otherwise. */
export function release(id: string): ModelRecord {
  const r = RELEASES.find((x) => x.id === id);
  if (!r) throw new Error(`no openness record "${id}"; known ids: ${RELEASES.map((x) => x.id).join(", ")}`);
  return r;
}

/** A score the European Open Source AI Index ("Opening up ChatGPT") published, for comparison with ours. */
export interface PublishedIndexScore {
  model: string;
  recordId?: string;
  score: number;
  outOf: number;
}

/** Totals from the Index's 2023–24 table (14 dimensions; instruction-tuned models, so they differ from base-model records). */
export const PUBLISHED_INDEX_SCORES: readonly Fact<PublishedIndexScore>[] = [
  fact({ model: "OLMo 7B Instruct", recordId: "olmo-7b", score: 12.5, outOf: 14 }, "https://opening-up-chatgpt.github.io/"),
  fact({ model: "BLOOMZ", recordId: "bloom", score: 12.0, outOf: 14 }, "https://opening-up-chatgpt.github.io/"),
  fact({ model: "Mistral 7B Instruct", recordId: "mistral-7b", score: 5.5, outOf: 14 }, "https://opening-up-chatgpt.github.io/"),
  fact({ model: "Llama 3.1", recordId: "llama-3.1", score: 4.0, outOf: 14 }, "https://opening-up-chatgpt.github.io/"),
  fact({ model: "Llama 2 Chat", recordId: "llama-2", score: 3.0, outOf: 14 }, "https://opening-up-chatgpt.github.io/"),
  fact({ model: "Llama 3 Instruct", recordId: "llama-3", score: 2.5, outOf: 14 }, "https://opening-up-chatgpt.github.io/"),
  fact({ model: "ChatGPT", score: 0.5, outOf: 14 }, "https://opening-up-chatgpt.github.io/"),
];

