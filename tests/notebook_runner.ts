import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { strict as assert } from "assert";

/** A cell of an executed notebook, as nbformat 4 stores it. */
export interface Cell {
  cell_type: string;
  source: string | string[];
  metadata: { tags?: string[] };
  outputs?: Output[];
}

/** One output of a code cell. */
export interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  ename?: string;
}

const ROOT = path.resolve(__dirname, "..", "..");
let jupyterPath: string | undefined;

/** Registers the kernelspec in a temporary JUPYTER_PATH (once per test run) and returns that path. */
export function kernelJupyterPath(): string {
  if (jupyterPath) return jupyterPath;
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), "llamalab-jupyter-"));
  const r = spawnSync(process.execPath, [path.join(ROOT, "install.js"), "--prefix", prefix], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`install.js failed: ${r.stderr}`);
  jupyterPath = path.join(prefix, "share", "jupyter");
  return jupyterPath;
}

/** Text of a multi-line nbformat field. */
export function joined(text: string | string[] | undefined): string {
  return Array.isArray(text) ? text.join("") : text ?? "";
}

/** Builds an in-memory notebook for the Llama Lab kernel from cell sources. */
export function makeNotebook(sources: string[]): object {
  return {
    cells: sources.map((source, i) => ({ cell_type: "code", id: `cell-${i}`, metadata: {}, source, outputs: [], execution_count: null })),
    metadata: { kernelspec: { name: "llamalab", display_name: "Llama Lab (TypeScript)", language: "typescript" } },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

/**
 * Executes a notebook through the real kernel with Jupyter's own nbconvert, the way CI and users do, and returns the
 * executed notebook. Throws with nbconvert's message when a cell fails (unless allowErrors).
 */
export function executeNotebook(notebook: string | object, options: { timeoutS?: number; allowErrors?: boolean; cwd?: string } = {}): { cells: Cell[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "llamalab-nb-"));
  let input: string;
  if (typeof notebook === "string") {
    input = notebook;
  } else {
    input = path.join(dir, "generated.ipynb");
    fs.writeFileSync(input, JSON.stringify(notebook));
  }
  const output = path.join(dir, "executed.ipynb");
  const args = [
    "nbconvert", "--to", "notebook", "--execute", input, "--output", output,
    "--ExecutePreprocessor.kernel_name=llamalab",
    `--ExecutePreprocessor.timeout=${options.timeoutS ?? 1200}`,
  ];
  if (options.allowErrors) args.push("--allow-errors");
  const r = spawnSync("jupyter", args, {
    encoding: "utf8",
    cwd: options.cwd ?? path.dirname(input),
    env: { ...process.env, JUPYTER_PATH: kernelJupyterPath(), PYDEVD_DISABLE_FILE_VALIDATION: "1" },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error || (r.status !== 0 && /not found|No such file/.test(r.stderr ?? ""))) {
    throw new Error("Jupyter's nbconvert is not installed: run `bash scripts/setup-jupyter.sh` (see README), then the tests again.\n" + (r.error?.message ?? r.stderr));
  }
  if (r.status !== 0) throw new Error(`nbconvert failed (exit ${r.status}):\n${r.stderr.slice(-6000)}`);
  return JSON.parse(fs.readFileSync(output, "utf8"));
}

/** All outputs of all code cells, in order. */
export function allOutputs(nb: { cells: Cell[] }): Output[] {
  return nb.cells.flatMap((c) => c.outputs ?? []);
}

/**
 * Executes a notebook headless with `llamalab run` (no Jupyter involved), overriding parameters the way papermill
 * does, and returns the executed notebook. Throws with the runner's message when a cell fails.
 */
export function runNotebookHeadless(notebook: string, params: Record<string, unknown>, options: { timeoutS?: number } = {}): { cells: Cell[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "llamalab-run-"));
  const output = path.join(dir, path.basename(notebook));
  const args = [path.join(ROOT, "bin", "llamalab.js"), "run", notebook, "-o", output, "--timeout", String(options.timeoutS ?? 1200)];
  for (const [name, value] of Object.entries(params)) args.push("-p", `${name}=${JSON.stringify(value)}`);
  const r = spawnSync(process.execPath, args, { encoding: "utf8", cwd: path.dirname(notebook), maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`llamalab run failed (exit ${r.status}):\n${(r.stderr || r.stdout).slice(-6000)}`);
  const nb = JSON.parse(fs.readFileSync(output, "utf8")) as { cells: Cell[] };
  const injected = nb.cells.find((c) => c.metadata.tags?.includes("injected-parameters"));
  if (Object.keys(params).length && !injected) throw new Error("llamalab run did not add an injected-parameters cell");
  return nb;
}

/** The JSON results a notebook's last results cell displays (application/json). */
export function notebookResults<T = Record<string, unknown>>(outputs: Output[]): T {
  const found = outputs.filter((o) => o.data?.["application/json"]).pop();
  assert.ok(found, "the notebook displays its results as application/json");
  return found.data!["application/json"] as T;
}

/** The tutorial notebooks' folder. */
export const NOTEBOOKS = path.join(ROOT, "notebooks");

/** Runs notebooks/`name` headless with `params` overridden, fails on any error output, and returns every output. */
export function runTutorial(name: string, params: Record<string, unknown>): Output[] {
  const outputs = allOutputs(runNotebookHeadless(path.join(NOTEBOOKS, name), params));
  assertNoErrorOutputs(outputs);
  return outputs;
}

/** Fails the test when any cell produced an error output or wrote to stderr. */
export function assertNoErrorOutputs(outputs: Output[]): void {
  const errors = outputs.filter((o) => o.output_type === "error" || (o.output_type === "stream" && o.name === "stderr"));
  assert.deepEqual(errors.map((o) => joined(o.text) || `${o.ename}: ${JSON.stringify(o)}`), [], "no cell wrote an error");
}
