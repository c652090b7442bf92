/**
 * `config.json` in Hugging Face's layout. Reading accepts transformers v4 files (`rope_theta`, `rope_scaling`,
 * `torch_dtype`) and v5 files (`rope_parameters`, `dtype`); writing produces the v4 layout, which both read.
 */
import { existsSync, readFileSync } from "fs";
import { LlamaConfig } from "../model/config";
import { writeFileAtomic } from "./atomic";

/** What a config.json says beyond the model shape. */
export interface ConfigFileInfo {
  config: LlamaConfig;
  /** The dtype the weights were saved in (`torch_dtype` in v4, `dtype` in v5), e.g. "bfloat16"; null if absent. */
  dtype: string | null;
  /** The whole file as parsed, for fields beyond the model shape (label maps, architectures). */
  json: Record<string, unknown>;
}

/** Parses a config.json object (v4 or v5 layout) into a {@link LlamaConfig}; `label` names it in errors. */
export function configFromHfJson(json: unknown, label = "config.json"): ConfigFileInfo {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new Error(`${label}: expected a JSON object of config fields`);
  }
  const obj = json as Record<string, unknown>;
  const rawDtype = obj.dtype ?? obj.torch_dtype ?? null;
  try {
    return { config: LlamaConfig.fromJSON(obj), dtype: typeof rawDtype === "string" ? rawDtype : null, json: obj };
  } catch (e) {
    throw new Error(`${label}: ${(e as Error).message}`);
  }
}

/** Reads `path` (a config.json) into a {@link LlamaConfig}, with the dtype it declares. */
export function readConfigJson(path: string): ConfigFileInfo {
  if (!existsSync(path)) throw new Error(`${path} does not exist; a pretrained directory needs a config.json`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`${path} is not valid JSON (${(e as Error).message})`);
  }
  return configFromHfJson(json, path);
}

/** Writes `config` to `path` as a Hugging Face config.json (v4 layout, float32 weights), atomically. */
export function writeConfigJson(path: string, config: LlamaConfig): void {
  writeFileAtomic(path, JSON.stringify(config.toJSON(), null, 2) + "\n");
}
