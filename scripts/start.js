#!/usr/bin/env node
// `npm start`: registers the kernel for this user and opens Jupyter on notebooks/.
"use strict";
const path = require("path");
const { spawn, spawnSync } = require("child_process");

const root = path.join(__dirname, "..");
require(path.join(root, "install.js")).main(["--user"]);
if (process.exitCode) process.exit(process.exitCode);

const probe = spawnSync("jupyter", ["notebook", "--version"], { encoding: "utf8" });
if (probe.error || probe.status !== 0) {
  console.error("npm start: `jupyter notebook` is not installed. Run `bash scripts/setup-jupyter.sh` (Debian/Ubuntu) or `pip install notebook`, then `npm start` again.");
  process.exit(1);
}
const args = ["notebook", `--notebook-dir=${path.join(root, "notebooks")}`];
// Jupyter refuses to run as root unless asked; containers and CI machines often are root.
if (process.getuid && process.getuid() === 0) args.push("--allow-root");
if (!process.env.DISPLAY && process.platform === "linux") args.push("--no-browser", "--ip=127.0.0.1");
console.log(`Starting: jupyter ${args.join(" ")}\nOpen a notebook and pick the kernel "Llama Lab (TypeScript)".`);
const child = spawn("jupyter", args, { stdio: "inherit" });
child.on("exit", (code) => process.exit(code ?? 0));
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
