import { escapeHtml } from "./sink";

/** A light line chart as inline SVG: no JavaScript, so it renders everywhere and can be redrawn many times a second. */
export function svgLineChart(
  series: { name: string; y: number[]; color?: string }[],
  options: { width?: number; height?: number; title?: string } = {},
): string {
  const width = options.width ?? 480, height = options.height ?? 200;
  const pad = { l: 52, r: 12, t: options.title ? 22 : 10, b: 22 };
  const all = series.flatMap((s) => s.y).filter(Number.isFinite);
  const n = Math.max(1, ...series.map((s) => s.y.length));
  if (all.length === 0) return `<svg width="${width}" height="${height}"></svg>`;
  let lo = Math.min(...all), hi = Math.max(...all);
  if (hi === lo) { hi += 1; lo -= 1; }
  const sx = (i: number) => pad.l + (n === 1 ? 0 : (i / (n - 1)) * (width - pad.l - pad.r));
  const sy = (v: number) => pad.t + (1 - (v - lo) / (hi - lo)) * (height - pad.t - pad.b);
  const palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"];
  const lines = series.map((s, k) => {
    const pts = s.y.map((v, i) => (Number.isFinite(v) ? `${sx(i).toFixed(1)},${sy(v).toFixed(1)}` : "")).filter(Boolean);
    return `<polyline fill="none" stroke="${s.color ?? palette[k % palette.length]}" stroke-width="1.5" points="${pts.join(" ")}"/>`;
  });
  const ticks = [hi, (hi + lo) / 2, lo].map(
    (v) => `<text x="${pad.l - 4}" y="${sy(v) + 4}" text-anchor="end" font-size="10">${v.toPrecision(3)}</text>`,
  );
  const legend = series.map(
    (s, k) => `<text x="${pad.l + 8 + k * 110}" y="${height - 6}" font-size="10" fill="${s.color ?? palette[k % palette.length]}">■ ${escapeHtml(s.name)}</text>`,
  );
  const title = options.title ? `<text x="${width / 2}" y="14" text-anchor="middle" font-size="12">${escapeHtml(options.title)}</text>` : "";
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">` +
    `<rect x="${pad.l}" y="${pad.t}" width="${width - pad.l - pad.r}" height="${height - pad.t - pad.b}" fill="none" stroke="#ccc"/>` +
    title + ticks.join("") + lines.join("") + legend.join("") + `</svg>`;
}
