/** Streaming generated text into a notebook output as the tokens arrive. */
import { DisplayHandle, escapeHtml } from "../display/sink";
import { LlamaForCausalLM } from "../model/causal_lm";
import { GenerateOptions, GenerateResult, generate } from "./generate";

/** What streaming needs of a tokenizer (ByteLevelBPETokenizer and HFTokenizer both fit). */
export interface TextCodec {
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

/**
 * A live output showing each row's prompt and its continuation, redrawn in place as tokens are pushed (throttled,
 * because Jupyter drops floods of updates). The whole text is decoded again on each redraw, so a character split
 * across tokens appears once its last byte has arrived.
 */
export class TextStream {
  private readonly handle = new DisplayHandle();
  private readonly ids: number[][];
  private lastDraw = 0;
  private footer = "";

  /** One row per prompt; `prompts` are shown in bold before the generated text. */
  constructor(
    private readonly decode: (ids: readonly number[]) => string,
    private readonly prompts: string[] = [""],
    private readonly options: { title?: string; minIntervalMs?: number } = {},
  ) {
    this.ids = prompts.map(() => []);
    this.draw();
  }

  /** Adds token `id` to row `row` and redraws if enough time has passed. Pass it as generate's onToken. */
  readonly push = (id: number, row = 0): void => {
    if (!this.ids[row]) throw new Error(`TextStream.push: row ${row} does not exist; the stream has ${this.ids.length} row(s)`);
    this.ids[row].push(id);
    if (Date.now() - this.lastDraw >= (this.options.minIntervalMs ?? 100)) this.draw();
  };

  /** The generated text of each row so far. */
  get texts(): string[] {
    return this.ids.map((row) => this.decode(row));
  }

  /** Final redraw, with speed figures from `result` when given. */
  finish(result?: GenerateResult): void {
    if (result) {
      const n = result.newTokens.reduce((s, r) => s + r.length, 0);
      this.footer = `${n} tokens at ${result.tokensPerSecond.toFixed(1)} tokens/s (prompt ${(result.promptSeconds * 1000).toFixed(0)} ms)`;
    }
    this.draw();
  }

  private draw(): void {
    this.lastDraw = Date.now();
    const texts = this.texts;
    const title = this.options.title ? `${this.options.title}\n` : "";
    const plain = title + texts.map((t, r) => `${this.prompts[r]}${t}`).join("\n---\n") + (this.footer ? `\n[${this.footer}]` : "");
    const rows = texts.map((t, r) => `<div style="white-space:pre-wrap;font-family:monospace;margin:4px 0"><b>${escapeHtml(this.prompts[r])}</b>${escapeHtml(t)}</div>`);
    const html = (this.options.title ? `<div><b>${escapeHtml(this.options.title)}</b></div>` : "") + rows.join("<hr>") +
      (this.footer ? `<div style="color:#777;font-size:90%">${escapeHtml(this.footer)}</div>` : "");
    this.handle.show({ "text/plain": plain, "text/html": html });
  }
}

/**
 * Encodes `prompts`, generates, and streams the continuations into a live output. `bos` is put before each prompt
 * when given (Llama models are trained with one). Returns the decoded continuations and the generation result.
 */
export async function generateText(
  model: LlamaForCausalLM,
  tokenizer: TextCodec,
  prompts: string | string[],
  opts: GenerateOptions & { bos?: number; title?: string },
): Promise<{ texts: string[]; result: GenerateResult }> {
  const list = typeof prompts === "string" ? [prompts] : prompts;
  const stream = new TextStream((ids) => tokenizer.decode(ids), list, { title: opts.title });
  const ids = list.map((p) => [...(opts.bos === undefined ? [] : [opts.bos]), ...tokenizer.encode(p)]);
  const result = await generate(model, ids, {
    ...opts,
    onToken: async (id, row, step) => {
      stream.push(id, row);
      await opts.onToken?.(id, row, step);
    },
  });
  stream.finish(result);
  return { texts: stream.texts, result };
}
