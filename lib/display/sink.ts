/**
 * Where rich output goes. In the Llama Lab kernel it is Jupyter's display channel; in plain Node scripts and tests
 * it is the console (the text/plain part of each bundle), unless a caller installs another sink.
 */

/** A Jupyter MIME bundle: MIME type → data (strings, or JSON objects for `application/*+json`). */
export type MimeBundle = Record<string, unknown>;

/** Receives bundles; `displayId` + `update` replace an earlier output in place (Jupyter's update_display_data). */
export type DisplaySink = (bundle: MimeBundle, options: { displayId?: string; update: boolean }) => void;

const consoleSink: DisplaySink = (bundle, { update }) => {
  const text = bundle["text/plain"];
  if (typeof text === "string" && !update) console.log(text);
};

let sink: DisplaySink = consoleSink;
let displayCounter = 0;

/** Installs the sink that receives every display (the kernel calls this at start-up). Returns the previous one. */
export function setDisplaySink(next: DisplaySink | null): DisplaySink {
  const previous = sink;
  sink = next ?? consoleSink;
  return previous;
}

/** Shows a MIME bundle as a new output of the running cell. */
export function display(bundle: MimeBundle): void {
  sink(bundle, { update: false });
}

/** An output that can be replaced in place, e.g. a progress bar or a live chart. */
export class DisplayHandle {
  private shown = false;
  /** The Jupyter display id shared by the first display and its updates. */
  readonly displayId = `llamalab-${process.pid}-${++displayCounter}`;

  /** Shows `bundle` the first time, then replaces the earlier output with it. */
  show(bundle: MimeBundle): void {
    sink(bundle, { displayId: this.displayId, update: this.shown });
    this.shown = true;
  }
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** A number for display: integers in full, others to 4 significant digits. */
export function shortNumber(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(4);
}
