import { display, escapeHtml, MimeBundle } from "./sink";

/** Distinct, readable background colours for consecutive tokens. */
const COLOURS = ["#fde2e4", "#e2ece9", "#dfe7fd", "#fff1c1", "#e8dff5", "#d7f4f4", "#fce1c8", "#e4f1d0"];

/** Tokens as coloured spans (hover shows the id), with a text fallback that separates them with "|". */
export function tokensBundle(tokens: string[], ids?: number[]): MimeBundle {
  if (ids && ids.length !== tokens.length) throw new Error(`tokensBundle: ${tokens.length} tokens but ${ids.length} ids; pass one id per token`);
  const visible = (t: string) => t.replace(/\n/g, "↵").replace(/ /g, "·");
  const spans = tokens.map((t, i) =>
    `<span title="${ids ? `id ${ids[i]}` : `#${i}`}" style="background:${COLOURS[i % COLOURS.length]};padding:1px 2px;margin:1px;border-radius:3px;font-family:monospace;white-space:pre">${escapeHtml(visible(t))}</span>`);
  const text = `${tokens.length} tokens: ` + tokens.map(visible).join("|") + (ids ? `\nids: [${ids.join(", ")}]` : "");
  return { "text/plain": text, "text/html": `<div style="line-height:1.9">${spans.join("")}</div><div style="color:#666">${tokens.length} tokens</div>` };
}

/** Displays tokens as coloured spans in the running cell. */
export function showTokens(tokens: string[], ids?: number[]): void {
  display(tokensBundle(tokens, ids));
}
