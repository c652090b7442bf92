/**
 * Labelled text for classification: load local CSV or JSONL files with named text and label columns, map labels
 * to class ids (the map travels with the model as its label names), and report the class balance.
 */
import * as fs from "fs";
import { csvRecords } from "./csv";

/** One labelled text with its class id. */
export interface LabeledText {
  text: string;
  /** The label as written in the file. */
  label: string | number;
  /** Its id in the dataset's {@link LabelMap}. */
  labelId: number;
}

/** A loaded dataset: its examples and the label ↔ id map. */
export interface TextDataset {
  examples: LabeledText[];
  labels: LabelMap;
}

/** Which fields hold the text and the label, and optionally a fixed label map (unknown labels are then errors). */
export interface TextColumns {
  textColumn: string;
  labelColumn: string;
  labelMap?: LabelMap;
}

/** Class names ↔ ids. Built from the labels present (sorted), or given, so that ids match an existing model. */
export class LabelMap {
  private readonly ids: Map<string, number>;
  /** Class names by id. */
  readonly names: readonly string[];

  constructor(names: readonly string[]) {
    if (names.length === 0) throw new Error("LabelMap: needs at least one label");
    if (new Set(names).size !== names.length) throw new Error(`LabelMap: labels must be unique, got ${names.join(", ")}`);
    this.names = Object.freeze([...names]);
    this.ids = new Map(names.map((n, i) => [n, i]));
  }

  /** The sorted distinct labels (numbers in numeric order); throws when strings and numbers are mixed. */
  static fromLabels(labels: readonly (string | number)[]): LabelMap {
    const kinds = new Set(labels.map((l) => typeof l));
    if (kinds.size > 1) throw new Error("LabelMap: labels mix numbers and strings; make them all one type (e.g. all strings)");
    const distinct = [...new Set(labels)];
    distinct.sort((a, b) => (typeof a === "number" && typeof b === "number" ? a - b : String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0));
    return new LabelMap(distinct.map(String));
  }

  /** Reads HF's `id2label` ({"0": "ham", ...}) or a list of names. */
  static fromJSON(json: Record<string, string> | string[]): LabelMap {
    if (Array.isArray(json)) return new LabelMap(json);
    const n = Object.keys(json).length;
    return new LabelMap(Array.from({ length: n }, (_, i) => {
      const name = json[String(i)];
      if (name === undefined) throw new Error(`LabelMap.fromJSON: id2label has no entry for id ${i}`);
      return name;
    }));
  }

  /** Number of classes. */
  get size(): number {
    return this.names.length;
  }

  /** The id of `label`; throws for a label the map does not know. */
  id(label: string | number): number {
    const id = this.ids.get(String(label));
    if (id === undefined) throw new Error(`LabelMap: unknown label ${JSON.stringify(label)}; known labels are ${this.names.join(", ")}`);
    return id;
  }

  /** HF's `id2label`. */
  toJSON(): Record<string, string> {
    return Object.fromEntries(this.names.map((n, i) => [String(i), n]));
  }
}

/** Builds a dataset from parsed records; `source` names the file in errors. */
export function textDatasetFromRecords(records: readonly Record<string, unknown>[], columns: TextColumns, source = "records"): TextDataset {
  const { textColumn, labelColumn } = columns;
  if (records.length === 0) throw new Error(`${source} is empty: it has no examples`);
  const raw = records.map((r, i) => {
    const where = `${source}, example ${i + 1}`;
    for (const col of [textColumn, labelColumn]) {
      if (!(col in r)) {
        throw new Error(`${where} has no column "${col}"; its columns are ${Object.keys(r).join(", ")}. Pass textColumn/labelColumn`);
      }
    }
    const text = r[textColumn], label = r[labelColumn];
    if (typeof text !== "string") throw new Error(`${where}: "${textColumn}" must be a string, got ${JSON.stringify(text)}`);
    if (typeof label !== "string" && typeof label !== "number") {
      throw new Error(`${where}: "${labelColumn}" must be a string or a number, got ${JSON.stringify(label)}`);
    }
    return { text, label };
  });
  const kinds = new Set(raw.map((r) => typeof r.label));
  if (kinds.size > 1) {
    const firstNumber = raw.findIndex((r) => typeof r.label === "number");
    const firstString = raw.findIndex((r) => typeof r.label === "string");
    throw new Error(
      `${source}: labels mix numbers (e.g. example ${firstNumber + 1}) and strings (e.g. example ${firstString + 1}); make them one type`,
    );
  }
  const labels = columns.labelMap ?? LabelMap.fromLabels(raw.map((r) => r.label));
  const examples = raw.map((r, i) => {
    try {
      return { ...r, labelId: labels.id(r.label) };
    } catch (e) {
      throw new Error(`${source}, example ${i + 1}: ${(e as Error).message}`);
    }
  });
  return { examples, labels };
}

function readNonEmpty(file: string): string {
  if (!fs.existsSync(file)) throw new Error(`${file} does not exist`);
  const text = fs.readFileSync(file, "utf8");
  if (text.trim() === "") throw new Error(`${file} is empty`);
  return text;
}

/** Loads a CSV file with a header row; labels are read as strings. */
export function loadCsv(file: string, columns: TextColumns & { delimiter?: string }): TextDataset {
  return textDatasetFromRecords(csvRecords(readNonEmpty(file), columns.delimiter), columns, file);
}

/** Loads a JSON Lines file (one object per line; blank lines skipped). */
export function loadJsonl(file: string, columns: TextColumns): TextDataset {
  const records = readNonEmpty(file).split(/\r?\n/).flatMap((line, i) => {
    if (line.trim() === "") return [];
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new Error(`${file}, line ${i + 1} is not valid JSON`);
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error(`${file}, line ${i + 1} is not a JSON object`);
    return [value as Record<string, unknown>];
  });
  return textDatasetFromRecords(records, columns, file);
}

/** One row of {@link classBalance}. */
export interface ClassCount {
  label: string;
  count: number;
  fraction: number;
}

/** How many examples each class has, in label-map order. */
export function classBalance(examples: readonly { labelId: number }[], labels: LabelMap): ClassCount[] {
  const counts = new Array<number>(labels.size).fill(0);
  for (const e of examples) counts[e.labelId] += 1;
  return labels.names.map((label, i) => ({ label, count: counts[i], fraction: examples.length ? counts[i] / examples.length : 0 }));
}
