#!/usr/bin/env node
/**
 * Registers the "Llama Lab (TypeScript)" kernelspec with Jupyter. Idempotent: running it again replaces the spec.
 *
 *   node install.js                      per-user install (the default)
 *   node install.js --prefix DIR         into DIR/share/jupyter/kernels (a venv, a system prefix, CI)
 *   node install.js --jupyter-path DIR   into DIR/kernels (a folder listed in JUPYTER_PATH)
 */
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawnSync } = require("child_process");

const KERNEL_NAME = "llamalab";
const ROOT = __dirname;

function userKernelsDir() {
  if (process.env.JUPYTER_DATA_DIR) return path.join(process.env.JUPYTER_DATA_DIR, "kernels");
  if (process.platform === "darwin") return path.join(os.homedir(), "Library", "Jupyter", "kernels");
  if (process.platform === "win32") return path.join(process.env.APPDATA || os.homedir(), "jupyter", "kernels");
  const data = process.env.XDG_DATA_HOME || path.join(os.homedir(), ".local", "share");
  return path.join(data, "jupyter", "kernels");
}

function parseArgs(argv) {
  const opts = { target: "user", dir: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--user") opts.target = "user";
    else if (a === "--prefix" || a === "--jupyter-path") {
      if (!argv[i + 1]) throw new Error(`${a} needs a folder, e.g. ${a} /tmp/jupyter`);
      opts.target = a.slice(2);
      opts.dir = path.resolve(argv[++i]);
    } else if (a === "--help" || a === "-h") opts.help = true;
    else throw new Error(`unknown option '${a}'. Use --user, --prefix DIR or --jupyter-path DIR.`);
  }
  return opts;
}

function kernelsDir(opts) {
  if (opts.target === "prefix") return path.join(opts.dir, "share", "jupyter", "kernels");
  if (opts.target === "jupyter-path") return path.join(opts.dir, "kernels");
  return userKernelsDir();
}

function kernelSpec() {
  return {
    argv: [process.execPath, path.join(ROOT, "bin", "llamalab.js"), "kernel", "--config-path", "{connection_file}"],
    display_name: "Llama Lab (TypeScript)",
    language: "typescript",
    interrupt_mode: "message",
    metadata: { llamalab: { version: require("./package.json").version, root: ROOT } },
  };
}

/** Writes the spec into a fresh temporary folder, then swaps it in, so a crash never leaves half a kernelspec. */
function writeSpec(dest) {
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const tmp = fs.mkdtempSync(path.join(path.dirname(dest), `.${KERNEL_NAME}-`));
  fs.writeFileSync(path.join(tmp, "kernel.json"), JSON.stringify(kernelSpec(), null, 2) + "\n");
  for (const logo of ["logo-32x32.png", "logo-64x64.png", "logo-svg.svg"]) {
    fs.copyFileSync(path.join(ROOT, "kernel", "assets", logo), path.join(tmp, logo));
  }
  const old = `${dest}.old-${process.pid}`;
  if (fs.existsSync(dest)) fs.renameSync(dest, old);
  fs.renameSync(tmp, dest);
  fs.rmSync(old, { recursive: true, force: true });
}

function jupyterFound() {
  const r = spawnSync("jupyter", ["--version"], { encoding: "utf8" });
  return !r.error && r.status === 0;
}

function main(argv) {
  let opts;
  try {
    opts = parseArgs(argv);
  } catch (err) {
    console.error(`install.js: ${err.message}`);
    process.exitCode = 2;
    return;
  }
  if (opts.help) {
    console.log(fs.readFileSync(__filename, "utf8").split("*/")[0].replace(/^#!.*\n\/\*\*/, "").replace(/^ \* ?/gm, ""));
    return;
  }
  if (!fs.existsSync(path.join(ROOT, "dist", "kernel", "cli.js"))) {
    console.error("install.js: the kernel is not built yet. Run `npm run build` (or `npm ci`, which builds) first.");
    process.exitCode = 1;
    return;
  }
  const dest = path.join(kernelsDir(opts), KERNEL_NAME);
  writeSpec(dest);
  console.log(`Installed the "Llama Lab (TypeScript)" kernelspec in ${dest}`);
  if (opts.target === "prefix") console.log(`Jupyter finds it when ${path.join(opts.dir, "share", "jupyter")} is in JUPYTER_PATH or is its sys.prefix.`);
  if (opts.target === "jupyter-path") console.log(`Jupyter finds it when JUPYTER_PATH includes ${opts.dir}.`);
  if (!jupyterFound()) {
    console.warn(
      "Note: the `jupyter` command was not found, so nothing can use the kernel yet. Install Jupyter, e.g. on Debian/Ubuntu:\n" +
        "  sudo apt-get install jupyter-notebook python3-nbclient python3-nbconvert\n" +
        "or with pip: pip install notebook (or jupyterlab). Then run `jupyter notebook` and pick \"Llama Lab (TypeScript)\".",
    );
  }
}

module.exports = { main, kernelSpec, KERNEL_NAME };
if (require.main === module) main(process.argv.slice(2));
