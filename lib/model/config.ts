/**
 * The Llama configuration, with Hugging Face's field names so that a `config.json` from the Hub reads and
 * writes without translation. Every size in the model derives from one of these.
 */

/** RoPE frequency scaling for long contexts (HF `rope_scaling`); null means plain RoPE. */
export type RopeScaling =
  | { rope_type: "default" }
  | { rope_type: "linear"; factor: number }
  | {
      rope_type: "llama3";
      factor: number;
      low_freq_factor: number;
      high_freq_factor: number;
      original_max_position_embeddings: number;
    };

/** Activation functions the MLP knows. */
export type HiddenAct = "silu";

/** The fields a caller may set; everything but the four sizes has HF's default. */
export interface LlamaConfigInit {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads?: number;
  head_dim?: number;
  max_position_embeddings?: number;
  rms_norm_eps?: number;
  rope_theta?: number;
  rope_scaling?: RopeScaling | Record<string, unknown> | null;
  tie_word_embeddings?: boolean;
  initializer_range?: number;
  pad_token_id?: number | null;
  bos_token_id?: number | null;
  eos_token_id?: number | number[] | null;
  attention_bias?: boolean;
  mlp_bias?: boolean;
  hidden_act?: string;
  architectures?: string[];
}

const KNOWN_KEYS: ReadonlySet<string> = new Set([
  "vocab_size",
  "hidden_size",
  "intermediate_size",
  "num_hidden_layers",
  "num_attention_heads",
  "num_key_value_heads",
  "head_dim",
  "max_position_embeddings",
  "rms_norm_eps",
  "rope_theta",
  "rope_scaling",
  "tie_word_embeddings",
  "initializer_range",
  "pad_token_id",
  "bos_token_id",
  "eos_token_id",
  "attention_bias",
  "mlp_bias",
  "hidden_act",
  "architectures",
]);

/** A validated Llama configuration (immutable; use {@link LlamaConfig.with} to derive a changed copy). */
export class LlamaConfig {
  readonly vocab_size: number;
  readonly hidden_size: number;
  readonly intermediate_size: number;
  readonly num_hidden_layers: number;
  readonly num_attention_heads: number;
  readonly num_key_value_heads: number;
  readonly head_dim: number;
  readonly max_position_embeddings: number;
  readonly rms_norm_eps: number;
  readonly rope_theta: number;
  readonly rope_scaling: RopeScaling | null;
  readonly tie_word_embeddings: boolean;
  readonly initializer_range: number;
  readonly pad_token_id: number | null;
  readonly bos_token_id: number | null;
  readonly eos_token_id: number | number[] | null;
  readonly attention_bias: boolean;
  readonly mlp_bias: boolean;
  readonly hidden_act: HiddenAct;
  readonly architectures: string[];

  /** Fills HF defaults into `init` and validates the result; throws naming the offending field. */
  constructor(init: LlamaConfigInit) {
    if (init === null || typeof init !== "object") {
      throw new Error("LlamaConfig: expected an object of config fields (vocab_size, hidden_size, ...)");
    }
    for (const key of Object.keys(init)) {
      if (!KNOWN_KEYS.has(key)) {
        throw new Error(
          `LlamaConfig: unknown field "${key}"; known fields are ${[...KNOWN_KEYS].join(", ")}` +
            ` (use LlamaConfig.fromJSON for a Hub config.json, which ignores extra keys)`,
        );
      }
    }
    const heads = init.num_attention_heads;
    this.vocab_size = init.vocab_size;
    this.hidden_size = init.hidden_size;
    this.intermediate_size = init.intermediate_size;
    this.num_hidden_layers = init.num_hidden_layers;
    this.num_attention_heads = heads;
    this.num_key_value_heads = init.num_key_value_heads ?? heads;
    this.head_dim = init.head_dim ?? init.hidden_size / heads;
    this.max_position_embeddings = init.max_position_embeddings ?? 2048;
    this.rms_norm_eps = init.rms_norm_eps ?? 1e-6;
    this.rope_theta = init.rope_theta ?? 10000;
    this.rope_scaling = normalizeRopeScaling(init.rope_scaling ?? null);
    this.tie_word_embeddings = init.tie_word_embeddings ?? false;
    this.initializer_range = init.initializer_range ?? 0.02;
    this.pad_token_id = init.pad_token_id ?? null;
    this.bos_token_id = init.bos_token_id ?? null;
    this.eos_token_id = init.eos_token_id ?? null;
    this.attention_bias = init.attention_bias ?? false;
    this.mlp_bias = init.mlp_bias ?? false;
    this.hidden_act = (init.hidden_act ?? "silu") as HiddenAct;
    this.architectures = [...(init.architectures ?? ["LlamaForCausalLM"])];
    // head_dim is only derived when absent, so hidden_size must then split evenly across heads.
    if (init.head_dim === undefined && Number.isInteger(heads) && heads > 0 && init.hidden_size % heads !== 0) {
      throw new Error(
        `LlamaConfig: num_attention_heads (${heads}) must divide hidden_size (${init.hidden_size}), ` +
          `or set head_dim explicitly`,
      );
    }
    validateConfig(this);
    Object.freeze(this.architectures);
    Object.freeze(this);
  }

