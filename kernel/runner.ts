import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { KernelClient, llamalabKernelArgv, NbOutput } from "./client";
import { notebookHtml } from "./notebook_html";
import { writeFileAtomic } from "../lib/io/atomic";

/**
 * Headless, reproducible notebook runs: `llamalab run NOTEBOOK [-p name=value ...] [-o OUT.ipynb] [--html OUT.html]`.
 * Starts the kernel itself, injects parameters after the cell tagged `parameters` in a cell tagged
 * `injected-parameters` (papermill's convention), executes every code cell, and writes the executed notebook and a
 * run manifest (parameters, seed, backend, versions, git commit, final metrics, duration).
 */

/** An nbformat 4 cell. */
interface NbCell {
  cell_type: string;
  id?: string;
  source: string | string[];
  metadata: { tags?: string[]; [k: string]: unknown };
  outputs?: NbOutput[];
  execution_count?: number | null;
}

/** An nbformat 4 notebook. */
interface Notebook {
  cells: NbCell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

/** Options of one headless run. */
export interface RunOptions {
  notebook: string;
  parameters: Record<string, unknown>;
  output: string;
  html?: string;
  manifest: string;
  timeoutS: number;
  preload: boolean;
}

/** What a run records next to its outputs. */
export interface RunManifest {
  notebook: string;
  output: string;
  status: "ok" | "failed";
  failedCell?: { index: number; id?: string; ename: string; evalue: string };
  parameters: Record<string, unknown>;
  overrides: Record<string, unknown>;
  seed: unknown;
  backend: string | null;
  /** Threads of the wasm backend (null on other backends). */
  backendThreads: number | null;
  versions: { llamalab: string; node: string; tfjs: string | null };
  gitCommit: string | null;
  metrics: unknown;
  durationS: number;
  cells: { index: number; id?: string; durationS: number; status: string }[];
  startedAt: string;
}

const TAG_PARAMETERS = "parameters";
const TAG_INJECTED = "injected-parameters";

/** Parses `name=value`: JSON when it parses (numbers, booleans, quoted strings, arrays), else the text itself. */
export function parseParameter(arg: string): [string, unknown] {
  const eq = arg.indexOf("=");
  const name = arg.slice(0, eq).trim();
  if (eq < 1 || !/^[A-Za-z_$][\w$]*$/.test(name)) throw new Error(`-p expects name=value with a TypeScript identifier as name, got '${arg}'`);
  const text = arg.slice(eq + 1);
  try {
    return [name, JSON.parse(text)];
  } catch {
    return [name, text];
  }
}

function source(cell: NbCell): string {
  return Array.isArray(cell.source) ? cell.source.join("") : cell.source;
}

/** The top-level `const|let|var name = literal` declarations of a parameters cell, with their values. */
export function declaredParameters(code: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const m of code.matchAll(/^\s*(?:export\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=\n]+)?=\s*([^;\n]+?)\s*;?\s*(?:\/\/.*)?$/gm)) {
    try {
      out[m[1]] = JSON.parse(m[2].replace(/'/g, '"').replace(/(\d)_(\d)/g, "$1$2"));
    } catch {
      out[m[1]] = m[2];
    }
  }
  return out;
}

/** Returns a copy of the notebook with the parameters injected after the `parameters` cell (replacing an earlier injection). */
export function injectParameters(nb: Notebook, overrides: Record<string, unknown>): Notebook {
  const cells = nb.cells.filter((c) => !c.metadata.tags?.includes(TAG_INJECTED));
  if (!Object.keys(overrides).length) return { ...nb, cells };
  const at = cells.findIndex((c) => c.cell_type === "code" && c.metadata.tags?.includes(TAG_PARAMETERS));
  const declared = at >= 0 ? source(cells[at]) : "";
  const lines = Object.entries(overrides).map(([name, value]) => {
    const kind = new RegExp(`\\b(const|let|var)\\s+${name.replace(/\$/g, "\\$")}\\b`).exec(declared)?.[1] ?? "const";
    return `${kind} ${name} = ${JSON.stringify(value)};`;
  });
  const injected: NbCell = {
    cell_type: "code", id: "injected-parameters", metadata: { tags: [TAG_INJECTED] }, outputs: [], execution_count: null,
    source: ["// Parameters injected by `llamalab run`\n", ...lines.map((l, i) => l + (i < lines.length - 1 ? "\n" : ""))],
  };
  cells.splice(at + 1, 0, injected); // at = -1 puts them first, as papermill does without a parameters cell.
  return { ...nb, cells };
}

function writeAtomic(file: string, text: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileAtomic(file, text);
}

function gitCommit(dir: string): string | null {
  const r = spawnSync("git", ["rev-parse", "HEAD"], { cwd: dir, encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** The last application/json output of the notebook: by convention its final results. */
function finalMetrics(cells: NbCell[]): unknown {
  const jsons = cells.flatMap((c) => c.outputs ?? []).map((o) => (o.data as Record<string, unknown> | undefined)?.["application/json"]).filter((d) => d !== undefined);
  return jsons.length ? jsons[jsons.length - 1] : null;
}

/** Runs a notebook; resolves with the manifest (status "failed" names the failing cell). */
export async function runNotebook(options: RunOptions, log: (line: string) => void = () => undefined): Promise<RunManifest> {
  const startedAt = new Date();
  const original: Notebook = JSON.parse(fs.readFileSync(options.notebook, "utf8"));
  const nb = injectParameters(original, options.parameters);
  const paramCell = nb.cells.find((c) => c.metadata.tags?.includes(TAG_PARAMETERS));
  const declared = declaredParameters(paramCell ? source(paramCell) : "");
  const parameters = { ...declared, ...options.parameters };
  for (const name of Object.keys(options.parameters)) {
    if (paramCell && !(name in declared)) log(`warning: parameter '${name}' is not declared in the notebook's parameters cell`);
  }
  const cwd = path.dirname(path.resolve(options.notebook));
  const kernel = await KernelClient.start(llamalabKernelArgv(options.preload ? [] : ["--no-preload"]), { cwd });
  const manifestCells: RunManifest["cells"] = [];
  let failedCell: RunManifest["failedCell"];
  let env: { backend: string | null; tfjs: string | null; threads: number | null } = { backend: null, tfjs: null, threads: null };
  try {
    for (const [index, cell] of nb.cells.entries()) {
      if (cell.cell_type !== "code") continue;
      cell.outputs = [];
      cell.execution_count = null;
      const tags = cell.metadata.tags ?? [];
      if (tags.includes("skip-execution") || !source(cell).trim()) continue;
      if (failedCell) continue;
      const t0 = Date.now();
      log(`cell ${index}${cell.id ? ` (${cell.id})` : ""}…`);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => { timer = setTimeout(resolve, options.timeoutS * 1000); });
      const run = kernel.execute(source(cell));
      const first = await Promise.race([run.then(() => false), timedOut.then(() => true)]);
      if (first) await kernel.interrupt(); // Stop the cell; its reply then reports the interrupt.
      const result = await run;
      clearTimeout(timer);
      cell.outputs = result.outputs;
      cell.execution_count = (result.reply.execution_count as number | undefined) ?? null;
      const status = String(result.reply.status);
      manifestCells.push({ index, id: cell.id, durationS: (Date.now() - t0) / 1000, status });
      if (status !== "ok" && !tags.includes("raises-exception")) {
        const ename = first ? "Timeout" : String(result.reply.ename ?? "Error");
        const evalue = first ? `the cell ran longer than ${options.timeoutS} s and was interrupted` : String(result.reply.evalue ?? "");
        failedCell = { index, id: cell.id, ename, evalue };
      }
    }
    if (options.preload) {
      const probe = await kernel.execute('llama.display({ "application/json": { backend: llama.backendName(), threads: llama.backendName() === "wasm" ? llama.wasmThreads() : null, tfjs: tf.version_core } })', { storeHistory: false });
      const data = probe.outputs.find((o) => o.output_type === "display_data")?.data as Record<string, { backend: string; threads: number | null; tfjs: string }> | undefined;
      if (data) env = { backend: data["application/json"].backend, tfjs: data["application/json"].tfjs, threads: data["application/json"].threads ?? null };
    }
  } finally {
    await kernel.shutdown();
  }
  const manifest: RunManifest = {
    notebook: path.resolve(options.notebook),
    output: path.resolve(options.output),
    status: failedCell ? "failed" : "ok",
    ...(failedCell ? { failedCell } : {}),
    parameters,
    overrides: options.parameters,
    seed: parameters.seed ?? parameters.SEED ?? null, // the tutorials name it SEED
    backend: env.backend,
    backendThreads: env.threads,
    versions: { llamalab: require("../../package.json").version, node: process.version, tfjs: env.tfjs },
    gitCommit: gitCommit(cwd),
    metrics: finalMetrics(nb.cells),
    durationS: (Date.now() - startedAt.getTime()) / 1000,
    cells: manifestCells,
    startedAt: startedAt.toISOString(),
  };
  nb.metadata = { ...nb.metadata, llamalab: { run: { parameters, overrides: options.parameters, status: manifest.status, durationS: manifest.durationS } } };
  writeAtomic(options.output, JSON.stringify(nb, null, 1) + "\n");
  if (options.html) writeAtomic(options.html, notebookHtml(nb, path.basename(options.notebook)));
  writeAtomic(options.manifest, JSON.stringify(manifest, null, 2) + "\n");
  return manifest;
}

/** `llamalab run …`: parses the arguments, runs, prints where things went; resolves with the exit code. */
export async function runCommand(args: string[]): Promise<number> {
  const parameters: Record<string, unknown> = {};
  let notebook: string | undefined, output: string | undefined, html: string | undefined, manifest: string | undefined;
  let timeoutS = 3600, preload = true;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "-p" || a === "--parameter") {
      const [k, v] = parseParameter(value());
      parameters[k] = v;
    } else if (a === "-o" || a === "--output") output = value();
    else if (a === "--html") html = value();
    else if (a === "--manifest") manifest = value();
    else if (a === "--timeout") timeoutS = Number(value());
    else if (a === "--no-preload") preload = false;
    else if (a.startsWith("-")) throw new Error(`unknown option '${a}' (see \`llamalab\` for usage)`);
    else if (!notebook) notebook = a;
    else throw new Error(`one notebook at a time; got '${notebook}' and '${a}'`);
  }
  if (!notebook) throw new Error("which notebook? Usage: llamalab run NOTEBOOK [-p name=value ...] [-o OUT.ipynb] [--html OUT.html]");
  if (!fs.existsSync(notebook)) throw new Error(`notebook '${notebook}' not found`);
  if (!(timeoutS > 0)) throw new Error("--timeout expects a number of seconds > 0");
  output ??= notebook.replace(/\.ipynb$/, "") + ".out.ipynb";
  manifest ??= output.replace(/\.ipynb$/, "") + ".manifest.json";
  const result = await runNotebook({ notebook, parameters, output, html, manifest, timeoutS, preload }, (l) => process.stderr.write(l + "\n"));
  process.stderr.write(`wrote ${output}${html ? `, ${html}` : ""} and ${manifest} (${result.durationS.toFixed(1)} s)\n`);
  if (result.failedCell) {
    const c = result.failedCell;
    process.stderr.write(`llamalab run: cell ${c.index}${c.id ? ` (${c.id})` : ""} failed: ${c.ename}: ${c.evalue}\n`);
    return 1;
  }
  return 0;
}
