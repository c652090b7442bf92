import * as path from "path";
import { startKernel } from "./main";

const USAGE = `Usage:
  llamalab kernel --config-path FILE [--no-preload]   start the Jupyter kernel (Jupyter runs this)
  llamalab install [--user | --prefix DIR | --jupyter-path DIR]   register the kernelspec`;

/** Entry point of the `llamalab` command. */
export function main(argv: string[]): void {
  const [command, ...rest] = argv;
  if (command === "kernel") {
    const i = rest.indexOf("--config-path");
    const configPath = i >= 0 ? rest[i + 1] : undefined;
    if (!configPath) {
      console.error(`llamalab kernel: --config-path FILE is required (Jupyter passes its connection file).\n${USAGE}`);
      process.exit(2);
    }
    startKernel({ configPath, preload: !rest.includes("--no-preload") });
  } else if (command === "install") {
    require(path.resolve(__dirname, "..", "..", "install.js")).main(rest);
  } else {
    console.error(command ? `llamalab: unknown command '${command}'.\n${USAGE}` : USAGE);
    process.exit(command ? 2 : 0);
  }
}