  /** A copy with some fields replaced (validated again). */
  with(overrides: Partial<LlamaConfigInit>): LlamaConfig {
    return new LlamaConfig({ ...this.toInit(), ...overrides });
  }

  /** The fields as a plain init object. */
  toInit(): LlamaConfigInit {
    return {
      vocab_size: this.vocab_size,
      hidden_size: this.hidden_size,
      intermediate_size: this.intermediate_size,
      num_hidden_layers: this.num_hidden_layers,
      num_attention_heads: this.num_attention_heads,
      num_key_value_heads: this.num_key_value_heads,
      head_dim: this.head_dim,
      max_position_embeddings: this.max_position_embeddings,
      rms_norm_eps: this.rms_norm_eps,
      rope_theta: this.rope_theta,
      rope_scaling: this.rope_scaling === null ? null : { ...this.rope_scaling },
      tie_word_embeddings: this.tie_word_embeddings,
      initializer_range: this.initializer_range,
      pad_token_id: this.pad_token_id,
      bos_token_id: this.bos_token_id,
      eos_token_id: Array.isArray(this.eos_token_id) ? [...this.eos_token_id] : this.eos_token_id,
      attention_bias: this.attention_bias,
      mlp_bias: this.mlp_bias,
      hidden_act: this.hidden_act,
      architectures: [...this.architectures],
    };
  }

  /** A Hugging Face `config.json`-shaped object (transformers v4 layout). */
  toJSON(): Record<string, unknown> {
    const init = this.toInit();
    const { architectures, ...fields } = init;
    return { architectures, model_type: "llama", ...fields, torch_dtype: "float32" };
  }

  /**
   * Reads a Hub `config.json` object (v4 `rope_theta`/`rope_scaling`, or v5 `rope_parameters`), ignoring
   * keys Llama Lab has no use for (torch_dtype, transformers_version, ...).
   */
  static fromJSON(json: Record<string, unknown>): LlamaConfig {
    if (json === null || typeof json !== "object") throw new Error("LlamaConfig.fromJSON: expected an object");
    if (json.model_type !== undefined && json.model_type !== "llama") {
      throw new Error(`LlamaConfig.fromJSON: model_type is "${String(json.model_type)}", expected "llama"`);
    }
    const init: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(json)) if (KNOWN_KEYS.has(k)) init[k] = v;
    const params = json.rope_parameters as Record<string, unknown> | undefined;
    if (params && typeof params === "object") {
      const { rope_theta, ...rest } = params;
      if (rope_theta !== undefined && init.rope_theta === undefined) init.rope_theta = rope_theta;
      const type = rest.rope_type ?? rest.type;
      if (init.rope_scaling == null && type !== undefined && type !== "default") init.rope_scaling = rest;
    }
    return new LlamaConfig(init as unknown as LlamaConfigInit);
  }
}

/** Builds a validated {@link LlamaConfig} from the given fields plus HF defaults. */
export function makeConfig(init: LlamaConfigInit): LlamaConfig {
  return new LlamaConfig(init);
}

function requirePositiveInt(name: string, value: unknown): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) {
    throw new Error(`LlamaConfig: ${name} must be a positive integer, got ${String(value)}`);
  }
}

function requirePositive(name: string, value: unknown): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new Error(`LlamaConfig: ${name} must be a positive finite number, got ${String(value)}`);
  }
}

function requireTokenId(name: string, value: unknown, vocab: number): void {
  if (value === null) return;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value >= vocab) {
    throw new Error(`LlamaConfig: ${name} must be null or an integer in [0, vocab_size=${vocab}), got ${String(value)}`);
  }
}

function requireBool(name: string, value: unknown): void {
  if (typeof value !== "boolean") throw new Error(`LlamaConfig: ${name} must be true or false, got ${String(value)}`);
}

