import { escapeHtml, MimeBundle } from "./sink";

/** A configuration object (e.g. a `LlamaConfig`) as a two-column key/value table, with its JSON. */
export function configBundle(config: { toJSON(): Record<string, unknown> }, title = config.constructor?.name ?? "Config"): MimeBundle {
  const json = config.toJSON();
  const entries = Object.entries(json);
  const width = Math.max(...entries.map(([k]) => k.length));
  const text = [title, ...entries.map(([k, v]) => `  ${k.padEnd(width)}  ${JSON.stringify(v)}`)].join("\n");
  const html = `<table><caption style="text-align:left"><b>${escapeHtml(title)}</b></caption><tbody>` +
    entries.map(([k, v]) => `<tr><td style="text-align:left"><code>${escapeHtml(k)}</code></td><td style="text-align:left">${escapeHtml(JSON.stringify(v))}</td></tr>`).join("") +
    `</tbody></table>`;
  return { "text/plain": text, "text/html": html, "application/json": json };
}
