import * as util from "util";

/**
 * Turns what tslab's executor reports about a failed cell (type-check diagnostics, or the thrown value) into one
 * Jupyter `error` message whose traceback points at the cell's own lines, the way IPython shows `Cell In[3], line 2`.
 */

/** The content of a Jupyter `error` message (and of an execute_reply with status "error"). */
export interface ErrorContent {
  ename: string;
  evalue: string;
  traceback: string[];
}

/** What the executor printed through `console.error` while a cell ran: a diagnostic or a thrown value. */
export type Reported = { kind: "diagnostic"; line: number; column: number; message: string } | { kind: "thrown"; value: unknown };

/** The format string tslab's executor prints diagnostics with (dist/executor.js printDiagnostics). */
const DIAGNOSTIC_FORMAT = "%s%d:%d - %s";

/** Classifies one `console.error` call of the executor. */
export function classifyReport(args: unknown[]): Reported {
  if (args[0] === DIAGNOSTIC_FORMAT && args.length >= 5) {
    return { kind: "diagnostic", line: Number(args[2]), column: Number(args[3]), message: String(args[4]) };
  }
  return { kind: "thrown", value: args.length === 1 ? args[0] : util.format(...args) };
}

/** The name interrupted cells report, as IPython does. */
export const INTERRUPT_ENAME = "KeyboardInterrupt";

/** Thrown inside a cell when the user interrupts it. */
export class KeyboardInterrupt extends Error {
  constructor() {
    super("the cell was interrupted");
    this.name = INTERRUPT_ENAME;
  }
}

function isInterrupt(value: unknown): boolean {
  if (!(value instanceof Error)) return false;
  const code = (value as { code?: string }).code;
  return value.name === INTERRUPT_ENAME || code === "ERR_SCRIPT_EXECUTION_INTERRUPTED" || value.message === "Interrupted asynchronously";
}

const NOISE = new Set(["exports", "const", "let", "var", "await", "return", "new", "function", "void", "async", "this", "require"]);

function words(line: string): Set<string> {
  return new Set((line.match(/[A-Za-z_$][\w$]*|\d+(?:\.\d+)?|'[^']*'|"[^"]*"/g) ?? []).filter((w) => !NOISE.has(w)));
}

/**
 * The 1-based cell line that a line of tslab's emitted JavaScript came from. Emit drops types and adds `exports.x`
 * lines, so lines do not correspond one to one; the cell line sharing most identifiers and literals with the
 * JavaScript line is the one (ties go to the first). Returns undefined when no line shares any.
 */
export function cellLineOf(jsLine: string, cell: string, near = 0): number | undefined {
  const lines = cell.split("\n");
  const exact = lines.findIndex((l) => l.trim() === jsLine.trim() && l.trim() !== "");
  if (exact >= 0) return exact + 1;
  const wanted = words(jsLine);
  let best: number | undefined;
  let bestScore = 0;
  lines.forEach((line, i) => {
    let score = 0;
    for (const w of words(line)) if (wanted.has(w)) score++;
    // Among equally good lines, the one nearest the expected position wins.
    const better = score > bestScore || (score === bestScore && score > 0 && Math.abs(i + 1 - near) < Math.abs(best! - near));
    if (better) [best, bestScore] = [i + 1, score];
  });
  return best;
}

function sourceLine(cell: string, line: number): string {
  return `  ${String(line).padStart(3)} | ${cell.split("\n")[line - 1] ?? ""}`;
}

/** The traceback lines for a value thrown by a cell: its stack, with the cell's frames mapped to the cell's lines. */
function thrownTraceback(value: Error, cell: string, cellLabel: string, emitted: string | undefined): string[] {
  const out: string[] = [];
  const frames = (value.stack ?? "").split("\n").filter((l) => /^\s+at /.test(l));
  for (const frame of frames) {
    const m = new RegExp(`${cellLabel.replace(/[[\]]/g, "\\$&")}:(\\d+):(\\d+)`).exec(frame);
    if (m && emitted !== undefined) {
      const js = emitted.split("\n");
      const near = (Number(m[1]) / js.length) * cell.split("\n").length;
      const line = cellLineOf(js[Number(m[1]) - 1] ?? "", cell, near);
      if (line !== undefined) {
        out.push(`${cellLabel}, line ${line}:`, sourceLine(cell, line));
        continue;
      }
    }
    // Frames of Node's internals and of tslab itself say nothing about the user's code.
    if (/\(node:|at node:|tslab[\\/]dist|dist[\\/]kernel[\\/]/.test(frame) || m) continue;
    out.push(frame.trim());
  }
  return out;
}

/**
 * One error for everything a failed cell reported. `cell` is the cell's source, `cellLabel` the filename its code ran
 * under (e.g. "Cell In[3]"), `emitted` the JavaScript tslab ran for it (to map stack lines back to the cell).
 */
export function errorContent(reports: Reported[], cell: string, cellLabel: string, emitted?: string): ErrorContent {
  const diagnostics = reports.filter((r): r is Extract<Reported, { kind: "diagnostic" }> => r.kind === "diagnostic");
  if (diagnostics.length) {
    const traceback = [`TSError: the cell does not type-check (${diagnostics.length} error${diagnostics.length > 1 ? "s" : ""})`];
    for (const d of diagnostics) {
      traceback.push(`${cellLabel}, line ${d.line}, column ${d.column}: ${d.message}`, sourceLine(cell, d.line), `        ${" ".repeat(Math.max(0, d.column - 1))}^`);
    }
    const more = diagnostics.length > 1 ? ` (and ${diagnostics.length - 1} more)` : "";
    return { ename: "TSError", evalue: `line ${diagnostics[0].line}: ${diagnostics[0].message}${more}`, traceback };
  }
  const thrown = reports.find((r): r is Extract<Reported, { kind: "thrown" }> => r.kind === "thrown");
  const value = thrown?.value;
  if (isInterrupt(value)) return { ename: INTERRUPT_ENAME, evalue: "the cell was interrupted", traceback: [`${INTERRUPT_ENAME}: the cell was interrupted`] };
  if (value instanceof Error) {
    const ename = value.name || value.constructor?.name || "Error";
    return { ename, evalue: value.message, traceback: [`${ename}: ${value.message}`, ...thrownTraceback(value, cell, cellLabel, emitted)] };
  }
  const evalue = typeof value === "string" ? value : util.inspect(value);
  return { ename: "Error", evalue, traceback: [`Uncaught ${evalue}`] };
}