/** Throws an Error naming the first field of `c` that makes the model impossible to build. */
export function validateConfig(c: LlamaConfig): void {
  requirePositiveInt("vocab_size", c.vocab_size);
  requirePositiveInt("hidden_size", c.hidden_size);
  requirePositiveInt("intermediate_size", c.intermediate_size);
  requirePositiveInt("num_hidden_layers", c.num_hidden_layers);
  requirePositiveInt("num_attention_heads", c.num_attention_heads);
  requirePositiveInt("num_key_value_heads", c.num_key_value_heads);
  requirePositiveInt("head_dim", c.head_dim);
  requirePositiveInt("max_position_embeddings", c.max_position_embeddings);
  if (c.num_attention_heads % c.num_key_value_heads !== 0) {
    throw new Error(
      `LlamaConfig: num_key_value_heads (${c.num_key_value_heads}) must divide num_attention_heads ` +
        `(${c.num_attention_heads}) so that each KV head serves a whole group of query heads`,
    );
  }
  if (c.head_dim % 2 !== 0) {
    throw new Error(`LlamaConfig: head_dim must be even for rotary embeddings (RoPE rotates pairs), got ${c.head_dim}`);
  }
  requirePositive("rms_norm_eps", c.rms_norm_eps);
  requirePositive("rope_theta", c.rope_theta);
  if (typeof c.initializer_range !== "number" || !Number.isFinite(c.initializer_range) || c.initializer_range < 0) {
    throw new Error(`LlamaConfig: initializer_range must be a finite number ≥ 0, got ${String(c.initializer_range)}`);
  }
  requireTokenId("pad_token_id", c.pad_token_id, c.vocab_size);
  requireTokenId("bos_token_id", c.bos_token_id, c.vocab_size);
  const eos = c.eos_token_id;
  if (Array.isArray(eos)) eos.forEach((id, i) => requireTokenId(`eos_token_id[${i}]`, id, c.vocab_size));
  else requireTokenId("eos_token_id", eos, c.vocab_size);
  requireBool("tie_word_embeddings", c.tie_word_embeddings);
  requireBool("attention_bias", c.attention_bias);
  requireBool("mlp_bias", c.mlp_bias);
  if (c.hidden_act !== "silu") {
    throw new Error(`LlamaConfig: hidden_act "${String(c.hidden_act)}" is not supported; Llama uses "silu"`);
  }
  if (!Array.isArray(c.architectures) || !c.architectures.every((a) => typeof a === "string")) {
    throw new Error("LlamaConfig: architectures must be an array of class names, e.g. [\"LlamaForCausalLM\"]");
  }
  if (c.rope_scaling !== null) normalizeRopeScaling(c.rope_scaling);
}

/**
 * Checks a `rope_scaling` object and returns it in canonical form (`rope_type`, not the legacy `type`).
 * Throws naming the missing or bad key.
 */
export function normalizeRopeScaling(raw: unknown): RopeScaling | null {
  if (raw === null || raw === undefined) return null;
  if (typeof raw !== "object") {
    throw new Error(`LlamaConfig: rope_scaling must be null or an object with rope_type, got ${String(raw)}`);
  }
  const r = raw as Record<string, unknown>;
  const type = r.rope_type ?? r.type;
  const need = (key: string): number => {
    const v = r[key];
    if (v === undefined || v === null) {
      throw new Error(`LlamaConfig: rope_scaling.${key} is required for rope_type "${String(type)}"`);
    }
    requirePositive(`rope_scaling.${key}`, v);
    return v as number;
  };
  switch (type) {
    case "default":
      return { rope_type: "default" };
    case "linear":
      return { rope_type: "linear", factor: need("factor") };
    case "llama3": {
      const out = {
        rope_type: "llama3" as const,
        factor: need("factor"),
        low_freq_factor: need("low_freq_factor"),
        high_freq_factor: need("high_freq_factor"),
        original_max_position_embeddings: need("original_max_position_embeddings"),
      };
      if (out.high_freq_factor <= out.low_freq_factor) {
        throw new Error(
          `LlamaConfig: rope_scaling.high_freq_factor (${out.high_freq_factor}) must exceed ` +
            `rope_scaling.low_freq_factor (${out.low_freq_factor})`,
        );
      }
      return out;
    }
    case undefined:
      throw new Error('LlamaConfig: rope_scaling.rope_type is required ("linear" or "llama3"), or set rope_scaling to null');
    default:
      throw new Error(
        `LlamaConfig: rope_scaling.rope_type "${String(type)}" is not supported; use null, "linear" or "llama3"`,
      );
  }
}
