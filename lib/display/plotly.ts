import * as fs from "fs";
import { createHash } from "crypto";
import { display, MimeBundle, shortNumber } from "./sink";

/** A Plotly figure: traces plus layout, as plotly.js takes them. */
export interface Figure {
  data: Record<string, unknown>[];
  layout?: Record<string, unknown>;
}

/** MIME type JupyterLab's Plotly renderer and nbviewer understand. */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

let plotlySource: string | undefined;
let plotlyEmbedded = false;
let plotCounter = 0;

// plotly.js ships inside the npm package: no CDN, so plots render offline and in air-gapped workshops.
function plotlyJs(): string {
  plotlySource ??= fs.readFileSync(require.resolve("plotly.js-dist-min/plotly.min.js"), "utf8");
  return plotlySource;
}

// JSON inside <script> must not close the element early.
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c");
}

/**
 * The bundle for one figure: Plotly JSON (JupyterLab with the Plotly extension), self-loading HTML (classic
 * notebook, nbconvert HTML, JupyterLab without the extension) and a text fallback. The HTML of the first figure
 * in a kernel session embeds plotly.js (~4.8 MB); later figures reuse the `window.Plotly` it defines.
 */
export function plotlyBundle(figure: Figure, options: { height?: number; embedLibrary?: boolean } = {}): MimeBundle {
  const layout = { height: options.height ?? 380, margin: { t: 48, r: 24, b: 48, l: 60 }, ...figure.layout };
  const json = JSON.stringify({ data: figure.data, layout });
  const id = `llamalab-plot-${createHash("sha1").update(json).digest("hex").slice(0, 10)}-${++plotCounter}`;
  const embed = options.embedLibrary ?? !plotlyEmbedded;
  if (embed) plotlyEmbedded = true;
  const library = embed ? `<script type="text/javascript">${plotlyJs()}</script>\n` : "";
  const draw = `<script type="text/javascript">(function () {
  var el = document.getElementById(${JSON.stringify(id)}), tries = 0;
  function draw() {
    if (window.Plotly) { window.Plotly.newPlot(el, ${scriptJson(figure.data)}, ${scriptJson(layout)}, {responsive: true, displaylogo: false}); }
    else if (tries++ < 100) { setTimeout(draw, 100); }
    else { el.textContent = "plotly.js is not loaded: re-run the first plotting cell of this notebook (it embeds the library)."; }
  }
  draw();
})();</script>`;
  const html = `<div id="${id}" style="width:100%;height:${layout.height}px"></div>\n${library}${draw}`;
  return {
    [PLOTLY_MIME]: { data: figure.data, layout },
    "text/html": html,
    "text/plain": describeFigure(figure),
  };
}

function describeFigure(figure: Figure): string {
  const title = (figure.layout?.title as { text?: string } | string | undefined) ?? "";
  const titleText = typeof title === "string" ? title : title.text ?? "";
  const traces = figure.data.map((t) => {
    const y = (t.y as ArrayLike<number> | undefined) ?? [];
    const last = y.length ? ` last=${shortNumber(Number(y[y.length - 1]))}` : "";
    return `  ${String(t.name ?? t.type ?? "trace")}: ${y.length} points${last}`;
  });
  return [`[Plotly figure${titleText ? `: ${titleText}` : ""}]`, ...traces].join("\n");
}

/** Displays a Plotly figure in the running cell. */
export function plot(figure: Figure): void {
  display(plotlyBundle(figure));
}

/** One named series of a line chart. */
export interface Series {
  name: string;
  x?: number[];
  y: number[];
  dash?: "solid" | "dash" | "dot";
}

/** A line chart figure, e.g. loss against step. */
export function lineChart(series: Series[], options: { title?: string; xTitle?: string; yTitle?: string; logY?: boolean } = {}): Figure {
  return {
    data: series.map((s) => ({
      type: "scatter",
      mode: "lines",
      name: s.name,
      x: s.x ?? s.y.map((_, i) => i + 1),
      y: s.y,
      line: { dash: s.dash ?? "solid" },
    })),
    layout: {
      title: { text: options.title ?? "" },
      xaxis: { title: { text: options.xTitle ?? "" } },
      yaxis: { title: { text: options.yTitle ?? "" }, type: options.logY ? "log" : "linear" },
    },
  };
}

/** A bar chart figure, e.g. accuracy of a model against its baselines. */
export function barChart(labels: string[], values: number[], options: { title?: string; yTitle?: string } = {}): Figure {
  return {
    data: [{ type: "bar", x: labels, y: values, text: values.map(shortNumber), textposition: "auto" }],
    layout: { title: { text: options.title ?? "" }, yaxis: { title: { text: options.yTitle ?? "" } } },
  };
}

/** A heatmap figure of a matrix `z` (rows top to bottom), e.g. an attention pattern or a mask. */
export function heatmap(
  z: number[][],
  options: { title?: string; x?: (string | number)[]; y?: (string | number)[]; xTitle?: string; yTitle?: string; colorscale?: string; zmin?: number; zmax?: number } = {},
): Figure {
  // Labels go on the axes as tick text (not as trace x/y), so repeated labels such as two "the" tokens stay apart.
  const ticks = (labels?: (string | number)[]) =>
    labels ? { tickmode: "array", tickvals: labels.map((_, i) => i), ticktext: labels.map(String) } : {};
  return {
    // x/y are the row and column indices, so the text fallback counts the rows.
    data: [{ type: "heatmap", z, x: (z[0] ?? []).map((_, j) => j), y: z.map((_, i) => i), colorscale: options.colorscale ?? "Viridis", zmin: options.zmin, zmax: options.zmax, name: options.title ?? "heatmap" }],
    layout: {
      title: { text: options.title ?? "" },
      xaxis: { title: { text: options.xTitle ?? "" }, ...ticks(options.x) },
      // Row 0 at the top, as matrices are read.
      yaxis: { title: { text: options.yTitle ?? "" }, autorange: "reversed", ...ticks(options.y) },
    },
  };
}
