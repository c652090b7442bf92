#!/usr/bin/env node
"use strict";
let cli;
try {
  cli = require("../dist/kernel/cli");
} catch (err) {
  console.error("llamalab: the compiled kernel is missing (" + err.message + ").\nRun `npm run build` in the llamalab folder first.");
  process.exit(1);
}
cli.main(process.argv.slice(2));
