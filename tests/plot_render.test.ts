import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { executeNotebook, makeNotebook } from "./notebook_runner";

/** Renders an HTML file in headless Chromium and returns the DOM after its scripts ran. */
function renderedDom(htmlFile: string): string {
  const chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => fs.existsSync(p));
  if (!chromium) throw new Error("Chromium is not installed: run `bash scripts/setup-jupyter.sh` (it installs Debian's chromium) and test again.");
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "llamalab-chromium-"));
  const r = spawnSync(chromium, [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", `--user-data-dir=${profile}`, "--virtual-time-budget=15000",
    "--dump-dom", `file://${htmlFile}`,
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
    const dom = renderedDom(path.join(dir, "plots.html"));
    const drawn = dom.match(/class="plot-container plotly"/g) ?? [];
    assert.equal(drawn.length, 2, "both figures were drawn by plotly.js");
    assert.match(dom, /first/);
    assert.match(dom, /second/);
    assert.doesNotMatch(dom, /<div id="llamalab-plot-[^"]*"[^>]*>plotly\.js is not loaded/, "no figure fell back to the error text");
  });
});
