import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";

const INSTALL = path.resolve(__dirname, "..", "..", "install.js");

function install(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [INSTALL, ...args], { encoding: "utf8", env: { ...process.env, ...env } });
}

describe("install.js", function () {
  this.timeout(60000);

  it("installs into a prefix, idempotently, with a spec Jupyter can start", () => {
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), "llamalab-prefix-"));
    for (let i = 0; i < 2; i++) assert.equal(install(["--prefix", prefix]).status, 0);
    const dir = path.join(prefix, "share", "jupyter", "kernels", "llamalab");
    assert.deepEqual(fs.readdirSync(dir).sort(), ["kernel.json", "logo-32x32.png", "logo-64x64.png", "logo-svg.svg"]);
    assert.deepEqual(fs.readdirSync(path.dirname(dir)), ["llamalab"], "no temporary folders left behind");
    const spec = JSON.parse(fs.readFileSync(path.join(dir, "kernel.json"), "utf8"));
    assert.equal(spec.display_name, "Llama Lab (TypeScript)");
    assert.ok(spec.argv.includes("{connection_file}"));
    assert.ok(fs.existsSync(spec.argv[1]), "the kernel command points at an existing file");
    const png = fs.readFileSync(path.join(dir, "logo-64x64.png"));
    assert.equal(png.readUInt32BE(16), 64, "the 64×64 logo is 64 pixels wide");
  });

  it("installs into a JUPYTER_PATH folder and per user (JUPYTER_DATA_DIR)", () => {
    const jp = fs.mkdtempSync(path.join(os.tmpdir(), "llamalab-jp-"));
    assert.equal(install(["--jupyter-path", jp]).status, 0);
    assert.ok(fs.existsSync(path.join(jp, "kernels", "llamalab", "kernel.json")));
    const data = fs.mkdtempSync(path.join(os.tmpdir(), "llamalab-data-"));
    assert.equal(install(["--user"], { JUPYTER_DATA_DIR: data }).status, 0);
    assert.ok(fs.existsSync(path.join(data, "kernels", "llamalab", "kernel.json")));
  });

  it("explains a bad option and what to do when Jupyter is missing", () => {
    const bad = install(["--prefx", "/tmp/x"]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown option '--prefx'.*--prefix DIR/);
    const jp = fs.mkdtempSync(path.join(os.tmpdir(), "llamalab-nojup-"));
    const noJupyter = install(["--jupyter-path", jp], { PATH: fs.mkdtempSync(path.join(os.tmpdir(), "llamalab-empty-path-")) });
    assert.equal(noJupyter.status, 0);
    assert.match(noJupyter.stderr, /`jupyter` command was not found.*apt-get install jupyter-notebook/s);
  });
});
