import * as path from "path";

/** Absolute path of a module, without its .js extension, for imports that must not depend on the notebook's folder. */
function modulePath(file: string): string {
  return file.replace(/\\/g, "/").replace(/\.js$/, "");
}

/**
 * The code run through tslab's executor before the first cell: it declares `llama` and `tf` (with types, so cells
 * type-check and complete against them). Imports are absolute because tslab resolves bare imports from the
 * notebook's folder, which has no node_modules of ours.
 */
export function preambleSource(): string {
  const lib = modulePath(path.resolve(__dirname, "..", "lib", "index.js"));
  const tfjs = modulePath(path.dirname(require.resolve("@tensorflow/tfjs/package.json")));
  return [
    `import * as llama from ${JSON.stringify(lib)};`,
    `import * as tf from ${JSON.stringify(tfjs)};`,
  ].join("\n");
}
