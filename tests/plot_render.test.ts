import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { executeNotebook, makeNotebook } from "./notebook_runner";

/** Where browser tests leave screenshots for a person to look at (ignored by git). */
const OUTPUT_DIR = path.resolve(__dirname, "..", "..", "test-output");

/** Runs headless Chromium on an HTML file with extra flags (e.g. --dump-dom or --screenshot=FILE). */
function chromium(htmlFile: string, flags: string[]): string {
  const binary = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => fs.existsSync(p));
  if (!binary) throw new Error("Chromium is not installed: run `bash scripts/setup-jupyter.sh` (it installs Debian's chromium) and test again.");
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "llamalab-chromium-"));
  const r = spawnSync(binary, [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", `--user-data-dir=${profile}`, "--virtual-time-budget=15000",
    ...flags, `file://${htmlFile}`,
  ], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, timeout: 120000 });
  if (r.status !== 0) throw new Error(`chromium failed: ${r.stderr}`);
  return r.stdout;
}

describe("Plotly bundles in nbconvert HTML (rendered by headless Chromium)", function () {
  this.timeout(300000);

  it("draws every figure offline: the first embeds plotly.js, later ones reuse it", () => {
    const nb = executeNotebook(makeNotebook([
      "llama.plot(llama.lineChart([{ name: 'loss', y: [3, 2, 1.5] }], { title: 'first' }));",
      "llama.plot(llama.barChart(['a', 'b'], [1, 2], { title: 'second' }));",
    ]));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "llamalab-html-"));
    const ipynb = path.join(dir, "plots.ipynb");
    fs.writeFileSync(ipynb, JSON.stringify(nb));
    const r = spawnSync("jupyter", ["nbconvert", "--to", "html", ipynb], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const html = fs.readFileSync(path.join(dir, "plots.html"), "utf8");
    assert.doesNotMatch(html, /<script[^>]+src=["'][^"']*plotly/i, "plotly.js is not loaded from a CDN");
    const dom = chromium(path.join(dir, "plots.html"), ["--dump-dom"]);
    const drawn = dom.match(/class="plot-container plotly"/g) ?? [];
    assert.equal(drawn.length, 2, "both figures were drawn by plotly.js");
    assert.match(dom, /first/);
    assert.match(dom, /second/);
    assert.doesNotMatch(dom, /<div id="llamalab-plot-[^"]*"[^>]*>plotly\.js is not loaded/, "no figure fell back to the error text");
    assert.ok((dom.match(/<svg class="main-svg"/g) ?? []).length >= 2, "the figures rendered to SVG");
    fs.mkdirSync(OUTPUT_DIR, { recursive: true });
    const shot = path.join(OUTPUT_DIR, "plots.png");
    fs.rmSync(shot, { force: true });
    chromium(path.join(dir, "plots.html"), [`--screenshot=${shot}`, "--window-size=1000,1200"]);
    assert.ok(fs.statSync(shot).size > 10000, "a screenshot of the rendered page was saved");
  });
});
