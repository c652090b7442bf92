import { DisplayHandle, escapeHtml } from "./sink";
import { svgLineChart } from "./svg_chart";

/** Formats seconds as m:ss or h:mm:ss. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${String(r).padStart(2, "0")}` : `${m}:${String(r).padStart(2, "0")}`;
}

/**
 * A live training display: progress bar with ETA, latest metrics and a loss chart, updated in place and throttled
 * (Jupyter drops floods of updates). Its last state stays in the saved notebook.
 */
export class TrainingProgress {
  private readonly handle = new DisplayHandle();
  private readonly started = Date.now();
  private lastDraw = 0;
  private step = 0;
  private metrics: Record<string, number> = {};
  private status = "running";
  /** Every recorded value per metric name, for the chart. */
  readonly history: Record<string, number[]> = {};

  constructor(
    readonly total: number,
    private readonly options: { title?: string; minIntervalMs?: number; chart?: string[] } = {},
  ) {
    this.draw();
  }

  /** Records step `step` (1-based) with its metrics and redraws if enough time has passed. */
  update(step: number, metrics: Record<string, number>): void {
    this.step = step;
    this.metrics = metrics;
    for (const [k, v] of Object.entries(metrics)) (this.history[k] ??= []).push(v);
    const now = Date.now();
    if (now - this.lastDraw >= (this.options.minIntervalMs ?? 250)) this.draw();
  }

  /** Draws the final state (always, regardless of throttling). */
  finish(status = "done"): void {
    this.status = status;
    this.draw();
  }

  /** Seconds since the display was created. */
  get elapsedSeconds(): number {
    return (Date.now() - this.started) / 1000;
  }

  private draw(): void {
    this.lastDraw = Date.now();
    const elapsed = this.elapsedSeconds;
    const frac = this.total > 0 ? Math.min(1, this.step / this.total) : 0;
    const eta = this.step > 0 && this.status === "running" ? (elapsed / this.step) * (this.total - this.step) : 0;
    const metricText = Object.entries(this.metrics).map(([k, v]) => `${k} ${v.toPrecision(4)}`).join("  ");
    const timeText = this.status === "running" ? `elapsed ${formatDuration(elapsed)}, ETA ${formatDuration(eta)}` : `${this.status} in ${formatDuration(elapsed)}`;
    const bar = "#".repeat(Math.round(frac * 30)).padEnd(30, ".");
    const title = this.options.title ? `${this.options.title}: ` : "";
    const text = `${title}step ${this.step}/${this.total} [${bar}] ${(frac * 100).toFixed(0)}%  ${metricText}  (${timeText})`;
    const chartKeys = (this.options.chart ?? ["loss"]).filter((k) => this.history[k]?.length);
    const chart = chartKeys.length ? svgLineChart(chartKeys.map((k) => ({ name: k, y: this.history[k] })), { title: "live" }) : "";
    const html = `<div style="font-family:monospace">${escapeHtml(title)}step ${this.step}/${this.total}
<div style="width:320px;height:12px;border:1px solid #888;display:inline-block;vertical-align:middle">
<div style="width:${(frac * 100).toFixed(1)}%;height:100%;background:${this.status === "running" || this.status === "done" ? "#4c9be8" : "#e8a14c"}"></div></div>
${(frac * 100).toFixed(0)}% &nbsp; ${escapeHtml(metricText)} &nbsp; (${escapeHtml(timeText)})</div>${chart}`;
    this.handle.show({ "text/plain": text, "text/html": html });
  }
}
